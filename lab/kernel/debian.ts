/**
 * Debian's archive as a kernel source: linux-source-<series> from any suite
 * the lab knows (bookworm to sid, backports and security included), through an
 * apt state of the lab's own in the cache (<cache>/apt), made from the host's
 * configured Debian mirror, so the host's apt sources are never touched and no
 * mirror is named anywhere. apt verifies the .deb against the signed Packages
 * index (`apt-get download`); the tarball is taken out with dpkg-deb, never
 * installed. Works without root.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';
import { withScratch } from '../core/scratch.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { compareVersions } from './spec.ts';

/** The suites searched, as data: per archive of the host's sources (the main one, and the security one). */
export const DEBIAN_SUITES = {
  main: ['bookworm', 'bookworm-updates', 'bookworm-backports', 'trixie', 'trixie-updates', 'trixie-backports', 'forky', 'sid'],
  security: ['bookworm-security', 'trixie-security'],
} as const;

/** The package lists are fetched again after this long. */
const LISTS_MAX_AGE_MS = 6 * 3600_000;

interface ArchiveCandidate {
  pkg: string;
  /** Debian's version, e.g. 7.3.4-1~bpo13+1. */
  debianVersion: string;
  /** The kernel release it holds, e.g. 7.3.4. */
  version: string;
  suite: string;
}

/** 7.3.4-1~bpo13+1 -> 7.3.4; 1:6.1.76-1 -> 6.1.76. */
export function upstreamOf(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

/** `apt-cache madison` lines: `pkg | version | uri suite/component arch Packages`. */
export function parseMadison(text: string): ArchiveCandidate[] {
  const out: ArchiveCandidate[] = [];
  for (const line of text.split('\n')) {
    const [pkg, ver, where] = line.split('|').map((s) => s.trim());
    if (!pkg || !ver || !where) continue;
    const suite = /\s(\S+?)\/\S+\s+\S+\s+Packages$/.exec(where)?.[1] ?? where.split(/\s+/)[1] ?? '';
    out.push({ pkg, debianVersion: ver, version: upstreamOf(ver), suite });
  }
  return out;
}

/** The host's Debian mirrors: the URIs of its deb822 sources (and one-line sources.list), main and security. */
export async function hostMirrors(files?: string[]): Promise<{ main?: string; security?: string }> {
  const list = files ?? [
    ...(await readdir('/etc/apt/sources.list.d').catch(() => [] as string[])).filter((f) => f.endsWith('.sources') || f.endsWith('.list')).map((f) => join('/etc/apt/sources.list.d', f)),
    '/etc/apt/sources.list',
  ];
  const found: { main?: string; security?: string } = {};
  for (const file of list) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const entries: { uri: string; suites: string[] }[] = [];
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/im.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && /^Types:.*\bdeb\b/im.test(stanza)) entries.push({ uri, suites });
    }
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) entries.push({ uri: m[1]!, suites: [m[2]!] });
    for (const e of entries) {
      const known = (s: string) => ([...DEBIAN_SUITES.main, ...DEBIAN_SUITES.security] as string[]).includes(s);
      if (!e.suites.some(known)) continue;
      if (e.suites.some((s) => s.endsWith('-security'))) found.security ??= e.uri;
      else found.main ??= e.uri;
    }
  }
  return found;
}

export class DebianArchive {
  readonly dir: string;
  constructor(
    cacheDir: string,
    private readonly reporter: ProgressReporter,
    private readonly log?: string,
  ) {
    this.dir = join(cacheDir, 'apt');
  }

  private aptOptions(): string[] {
    return [
      '-o', `Dir::State=${join(this.dir, 'state')}`,
      '-o', 'Dir::State::status=/var/lib/dpkg/status',
      '-o', `Dir::Cache=${join(this.dir, 'cache')}`,
      '-o', 'Dir::Etc::SourceList=/dev/null',
      '-o', `Dir::Etc::SourceParts=${join(this.dir, 'sources')}`,
      '-o', 'Dir::Etc::Preferences=/dev/null',
      '-o', `Dir::Etc::PreferencesParts=${join(this.dir, 'preferences')}`,
      '-o', 'Acquire::Languages=none',
    ];
  }

