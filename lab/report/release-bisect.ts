/**
 * The record of a release bisection (results/<run>/bisect.json) and its
 * readable forms: bisect.md (the answer, what changed between the two
 * releases: the source diff and the changelog entries, every step),
 * summary.md (for a CI step summary), junit.xml (a testcase per release
 * tested) and changes.diff (the diff alone, for `patch` or a mail).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../core/reporter.ts';
import { xmlEscape } from './junit.ts';
import type { RunResult, RunStatus } from './result.ts';
import { infrastructureError } from './report.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { jsonFile, textFile, writeFiles, type FileWriter } from './writers.ts';

export const RELEASE_BISECT_SCHEMA_VERSION = 1;

/** regression: --good is older and passes, --bad newer and fails; fix (--fixed): --bad is older and fails, --good newer and passes. */
export type BisectMode = 'regression' | 'fix';

/** What a release did: passed, failed (a FAIL, or an ERROR that is the kernel's), or could not say. */
export type Outcome = 'pass' | 'fail' | 'skip';

export interface ReleaseStep {
  n: number;
  version: string;
  /** bisect: chosen between the two; endpoint: --good or --bad, tested because the answer rested on it. */
  role: 'bisect' | 'endpoint';
  status: RunStatus;
  outcome: Outcome;
  /** Why it failed or was skipped: the expectations that did not hold, the kernel report's first line, the error. */
  reason?: string;
  /** The kernel: built now (seconds of make) or a cache hit. */
  build?: { cacheHit: boolean; seconds: number };
  stepSeconds: number;
  resultsDir: string;
  /** The function the kernel report's RIP line names, when the release oopsed. */
  rip?: string;
}

interface ChangedFile {
  file: string;
  why: string;
  functions: string[];
  /** Lines of the unified diff (0: the file is the same in both). */
  lines: number;
  /** In neither tree. */
  absent?: boolean;
}

export interface ChangelogEntry {
  release: string;
  debianVersion?: string;
  text: string;
  names: string[];
}

export interface ReleaseChanges {
  /** The older and newer release of the answer, and their trees. */
  from: { version: string; tree: string };
  to: { version: string; tree: string };
  files: ChangedFile[];
  /** The changelogs read: Debian's changelog.Debian.gz of a package, or a mirror's ChangeLog-X.Y.Z. */
  changelogSources: string[];
  /** Entries between the two releases that name a diffed file or a function (probed, in the report, or changed). */
  changelog: ChangelogEntry[];
  /** The words an entry had to name. */
  keywords: string[];
}

export interface ReleaseBisectResult {
  schemaVersion: number;
  kind: 'releases';
  runId: string;
  mode: BisectMode;
  status: 'found' | 'no-answer' | 'interrupted' | 'error';
  message: string;
  startedAt: string;
  finishedAt?: string;
  good: string;
  bad: string;
  scenario: string;
  expect: string[];
  flavor: string;
  /** Every release reachable from the older endpoint to the newer, with where it was found. */
  releases: { version: string; from: string[] }[];
  /** What each source gave. */
  tried: string[];
  steps: ReleaseStep[];
  /** The hooks the steps' guests probed (their files are diffed). */
  probed?: string[];
  /** The answer: the last release that behaves as the older endpoint, and the first that behaves as the newer. */
  answer?: { before: string; after: string };
  /** Only skipped releases were left between these. */
  candidates?: string[];
  changes?: ReleaseChanges;
  error?: { code: string; message: string };
}

/** What a release's run says: PASS passes, FAIL or a kernel error fails, anything else (the lab's own trouble) says nothing. */
export function outcomeOf(run: Pick<RunResult, 'status' | 'error' | 'scenarios'>): { outcome: Outcome; reason?: string } {
  const s = run.scenarios[0];
  if (run.status === 'PASS' && s?.status === 'PASS') return { outcome: 'pass' };
  if (s?.status === 'FAIL') {
    const failed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail');
    return { outcome: 'fail', reason: failed.map((e) => e.message).join('; ') || 'FAIL' };
  }
  if (s?.status === 'ERROR' && !infrastructureError(s)) {
    const line = s.kernelReport?.find((l) => /BUG|Oops|RIP:|panic|WARNING/.test(l)) ?? s.error?.message ?? 'kernel error';
    return { outcome: 'fail', reason: `kernel error: ${line.trim()}` };
  }
  const reason = run.error ? `${run.error.stage}: ${run.error.code}: ${run.error.message}` : s ? (infrastructureError(s) ?? s.skipReason ?? s.status) : 'no scenario ran';
  return { outcome: 'skip', reason };
}

