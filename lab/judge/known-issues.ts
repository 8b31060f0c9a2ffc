/**
 * A scenario's known kernel bugs: which one a kernel report is, its upstream
 * fix, and the versions the lab ran it on (affected, fixed, never affected).
 * A scenario that fails on a version the record says is clean is a
 * regression: the bug, or something like it, came back.
 */
import { compareVersions } from '../core/version.ts';
import { kernelMatches } from '../expr/expr.ts';
import { seriesOf } from '../kernel/inputs.ts';

/** A scenario's known_issues entry (lab/scenario/schema.ts), as the judge reads it. */
export interface KnownIssueRecord {
  title: string;
  /** A regular expression over the kernel report's lines. */
  report: string;
  kernel?: string;
  fix?: string;
  fixes?: string;
  details?: string;
  affected: string[];
  fixed: string[];
  unaffected: string[];
}

export interface KnownIssue {
  title: string;
  fix?: string;
  fixes?: string;
  details?: string;
  /** The report line that matched. */
  matched: string;
}

/** What the lab recorded of a known issue on the versions it ran: carried in every result of the scenario. */
export interface KnownIssueVersions {
  title: string;
  affected: string[];
  fixed: string[];
  unaffected: string[];
}

/** The upstream fix as every report prints it: its subject (quoted when asked), then the commit its Fixes: tag names. */
export function describeFix(k: Pick<KnownIssue, 'fix' | 'fixes'>, quote = ''): string {
  const fix = k.fix ? `${quote}${k.fix}${quote}` : 'none known';
  return `${fix}${k.fixes ? ` (Fixes: ${k.fixes})` : ''}`;
}

/** "6.12.117" of "6.12.117-lab+", "7.3.4-amd64": the dotted version a record lists. */
const versionOf = (release: string): string => /^\d+\.\d+(\.\d+)?/.exec(release)?.[0] ?? release;

export function matchKnownIssue(known: readonly KnownIssueRecord[], report: readonly string[], release: string): KnownIssue | undefined {
  for (const k of known) {
    if (k.kernel && !kernelMatches(k.kernel, release)) continue;
    const re = new RegExp(k.report);
    const line = report.find((l) => re.test(l));
    if (line) return { title: k.title, ...(k.fix ? { fix: k.fix } : {}), ...(k.fixes ? { fixes: k.fixes } : {}), ...(k.details ? { details: k.details } : {}), matched: line.trim() };
  }
  return undefined;
}

/**
 * Why a known issue should not show on this release, or undefined when it may:
 * the release is listed as fixed or unaffected, or comes after a fixed one, in
 * its series or a later series (mainline has a fix before any stable release).
 */
export function expectedClean(k: Pick<KnownIssueRecord, 'fixed' | 'unaffected'>, release: string): string | undefined {
  const v = versionOf(release);
  if (k.fixed.includes(v)) return `listed as fixed in ${v}`;
  if (k.unaffected.includes(v)) return `listed as not affected in ${v}`;
  const before = k.fixed.filter((f) => compareVersions(f, v) < 0 && (seriesOf(f) === seriesOf(v) || compareVersions(seriesOf(f), seriesOf(v)) < 0));
  if (before.length) return `listed as fixed in ${before.sort(compareVersions).at(-1)}, and ${v} comes after it`;
  return undefined;
}

/**
 * A failed or errored scenario on a release its known issues say is clean:
 * "regression: <title> is listed as fixed in 7.3.4". Undefined when the scenario
 * passed, or when no known issue speaks for this release.
 */
export function knownIssueRegression(known: readonly KnownIssueRecord[], status: string, release: string, matched?: KnownIssue): string | undefined {
  if (status !== 'FAIL' && status !== 'ERROR') return undefined;
  // the matched issue first: it names what came back
  const ordered = matched ? [...known.filter((k) => k.title === matched.title), ...known.filter((k) => k.title !== matched.title)] : known;
  for (const k of ordered) {
    if (k.kernel && !kernelMatches(k.kernel, release)) continue;
    const why = expectedClean(k, release);
    if (why) return `${matched?.title === k.title ? 'the known issue came back' : `${status} where a known issue was clean`}: "${k.title}" is ${why}`;
  }
  return undefined;
}

/** The versions of every known issue of a scenario, as its results carry them. */
export const knownIssueVersions = (known: readonly KnownIssueRecord[]): KnownIssueVersions[] =>
  known.map((k) => ({ title: k.title, affected: k.affected, fixed: k.fixed, unaffected: k.unaffected }));