  /** The lab's sources from the host's mirrors, and fresh package lists (at most LISTS_MAX_AGE_MS old). */
  async prepare(): Promise<{ ok: true } | { ok: false; why: string }> {
    const mirrors = await hostMirrors();
    if (!mirrors.main) return { ok: false, why: "the host's apt sources name no Debian mirror" };
    const stanza = (uri: string, suites: readonly string[]) =>
      `Types: deb\nURIs: ${uri}\nSuites: ${suites.join(' ')}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
    const sources = [stanza(mirrors.main, DEBIAN_SUITES.main), ...(mirrors.security ? [stanza(mirrors.security, DEBIAN_SUITES.security)] : [])].join('\n');
    for (const d of ['sources', 'preferences', 'state/lists/partial', 'cache/archives/partial', 'debs']) await mkdir(join(this.dir, d), { recursive: true });
    const file = join(this.dir, 'sources', 'lab.sources');
    const changed = (await readFile(file, 'utf8').catch(() => '')) !== sources;
    if (changed) await writeFile(file, sources);
    const stamp = join(this.dir, 'state', 'updated');
    const age = Date.now() - ((await stat(stamp).catch(() => undefined))?.mtimeMs ?? 0);
    if (changed || age > LISTS_MAX_AGE_MS) {
      this.reporter.stage('source', `Debian's archive: fetching the package lists of ${[...DEBIAN_SUITES.main, ...(mirrors.security ? DEBIAN_SUITES.security : [])].join(', ')}`);
      // a suite that fails (a release not yet or no longer there) leaves the others usable
      const r = await run('apt-get', [...this.aptOptions(), '-q', 'update'], { log: this.log, okExitCodes: [100], errorCode: 'DOWNLOAD_FAILED' });
      if (r.exitCode !== 0) this.reporter.warn('source', `apt-get update of the lab's Debian suites reported errors (see ${this.log ?? 'its output'}); the suites it fetched are used`);
      await writeFile(stamp, new Date().toISOString());
    }
    return { ok: true };
  }

  /** The series Debian's suites have a linux-source-<series> of, e.g. [6.1, 6.12, 7.2, 7.3]. */
  async series(): Promise<string[]> {
    const r = await run('apt-cache', [...this.aptOptions(), 'pkgnames', 'linux-source-'], { okExitCodes: [1] });
    return r.stdout
      .split('\n')
      .map((l) => /^linux-source-(\d+\.\d+)$/.exec(l.trim())?.[1])
      .filter((s): s is string => Boolean(s))
      .sort(compareVersions);
  }

  /** Every linux-source-<series> the suites have, newest release first. */
  async candidates(series: string): Promise<ArchiveCandidate[]> {
    const r = await run('apt-cache', [...this.aptOptions(), 'madison', `linux-source-${series}`], { okExitCodes: [100] });
    return parseMadison(r.stdout).sort((a, b) => compareVersions(b.version, a.version) || b.debianVersion.localeCompare(a.debianVersion));
  }

  /** Where a candidate's tarball and its changelog.Debian.gz are kept. */
  private kept(c: ArchiveCandidate): { tarball: string; changelog: string } {
    const base = join(this.dir, 'tarballs', `${c.pkg}_${c.debianVersion.replace(/[^\w.+~-]/g, '_')}`);
    return { tarball: `${base}.tar.xz`, changelog: `${base}.changelog.Debian.gz` };
  }

  /** Download a candidate (apt checks it against the signed index) and take its tarball out; returns the tarball's path. */
  async fetch(c: ArchiveCandidate): Promise<string> {
    const { tarball } = this.kept(c);
    if (!existsSync(tarball)) await this.unpack(c, 'tarball');
    return tarball;
  }

  /** The candidate's changelog.Debian.gz (downloading its .deb again when only the tarball was kept). */
  async changelog(c: ArchiveCandidate): Promise<string> {
    const { changelog } = this.kept(c);
    if (!existsSync(changelog)) await this.unpack(c, 'changelog');
    return changelog;
  }

  /**
   * The .deb downloaded and checked by apt; its tarball and changelog moved
   * beside each other, the rest removed. One process at a time per package
   * (the second finds the first's files), each in a scratch folder of its own.
   */
  private async unpack(c: ArchiveCandidate, wanted: keyof ReturnType<DebianArchive['kept']>): Promise<void> {
    const kept = this.kept(c);
    await withLock(join(this.dir, 'locks', `${c.pkg}_${c.debianVersion.replace(/[^\w.+~-]/g, '_')}`), async () => {
      if (existsSync(kept[wanted])) return;
      await withScratch(join(this.dir, 'debs'), 'deb', async (debs) => {
        this.reporter.stage('source', `Debian's archive: downloading ${c.pkg} ${c.debianVersion} (${c.suite})`);
        await run('apt-get', [...this.aptOptions(), '-q', 'download', `${c.pkg}=${c.debianVersion}`], { cwd: debs, log: this.log, errorCode: 'DOWNLOAD_FAILED' });
        const deb = (await readdir(debs)).find((f) => f.startsWith(`${c.pkg}_`) && f.endsWith('.deb'));
        if (!deb) throw new Error(`apt-get download ${c.pkg}=${c.debianVersion} left no .deb in ${debs}`);
        const out = join(debs, 'x');
        await run('dpkg-deb', ['-x', join(debs, deb), out], { errorCode: 'EXTRACT_FAILED' });
        const inner = join(out, 'usr', 'src', `${c.pkg}.tar.xz`);
        if (!existsSync(inner)) throw new Error(`${deb} holds no usr/src/${c.pkg}.tar.xz`);
        await mkdir(join(this.dir, 'tarballs'), { recursive: true });
        const changelog = join(out, 'usr', 'share', 'doc', c.pkg, 'changelog.Debian.gz');
        if (existsSync(changelog)) await rename(changelog, kept.changelog);
        if (!existsSync(kept.tarball)) await rename(inner, kept.tarball);
      });
    });
  }
}
