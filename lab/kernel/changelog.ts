/**
 * Changelogs between two releases, and the entries that name the files and
 * functions a scenario watches. Two forms: Debian's changelog.Debian (its
 * "New upstream stable update" bullets list the stable release's commit
 * subjects under the ChangeLog-X.Y.Z they come from) and a kernel.org-layout
 * mirror's ChangeLog-X.Y.Z (`git log` of the stable release).
 */
import { compareVersions } from '../core/version.ts';
import { upstreamOf } from './debian.ts';

export interface ChangelogItem {
  /** The upstream release the change came with (a stable update's ChangeLog-X.Y.Z, else the entry's version). */
  release: string;
  /** The Debian entry that lists it ("6.12.115-1"), for Debian's changelog. */
  debianVersion?: string;
  /** The line as written, continuation lines joined. */
  text: string;
}

/** changelog.Debian: every bullet and sub-bullet, with the upstream release it belongs to. */
export function parseDebianChangelog(text: string): ChangelogItem[] {
  const items: ChangelogItem[] = [];
  let debianVersion = '';
  let entryRelease = '';
  let stable = '';
  let current: ChangelogItem | undefined;
  let indent = 0;
  for (const line of text.split('\n')) {
    const header = /^\S+ \(([^)]+)\) [^;]+;/.exec(line);
    if (header) {
      debianVersion = header[1]!;
      entryRelease = upstreamOf(debianVersion);
      stable = '';
      current = undefined;
      continue;
    }
    const url = /ChangeLog-(\d+\.\d+(?:\.\d+)?)\s*$/.exec(line);
    if (url && /^\s{4}\S/.test(line)) {
      stable = url[1]!;
      current = undefined;
      continue;
    }
    const bullet = /^( {2}\* | {4}- )(.*)$/.exec(line);
    if (bullet) {
      if (bullet[1]!.startsWith('  *')) stable = '';
      indent = bullet[1]!.length;
      current = { release: stable || entryRelease, debianVersion, text: bullet[2]!.trim() };
      items.push(current);
      continue;
    }
    const more = /^(\s+)(\S.*)$/.exec(line);
    if (current && more && more[1]!.length >= indent && !/^ -- /.test(line)) current.text += ` ${more[2]!.trim()}`;
    else if (!more) current = undefined;
  }
  return items;
}

/** A kernel.org ChangeLog-X.Y.Z: one item per commit, its subject line. */
export function parseKernelOrgChangeLog(text: string, release: string): ChangelogItem[] {
  const items: ChangelogItem[] = [];
  for (const block of text.split(/^commit [0-9a-f]{12,}.*$/m).slice(1)) {
    const subject = /^\n?(?:[A-Za-z-]+:.*\n)*\n {4}(\S.*)$/m.exec(block)?.[1];
    if (subject) items.push({ release, text: subject.trim() });
  }
  return items;
}

/** Items of releases after `low` up to `high` (the changes a release bisection's answer spans). */
export function itemsBetween(items: readonly ChangelogItem[], low: string, high: string): ChangelogItem[] {
  return items.filter((i) => compareVersions(i.release, low) > 0 && compareVersions(i.release, high) <= 0);
}

/** The words an entry must name to be shown: file paths without extension and their stems, and function names. */
export function changelogKeywords(files: readonly string[], functions: readonly string[]): string[] {
  const words = new Set<string>();
  for (const f of files) {
    const noExt = f.replace(/\.[ch]$/, '');
    const stem = noExt.split('/').pop()!;
    words.add(stem);
    if (f.startsWith('mm/') || f.startsWith('kernel/') || f.startsWith('fs/')) words.add(noExt);
  }
  for (const fn of functions) words.add(fn);
  return [...words].filter((w) => w.length >= 4).sort();
}

/** The items that name one of the keywords as a whole word, each with the words it named. */
export function matchingItems(items: readonly ChangelogItem[], keywords: readonly string[]): (ChangelogItem & { names: string[] })[] {
  const res = keywords.map((k) => ({ k, re: new RegExp(`(^|[^A-Za-z0-9_])${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_])`) }));
  const out: (ChangelogItem & { names: string[] })[] = [];
  for (const i of items) {
    const names = res.filter((r) => r.re.test(i.text)).map((r) => r.k);
    if (names.length) out.push({ ...i, names });
  }
  return out;
}