const seconds = (s: number | undefined) => (s === undefined ? '-' : formatDuration(s * 1000));
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function releaseStepTable(b: ReleaseBisectResult): string {
  const rows = b.steps.map((s) => [
    `${s.n}${s.role === 'endpoint' ? ' (endpoint)' : ''}`,
    s.version,
    s.build ? (s.build.cacheHit ? 'cache hit' : seconds(s.build.seconds)) : '-',
    seconds(s.stepSeconds),
    s.status,
    s.outcome,
    cell(s.reason ?? ''),
  ]);
  const head = ['step', 'release', 'build', 'step time', 'status', 'outcome', 'why'];
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const TITLES = { found: { regression: 'first bad release found', fix: 'first fixed release found' }, 'no-answer': 'no answer', interrupted: 'interrupted', error: 'error' } as const;

function releaseBisectSummary(b: ReleaseBisectResult): string {
  const title = b.status === 'found' ? TITLES.found[b.mode] : TITLES[b.status];
  return [
    `# lab bisect (releases): ${title}`,
    '',
    `${b.scenario}: good ${b.good}, bad ${b.bad}${b.mode === 'fix' ? ' (--fixed: which release fixed it)' : ''}, flavor ${b.flavor}${b.expect.length ? `, --expect ${b.expect.map((e) => `\`${e}\``).join(' ')}` : ''}`,
    '',
    `Releases reachable in the range: ${b.releases.map((r) => r.version).join(', ') || 'none'}`,
    '',
    b.message,
    '',
    releaseStepTable(b),
    '',
  ].join('\n');
}

function changesSection(c: ReleaseChanges, diffs: Map<string, string>): string[] {
  const changed = c.files.filter((f) => f.lines);
  const out = [
    `## What changed from ${c.from.version} to ${c.to.version}`,
    '',
    `Trees: ${c.from.tree} and ${c.to.tree}.`,
    '',
    ...c.files.map((f) => `- \`${f.file}\` (${f.why}): ${f.absent ? 'in neither tree' : f.lines ? `${f.lines} diff lines${f.functions.length ? `; changes in ${f.functions.map((x) => `\`${x}\``).join(', ')}` : ''}` : 'unchanged'}`),
    '',
    `### Changelog entries between ${c.from.version} and ${c.to.version} that name ${c.keywords.map((k) => `\`${k}\``).join(', ')}`,
    '',
    `Read from: ${c.changelogSources.join('; ') || 'no changelog found'}`,
    '',
    ...(c.changelog.length ? c.changelog.map((e) => `- ${e.release}${e.debianVersion ? ` (Debian ${e.debianVersion})` : ''}: ${e.text}`) : ['None.']),
    '',
  ];
  for (const f of changed) out.push(`### ${f.file}`, '', '```diff', (diffs.get(f.file) ?? '').trimEnd(), '```', '');
  return out;
}

function releaseBisectReport(b: ReleaseBisectResult, diffs: Map<string, string> = new Map()): string {
  return [
    releaseBisectSummary(b),
    ...(b.changes ? changesSection(b.changes, diffs) : []),
    '## Steps',
    '',
    ...b.steps.map((s) => `- step ${s.n}, ${s.version}: ${s.outcome}${s.reason ? ` (${s.reason})` : ''}; results: ${s.resultsDir}`),
    '',
    '## Sources',
    '',
    ...b.releases.map((r) => `- ${r.version}: ${r.from.join(', ')}`),
    '',
    ...b.tried.map((t) => `- ${t}`),
    ...(b.error ? ['', `Error: ${b.error.code}: ${b.error.message}`] : []),
    '',
  ].join('\n');
}


function releaseBisectJUnit(b: ReleaseBisectResult): string {
  const count = (o: Outcome) => b.steps.filter((s) => s.outcome === o).length;
  // a failure is what the newer endpoint does in regression mode, what the older does in fix mode: still a failing release
  const cases = b.steps.map((s) => {
    const body = s.outcome === 'fail' ? `\n      <failure message="${xmlEscape(s.reason ?? 'fail')}"/>\n    ` : s.outcome === 'skip' ? `\n      <skipped message="${xmlEscape(s.reason ?? '')}"/>\n    ` : '';
    return `    <testcase classname="page-owner-lab.bisect.${xmlEscape(b.scenario)}" name="step ${s.n} ${s.version}" time="${s.stepSeconds.toFixed(3)}">${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="page-owner-lab" tests="${b.steps.length}" failures="${count('fail')}" errors="0" skipped="${count('skip')}">`,
    `  <testsuite name="bisect releases ${xmlEscape(b.scenario)}" tests="${b.steps.length}" failures="${count('fail')}" errors="0" skipped="${count('skip')}">`,
    `    <properties><property name="status" value="${b.status}"/><property name="before" value="${b.answer?.before ?? ''}"/><property name="after" value="${b.answer?.after ?? ''}"/><property name="message" value="${xmlEscape(b.message)}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

type Reports = { b: ReleaseBisectResult; diffs: Map<string, string> };
const RELEASE_BISECT_WRITERS: readonly FileWriter<Reports>[] = [
  { name: 'bisect.json', write: ({ b }, dir) => jsonFile<ReleaseBisectResult>('bisect.json').write(b, dir) },
  textFile('bisect.md', ({ b, diffs }) => releaseBisectReport(b, diffs)),
  textFile('summary.md', ({ b }) => releaseBisectSummary(b)),
  textFile('junit.xml', ({ b }) => releaseBisectJUnit(b)),
  // with an answer only
  { name: 'changes.diff', write: async ({ diffs }, dir) => (diffs.size ? writeFile(join(dir, 'changes.diff'), [...diffs.values()].join('')) : undefined) },
];

/** bisect.json, bisect.md, summary.md, junit.xml and, with an answer, changes.diff. Written after every step; a writer that fails is logged and named, the others still write. */
export const writeReleaseBisectReports = (b: ReleaseBisectResult, dir: string, diffs: Map<string, string> = new Map(), progress?: Pick<ProgressReporter, 'warn'>): Promise<string[]> =>
  writeFiles(RELEASE_BISECT_WRITERS, { b, diffs }, dir, progress);
