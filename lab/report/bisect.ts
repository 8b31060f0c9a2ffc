/**
 * The record of a lab bisect run (results/<run>/bisect.json) and its
 * readable forms: bisect.md (the answer, the commit, every step), summary.md
 * (the answer and the step table, for a CI step summary) and junit.xml (one
 * testcase per step). Every step is a run of its own in steps/<n>-<commit>/,
 * with the usual result.json, junit.xml, kcidb.json and logs.
 */
import { formatDuration } from '../core/reporter.ts';
import type { ExpectationResult } from '../judge/judge.ts';
import { xmlEscape } from './junit.ts';
import type { RunResult, RunStatus } from './result.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { jsonFile, textFile, writeFiles, type FileWriter } from './writers.ts';

export const BISECT_SCHEMA_VERSION = 1;

type BisectMark = 'good' | 'bad' | 'skip';

export interface BisectCommit {
  commit: string;
  subject: string;
  /** Files changed against the first parent. */
  files: string[];
}

export interface BisectStep {
  /** 1, 2, ... in the order they ran (across resumed runs). */
  n: number;
  commit: string;
  subject: string;
  /** bisect: a revision git bisect chose; endpoint: --good or --bad, tested because the answer rested on it. */
  role: 'bisect' | 'endpoint';
  /** The step's run: PASS -> good, FAIL -> bad, ERROR (a build or boot failure too) -> skip. */
  status: RunStatus;
  mark: BisectMark;
  /** Why the step was skipped or marked bad: the error, or the expectations that did not hold. */
  reason?: string;
  /** make's time for this step's kernel (incremental after the first step). */
  buildSeconds?: number;
  /** The whole step: build, boot, scenario, reports. */
  stepSeconds: number;
  /** The scenario's expectations as judged in this step, with the values behind them. */
  expectations: Pick<ExpectationResult, 'expect' | 'verdict' | 'left' | 'right' | 'values'>[];
  resultsDir: string;
}

type BisectStatus = 'found' | 'no-answer' | 'interrupted' | 'error';

export interface BisectResult {
  schemaVersion: number;
  runId: string;
  status: BisectStatus;
  /** One line: the answer, or why there is none. */
  message: string;
  startedAt: string;
  finishedAt?: string;
  tree: string;
  good: { rev: string; commit: string };
  bad: { rev: string; commit: string };
  scenario: string;
  /** --expect expressions (added to the scenario's, or replacing those with the same left side). */
  expect: string[];
  flavor: string;
  /** The O= tree every step builds in (removed at the end, kept for --resume). */
  buildTree: string;
  /** How many times an interrupted run was resumed (--resume) into this record. */
  resumed: number;
  firstBad?: BisectCommit;
  /** Only skipped revisions were left: the first bad commit is one of these. */
  candidates?: BisectCommit[];
  steps: BisectStep[];
  /** `git bisect log` at the end: replayable with `git bisect replay`. */
  bisectLog?: string;
  error?: { code: string; message: string };
}

/** What a step's run says, as a bisect mark and the reason behind it. */
export function markOf(run: Pick<RunResult, 'status' | 'error' | 'scenarios'>): { mark: BisectMark; reason?: string } {
  if (run.status === 'PASS') return { mark: 'good' };
  const s = run.scenarios[0];
  if (run.status === 'FAIL') {
    const failed = [...(s?.judgement?.expectations ?? []), ...(s?.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail');
    return { mark: 'bad', reason: failed.map((e) => e.message).join('; ') };
  }
  const reason = run.error
    ? `${run.error.stage}: ${run.error.code}: ${run.error.message}`
    : s?.error
      ? `${s.name}: ${s.error.code}: ${s.error.message}`
      : s?.skipReason
        ? `${s.name} skipped: ${s.skipReason}`
        : [...(s?.judgement?.expectations ?? []), ...(s?.checks?.expectations ?? [])]
            .filter((e) => e.verdict === 'error')
            .map((e) => e.message)
            .join('; ') || 'no verdict';
  return { mark: 'skip', reason };
}

const short = (commit: string) => commit.slice(0, 12);
const seconds = (s: number | undefined) => (s === undefined ? '-' : formatDuration(s * 1000));

/**
 * The expectations a reader wants per step: the --expect ones when given,
 * else every one that did not pass in some step (what moved across the range).
 */
export function watchedExpectations(b: Pick<BisectResult, 'expect' | 'steps'>): string[] {
  const all = [...new Set(b.steps.flatMap((s) => s.expectations.map((e) => e.expect)))];
  if (b.expect.length) return all.filter((e) => b.expect.some((x) => x.replace(/\s+/g, '') === e.replace(/\s+/g, '')));
  return all.filter((e) => b.steps.some((s) => s.expectations.some((x) => x.expect === e && x.verdict !== 'pass' && x.verdict !== 'skip')));
}

/** "0 (records9=0)": the left side as observed, and every value it used. */
function observed(e: BisectStep['expectations'][number] | undefined): string {
  if (!e) return '-';
  const values = Object.entries(e.values).map(([k, v]) => `${k}=${v}`);
  return `${e.left ?? '?'}${values.length ? ` (${values.join(', ')})` : ''}${e.verdict === 'pass' ? '' : ` ${e.verdict.toUpperCase()}`}`;
}

export function stepTable(b: BisectResult): string {
  const watched = watchedExpectations(b);
  const head = ['step', 'revision', 'subject', 'build', 'step time', 'verdict', 'mark', ...watched.map((w) => `\`${w}\``)];
  const rows = b.steps.map((s) => [
    `${s.n}${s.role === 'endpoint' ? ' (endpoint)' : ''}`,
    `\`${short(s.commit)}\``,
    s.subject.replace(/\|/g, '\\|'),
    seconds(s.buildSeconds),
    seconds(s.stepSeconds),
    s.status,
    s.mark,
    ...watched.map((w) => observed(s.expectations.find((e) => e.expect === w))),
  ]);
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function commitBlock(c: BisectCommit): string {
  return `\`${c.commit}\` ${c.subject}\n\nFiles: ${c.files.map((f) => `\`${f}\``).join(', ') || '(none)'}`;
}

/** summary.md: the answer and the steps. */
function bisectSummary(b: BisectResult): string {
  const title = { found: 'first bad commit found', 'no-answer': 'no answer', interrupted: 'interrupted', error: 'error' }[b.status];
  return [
    `# lab bisect: ${title}`,
    '',
    `${b.scenario} on ${b.tree}: good \`${b.good.rev}\` (${short(b.good.commit)}), bad \`${b.bad.rev}\` (${short(b.bad.commit)}), flavor ${b.flavor}${
      b.expect.length ? `, --expect ${b.expect.map((e) => `\`${e}\``).join(' ')}` : ''
    }`,
    '',
    b.message,
    ...(b.firstBad ? ['', commitBlock(b.firstBad)] : []),
    '',
    stepTable(b),
    '',
  ].join('\n');
}

/** bisect.md: the summary, then why each step was marked as it was, where its results are, and the bisect log. */
function bisectReport(b: BisectResult): string {
  const steps = b.steps.map((s) => `- step ${s.n}, \`${short(s.commit)}\` ${s.mark}${s.reason ? `: ${s.reason}` : ''} (results: ${s.resultsDir})`);
  return [
    bisectSummary(b),
    ...(b.candidates ? ['## Candidates (only skipped revisions were left)', '', ...b.candidates.map((c) => `- ${commitBlock(c).replace('\n\n', ', ')}`), ''] : []),
    '## Steps',
    '',
    ...steps,
    '',
    `Build tree: ${b.buildTree}${b.resumed ? `; resumed ${b.resumed} time(s)` : ''}`,
    ...(b.error ? ['', `Error: ${b.error.code}: ${b.error.message}`] : []),
    ...(b.bisectLog ? ['', '## git bisect log', '', '```', b.bisectLog.trimEnd(), '```'] : []),
    '',
  ].join('\n');
}


/** junit.xml: a testcase per step (bad: failure, skip: skipped), the answer as a property. */
function bisectJUnit(b: BisectResult): string {
  const cases = b.steps.map((s) => {
    const body =
      s.mark === 'bad' ? `\n      <failure message="${xmlEscape(s.reason ?? 'bad')}"/>\n    ` : s.mark === 'skip' ? `\n      <skipped message="${xmlEscape(s.reason ?? '')}"/>\n    ` : '';
    return `    <testcase classname="page-owner-lab.bisect.${xmlEscape(b.scenario)}" name="step ${s.n} ${short(s.commit)} ${xmlEscape(s.subject)}" time="${s.stepSeconds.toFixed(3)}">${body}</testcase>`;
  });
  const count = (m: BisectMark) => b.steps.filter((s) => s.mark === m).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="page-owner-lab" tests="${b.steps.length}" failures="${count('bad')}" errors="0" skipped="${count('skip')}">`,
    `  <testsuite name="bisect ${xmlEscape(b.scenario)}" tests="${b.steps.length}" failures="${count('bad')}" errors="0" skipped="${count('skip')}">`,
    `    <properties><property name="status" value="${b.status}"/><property name="first-bad" value="${b.firstBad?.commit ?? ''}"/><property name="message" value="${xmlEscape(b.message)}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const BISECT_WRITERS: readonly FileWriter<BisectResult>[] = [jsonFile('bisect.json'), textFile('bisect.md', bisectReport), textFile('summary.md', bisectSummary), textFile('junit.xml', bisectJUnit)];

/** bisect.json, bisect.md, summary.md and junit.xml into the bisection's results folder; a writer that fails is logged and named, the others still write. */
export const writeBisectReports = (b: BisectResult, dir: string, progress?: Pick<ProgressReporter, 'warn'>): Promise<string[]> => writeFiles(BISECT_WRITERS, b, dir, progress);
