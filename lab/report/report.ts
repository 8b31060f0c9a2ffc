/**
 * `lab report`: any number of runs (several kernels, several runs or
 * repetitions of one) grouped into columns, one per kernel (release and
 * flavor) or per run. Per column: the verdicts, every metric's spread, the
 * probe map, the relevant kernel config and the dump's top call sites; between
 * neighbouring columns (kernels in version order): verdict changes, metrics
 * flagged by the noise model (noise.ts), call-site changes. With a baseline,
 * the gate: a verdict that left PASS or a metric that left the baseline's
 * spread by more than the tolerance is a regression.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compareVersions } from '../core/version.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { OTHER_STACK, type DebugfsSummary, type StackCount } from '../observe/debugfs.ts';
import type { ProbeMapEntry } from '../observe/hooks.ts';
import type { KnownIssueVersions } from '../judge/known-issues.ts';
import type { ScenarioStatus } from '../judge/verdict.ts';
import type { ScenarioResult } from '../scenario/run.ts';
import { bandFor, changePct, gateMetric, movement, spreadOf, fmtNum, fmtSpread, type GateJudgement, type Movement, type NoiseProfile, type Spread } from './noise.ts';
import { readRunResult, type RunResult } from './result.ts';

export interface ReportInput {
  /** The folder or file named on the command line. */
  source: string;
  result: RunResult;
  /** The kernel's .config (kernel.config next to result.json), option -> value. */
  config?: Record<string, string>;
}

interface RunRef {
  source: string;
  runId: string;
  column: string;
  startedAt: string;
  status: string;
}

interface Column {
  label: string;
  release: string;
  flavor: string;
  runs: RunRef[];
  probeMap?: ProbeMapEntry[];
  config?: Record<string, string>;
}

interface VerdictRow {
  scenario: string;
  /** Per column: every sample's status (runs x repetitions), and in words ("PASS", "PASS 2/3, ERROR 1/3"). */
  cells: ({ statuses: ScenarioStatus[]; summary: string } | undefined)[];
  /** Every change between neighbouring columns, e.g. "6.6.87 PASS -> 6.12.117 SKIP". */
  changes: string[];
}

interface Sample {
  value: number;
  runId: string;
  startedAt: string;
  repetition?: number;
}

interface MetricPair {
  from: number;
  to: number;
  movement: Movement;
  changePct: number;
  /** What judged the move: both spreads (repetitions on each side), or the shipped profile (a single sample on a side). */
  model: 'spreads' | 'profile';
}

interface ReportMetricRow {
  scenario: string;
  metric: string;
  spreads: (Spread | undefined)[];
  samples: Sample[][];
  /** Neighbouring columns where the metric exists on both sides. */
  pairs: MetricPair[];
}

interface CallSites {
  scenario: string;
  order: string;
  /** Per column: dump records of this order (spread), bpftrace set events of it (spread), top stacks (mean records over the samples). */
  records: (Spread | undefined)[];
  sets: (Spread | undefined)[];
  top: (StackCount[] | undefined)[];
  /** One line per neighbouring pair whose top stack or counts changed, e.g. "hugetlb, order 1: 27 -> 33,380 sets; new top stack: ...". */
  lines: string[];
}

/** One known issue of one scenario across the columns, with the versions its record lists. */
interface KnownIssueRow {
  scenario: string;
  title: string;
  /** The record as the newest result carrying it has it (absent in results from before records were kept). */
  record?: KnownIssueVersions;
  /** Per column: "hit", "clean", "REGRESSION (hit)", "FAIL (no match)", ..., mixed as "hit 2/3, clean 1/3"; undefined: not run. */
  cells: (string | undefined)[];
  /** Columns where the scenario failed on a version the record says is clean. */
  regressions: string[];
}

interface Regression {
  column: string;
  scenario: string;
  what: string;
}

/** One gated metric: which model judged it, the band it allowed, and whether the new spread left it. */
interface GatedMetric extends GateJudgement {
  column: string;
  scenario: string;
  metric: string;
  value: string;
}

export interface Gate {
  baseline: RunRef[];
  tolerancePct: number;
  regressions: Regression[];
  /** Every metric gated, with its model (the baseline's own spread, or the shipped profile). */
  metrics: GatedMetric[];
  /** A scenario the baseline or --expect-scenarios has that the new runs lack: the night is incomplete. */
  missing: { column: string; scenario: string }[];
  /** ERRORs that are the lab's, not the kernel's (a lost guest, SSH, a boot timeout): not verdicts, the night is incomplete. */
  infrastructure: { column: string; scenario: string; what: string }[];
  /** Columns without a baseline of their kernel (nothing gated). */
  unmatched: string[];
}

export interface Report {
  generatedAt: string;
  thresholdPct: number;
  groupBy: GroupBy;
  columns: Column[];
  verdicts: VerdictRow[];
  metrics: ReportMetricRow[];
  flagged: number;
  /** Whether some column has a single sample of some metric (then: "no noise estimate"). */
  singleSamples: boolean;
  /** The noise profile that judged single samples, when one was given. */
  noiseProfile?: string;
  callSites: CallSites[];
  /** 6.9+: page_owner_stacks/show_stacks per scenario, the top stacks by base pages per column (mean over the samples). */
  kernelStacks: { scenario: string; top: (StackCount[] | undefined)[] }[];
  /** Relevant config options whose values differ between columns ("n": not set, ABSENT: not in that .config, undefined: no kernel.config). */
  configDiff: { option: string; values: (string | undefined)[] }[];
  /** The probe map per column: status (probed, renamed, missing, init-only ...) and function of every event. */
  probes: { event: string; values: (string | undefined)[] }[];
  /** Every known issue of the scenarios reported, per column: hit, clean, a regression, or another outcome. */
  knownIssues: KnownIssueRow[];
  /** The runs span more than one day: the metric timelines are worth drawing. */
  spansDates: boolean;
  gate?: Gate;
}

/** One column per kernel, per run (in time order), or per input in the order given (`lab compare`). */
export type GroupBy = 'kernel' | 'run' | 'input';

interface ReportOptions {
  thresholdPct?: number;
  tolerancePct?: number;
  groupBy?: GroupBy;
  baseline?: ReportInput[];
  /** The shipped noise profile (kernels/noise.yaml): judges single samples. */
  profile?: NoiseProfile;
  /** Scenarios every column must have (the nightly's matrix): one missing makes the night incomplete. */
  expectScenarios?: string[];
  now?: Date;
}

/** The options that shape page_owner, the allocators and the observers, compared between kernels. */
const RELEVANT_CONFIG =
  /^CONFIG_(PAGE_OWNER|PAGE_EXTENSION|STACKDEPOT\w*|MEMCG\w*|CMA\w*|COMPACTION|MIGRATION|CONTIG_ALLOC|TRANSPARENT_HUGEPAGE\w*|HUGETLB\w*|SLUB\w*|SLAB\w*|SLOB\w*|KASAN\w*|DEBUG_VM\w*|DEBUG_PAGEALLOC\w*|PAGE_POISONING|KPROBES\w*|KPROBE_EVENTS|UPROBE_EVENTS|FUNCTION_TRACER|KALLSYMS\w*|BPF\w*|NUMA|ZONE_DMA\w*|SPARSEMEM\w*|MEM_ALLOC_PROFILING\w*|PCP_BATCH_SCALE_MAX|PER_VMA_LOCK|LRU_GEN\w*)$/;

/** A config option a .config does not mention: no such option in that kernel, or one whose dependencies are unmet. */
const ABSENT = '(absent)';

/** A results folder or result.json, with the kernel.config beside it when there is one. */
export async function readReportInput(path: string): Promise<ReportInput> {
  const result = await readRunResult(path);
  const dir = path.endsWith('.json') ? dirname(path) : path;
  const text = await readFile(join(dir, 'kernel.config'), 'utf8').catch(() => undefined);
  return { source: path, result, ...(text === undefined ? {} : { config: parseConfig(text) }) };
}

/** The relevant options of a .config: "CONFIG_X=y" and "# CONFIG_X is not set" (as "n"). */
export function parseConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line) ?? /^# (CONFIG_\w+) is not set$/.exec(line);
    if (m && RELEVANT_CONFIG.test(m[1]!)) out[m[1]!] = m[2] ?? 'n';
  }
  return out;
}

const releaseOf = (r: RunResult) => r.kernel?.release ?? r.kernelSpec;
const kernelLabel = (r: RunResult) => (r.flavor === 'lab' ? releaseOf(r) : `${releaseOf(r)}+${r.flavor}`);
const series = (release: string) => /^(\d+\.\d+)/.exec(release)?.[1] ?? release;

/**
 * Every named value a scenario's verdicts used, and its per-order counters
 * (module seen, bpftrace set and reset), read through the metric registry.
 */
function scenarioMetrics(s: ScenarioResult, registry: MetricRegistry): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])]) {
    for (const [k, v] of Object.entries(e.values)) out.set(k, v);
  }
  const orders = new Set<string>([
    ...(s.observations.module?.rows ?? []).map((r) => String(r.order)),
    ...Object.keys(s.observations.bpf?.maps.set ?? {}),
    ...Object.keys(s.observations.bpf?.maps.reset ?? {}),
  ]);
  for (const order of orders) {
    for (const name of [`module.seen[${order}]`, `bpf.set[${order}]`, `bpf.reset[${order}]`]) {
      const v = registry.read(name, s.observations);
      if (v !== undefined && (!name.startsWith('module') || s.observations.module?.rows.some((r) => String(r.order) === order))) out.set(name, v);
    }
  }
  return out;
}

interface Group {
  column: Column;
  inputs: ReportInput[];
}

export function groupInputs(inputs: readonly ReportInput[], by: GroupBy): Group[] {
  const groups = new Map<string, Group>();
  for (const [i, input] of inputs.entries()) {
    const r = input.result;
    const label = by === 'run' ? r.runId : kernelLabel(r);
    const key = by === 'input' ? String(i) : label;
    const g = groups.get(key) ?? {
      column: { label, release: releaseOf(r), flavor: r.flavor, runs: [], probeMap: r.guest?.probeMap, config: input.config },
      inputs: [],
    };
    g.column.runs.push({ source: input.source, runId: r.runId, column: label, startedAt: r.startedAt, status: r.status });
    g.column.probeMap ??= r.guest?.probeMap;
    g.column.config ??= input.config;
    g.inputs.push(input);
    groups.set(key, g);
  }
  const list = [...groups.values()];
  for (const g of list) g.column.runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  if (by === 'input') return list;
  // kernels in version order; runs in time order
  return by === 'kernel'
    ? list.sort((a, b) => compareVersions(a.column.release, b.column.release) || a.column.label.localeCompare(b.column.label))
    : list.sort((a, b) => a.column.runs[0]!.startedAt.localeCompare(b.column.runs[0]!.startedAt));
}

/** Every sample of a scenario in a group: one per run and repetition. */
const samplesOf = (g: Group, name: string): { s: ScenarioResult; run: RunResult }[] =>
  g.inputs.flatMap((i) => i.result.scenarios.filter((s) => s.name === name).map((s) => ({ s, run: i.result })));

/** Judged samples only: a skipped or errored scenario measured nothing comparable. */
const judged = (s: ScenarioResult) => s.status === 'PASS' || s.status === 'FAIL';

const STATUS_ORDER: readonly ScenarioStatus[] = ['PASS', 'FAIL', 'ERROR', 'SKIP'];

/** "PASS" when all samples agree, else "PASS 28/30, ERROR 2/30". */
export function verdictSummary(statuses: ScenarioStatus[]): string {
  const present = STATUS_ORDER.filter((s) => statuses.includes(s));
  if (present.length === 1) return present[0]!;
  return present.map((s) => `${s} ${statuses.filter((x) => x === s).length}/${statuses.length}`).join(', ');
}

export function metricSamples(g: Group, name: string, registry: MetricRegistry): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const { s, run } of samplesOf(g, name)) {
    if (!judged(s)) continue;
    for (const [metric, value] of scenarioMetrics(s, registry)) {
      const list = out.get(metric) ?? [];
      list.push({ value, runId: run.runId, startedAt: run.startedAt, ...(s.repetition ? { repetition: s.repetition } : {}) });
      out.set(metric, list);
    }
  }
  return out;
}

/** Stacks of a group averaged over the samples that have them: one order of the dump, or show_stacks (by pages). */
function meanStacks(g: Group, name: string, pick: (d: DebugfsSummary) => StackCount[] | undefined, by: 'records' | 'pages' = 'records'): StackCount[] | undefined {
  const dumps = samplesOf(g, name).flatMap(({ s }) => {
    const d = judged(s) && s.observations.debugfs;
    const rows = d ? pick(d) : undefined;
    return rows ? [rows] : [];
  });
  if (!dumps.length) return undefined;
  const sum = new Map<string, { records: number; pages: number }>();
  for (const rows of dumps) {
    for (const r of rows) {
      const c = sum.get(r.stack) ?? { records: 0, pages: 0 };
      sum.set(r.stack, { records: c.records + r.records, pages: c.pages + r.pages });
    }
  }
  return [...sum]
    .map(([stack, c]) => ({ stack, records: c.records / dumps.length, pages: c.pages / dumps.length }))
    .sort((a, b) => (a.stack === OTHER_STACK ? 1 : 0) - (b.stack === OTHER_STACK ? 1 : 0) || b[by] - a[by]);
}

/** Where a stack string is long, the line names its first frames (enough to tell it from `other`, when given). */
export const shortStack = (stack: string, other?: string, frames = 4) => {
  const parts = stack.split(' < ');
  const theirs = other?.split(' < ') ?? [];
  const differ = parts.findIndex((f, i) => f !== theirs[i]);
  // a stack that is a prefix of the other is named whole
  const keep = other === undefined ? frames : differ < 0 ? parts.length : Math.max(frames, differ + 1);
  return parts.length > keep ? `${parts.slice(0, keep).join(' < ')} < ...` : stack;
};

function callSiteLines(c: Omit<CallSites, 'lines'>, labels: string[], thresholdPct: number): string[] {
  const lines: string[] = [];
  for (let i = 1; i < labels.length; i++) {
    const [ra, rb, sa, sb, ta, tb] = [c.records[i - 1], c.records[i], c.sets[i - 1], c.sets[i], c.top[i - 1], c.top[i]];
    const moved = (a?: Spread, b?: Spread) => !!a && !!b && movement(a, b, thresholdPct) !== 'same';
    const topA = ta?.find((r) => r.stack !== OTHER_STACK);
    const topB = tb?.find((r) => r.stack !== OTHER_STACK);
    const newTop = !!topA && !!topB && topA.stack !== topB.stack;
    if (!moved(ra, rb) && !moved(sa, sb) && !newTop) continue;
    const noteOf: Partial<Record<Movement, string>> = { changed: ' (flagged)', unsure: ' (no noise estimate)', noise: ' (within noise)' };
    const count = (a: Spread | undefined, b: Spread | undefined, what: string) => (a && b ? [`${fmtNum(a.median)} -> ${fmtNum(b.median)} ${what}${noteOf[movement(a, b, thresholdPct)] ?? ''}`] : []);
    let line = `${c.scenario}, order ${c.order} (${labels[i - 1]} -> ${labels[i]}): ${[...count(sa, sb, 'sets'), ...count(ra, rb, 'live records')].join(', ')}`;
    if (newTop) line += `; new top stack: ${shortStack(topB.stack, topA.stack)} (${fmtNum(Math.round(topB.records))} records; was ${shortStack(topA.stack, topB.stack)})`;
    else if (topB) line += `; top stack: ${shortStack(topB.stack)} (${fmtNum(Math.round(topA?.records ?? 0))} -> ${fmtNum(Math.round(topB.records))} records)`;
    lines.push(line);
  }
  return lines;
}

/** The baseline for a column: the same kernel, else the same series and flavor, else the baseline's only kernel. */
function baselineFor(col: Column, base: Group[]): Group | undefined {
  return (
    base.find((b) => b.column.label === col.label) ??
    base.find((b) => series(b.column.release) === series(col.release) && b.column.flavor === col.flavor) ??
    (base.length === 1 ? base[0] : undefined)
  );
}

/** Error codes of a scenario ERROR that say the kernel misbehaved: a result, never infrastructure. */
const KERNEL_ERROR_CODES = new Set(['KERNEL_ERROR', 'GUEST_PANIC']);

/** An ERROR the lab caused or met (guest lost without a kernel report, SSH, boot), not the kernel under test. */
export function infrastructureError(s: { status: string; error?: { code: string; message: string }; kernelReport?: string[] }): string | undefined {
  if (s.status !== 'ERROR' || s.kernelReport?.length || !s.error || KERNEL_ERROR_CODES.has(s.error.code)) return undefined;
  return `${s.error.code}: ${s.error.message}`;
}

/** What one sample says of one known issue. */
function knownIssueOutcome(s: ScenarioResult, title: string): string {
  const hit = s.knownIssue?.title === title;
  if (s.regression?.includes(`"${title}"`)) return hit ? 'REGRESSION (hit)' : `REGRESSION (${s.status})`;
  if (hit) return 'hit';
  if (s.status === 'PASS') return 'clean';
  if (s.status === 'SKIP') return 'SKIP';
  return `${s.status} (${s.kernelReport?.length ? 'another report' : 'no match'})`;
}

/** The known-issue table: one row per scenario and known issue the results carry, one cell per column. */
function knownIssueRows(groups: Group[], names: string[]): KnownIssueRow[] {
  const rows: KnownIssueRow[] = [];
  for (const scenario of names) {
    const samples = groups.map((g) => samplesOf(g, scenario));
    const all = samples.flat().sort((a, b) => a.run.startedAt.localeCompare(b.run.startedAt));
    const titles = [...new Set(all.flatMap(({ s }) => [...(s.knownIssues ?? []).map((k) => k.title), ...(s.knownIssue ? [s.knownIssue.title] : [])]))];
    for (const title of titles) {
      const record = all.flatMap(({ s }) => (s.knownIssues ?? []).filter((k) => k.title === title)).at(-1);
      const cells = samples.map((list) => (list.length ? verdictSummaryOf(list.map(({ s }) => knownIssueOutcome(s, title))) : undefined));
      const regressions = groups.flatMap((g, i) => (cells[i]?.includes('REGRESSION') ? [g.column.label] : []));
      rows.push({ scenario, title, ...(record ? { record } : {}), cells, regressions });
    }
  }
  return rows;
}

/** "hit" when all agree, else "hit 2/3, clean 1/3" (in order of first appearance). */
function verdictSummaryOf(outcomes: string[]): string {
  const kinds = [...new Set(outcomes)];
  return kinds.length === 1 ? kinds[0]! : kinds.map((k) => `${k} ${outcomes.filter((x) => x === k).length}/${outcomes.length}`).join(', ');
}

interface GateOptions {
  tolerancePct: number;
  profile?: NoiseProfile;
  expectScenarios?: string[];
}

function gate(groups: Group[], baseline: ReportInput[], registry: MetricRegistry, o: GateOptions): Gate {
  const base = groupInputs(baseline, 'kernel');
  const regressions: Regression[] = [];
  const gated: GatedMetric[] = [];
  const missing: Gate['missing'] = [];
  const infrastructure: Gate['infrastructure'] = [];
  const unmatched: string[] = [];
  for (const g of groups) {
    const b = baselineFor(g.column, base);
    const expected = [...new Set([...(b ? b.inputs.flatMap((i) => i.result.scenarios.map((s) => s.name)) : []), ...(o.expectScenarios ?? [])])].sort();
    for (const name of expected) if (!samplesOf(g, name).length) missing.push({ column: g.column.label, scenario: name });
    for (const { s } of g.inputs.flatMap((i) => i.result.scenarios.map((sc) => ({ s: sc })))) {
      const infra = infrastructureError(s);
      if (infra) infrastructure.push({ column: g.column.label, scenario: s.name, what: infra });
    }
    if (!b) {
      unmatched.push(g.column.label);
      continue;
    }
    for (const name of expected) {
      const before = samplesOf(b, name).map(({ s }) => s.status);
      const afterSamples = samplesOf(g, name).map(({ s }) => s);
      // an ERROR of the lab's own is no verdict on the kernel (counted above as infrastructure)
      const after = afterSamples.filter((s) => !infrastructureError(s)).map((s) => s.status);
      if (!after.length) continue;
      // a baseline that did not always pass is flaky there: only a steady PASS is gated
      if (before.length && before.every((s) => s === 'PASS') && after.some((s) => s !== 'PASS')) {
        regressions.push({ column: g.column.label, scenario: name, what: `verdict PASS -> ${verdictSummary(after)} (baseline ${b.column.label})` });
      }
      const mb = metricSamples(b, name, registry);
      const mg = metricSamples(g, name, registry);
      for (const [metric, values] of mg) {
        const sb = spreadOf((mb.get(metric) ?? []).map((v) => v.value));
        const sg = spreadOf(values.map((v) => v.value))!;
        if (!sb) continue;
        const j = gateMetric(sb, sg, o.tolerancePct, bandFor(o.profile, metric, series(b.column.release), name));
        gated.push({ column: g.column.label, scenario: name, metric, value: fmtSpread(sg), ...j });
        if (j.left) {
          regressions.push({
            column: g.column.label,
            scenario: name,
            what: `${metric} ${fmtSpread(sg)} left the baseline's ${fmtSpread(sb)}: allowed ${fmtNum(Math.round(j.low))}..${fmtNum(Math.round(j.high))} (${j.basis})`,
          });
        }
      }
    }
  }
  return { baseline: base.flatMap((b) => b.column.runs), tolerancePct: o.tolerancePct, regressions, metrics: gated, missing, infrastructure, unmatched };
}

export function buildReport(inputs: readonly ReportInput[], registry: MetricRegistry, opts: ReportOptions = {}): Report {
  const thresholdPct = opts.thresholdPct ?? 10;
  const groupBy = opts.groupBy ?? 'kernel';
  const groups = groupInputs(inputs, groupBy);
  const labels = groups.map((g) => g.column.label);
  const names = [...new Set(inputs.flatMap((i) => i.result.scenarios.map((s) => s.name)))].sort();

  const verdicts: VerdictRow[] = names.map((scenario) => {
    const cells = groups.map((g) => {
      const statuses = samplesOf(g, scenario).map(({ s }) => s.status);
      return statuses.length ? { statuses, summary: verdictSummary(statuses) } : undefined;
    });
    const changes: string[] = [];
    for (let i = 1; i < cells.length; i++) {
      const [a, b] = [cells[i - 1]?.summary ?? 'absent', cells[i]?.summary ?? 'absent'];
      if (a !== b) changes.push(`${labels[i - 1]} ${a} -> ${labels[i]} ${b}`);
    }
    return { scenario, cells, changes };
  });

  const metrics: ReportMetricRow[] = [];
  const callSites: CallSites[] = [];
  const kernelStacks: Report['kernelStacks'] = [];
  for (const scenario of names) {
    const perGroup = groups.map((g) => metricSamples(g, scenario, registry));
    const all = [...new Set(perGroup.flatMap((m) => [...m.keys()]))].sort();
    for (const metric of all) {
      const samples = perGroup.map((m) => m.get(metric) ?? []);
      const spreads = samples.map((s) => spreadOf(s.map((x) => x.value)));
      const pairs: MetricPair[] = [];
      for (let i = 1; i < spreads.length; i++) {
        const [a, b] = [spreads[i - 1], spreads[i]];
        if (!a || !b) continue;
        const single = a.n < 2 || b.n < 2;
        // without a profile a single sample has no noise estimate ('unsure'); the CLI always brings one
        const band = single && opts.profile ? bandFor(opts.profile, metric, series(groups[i - 1]!.column.release), scenario).band : undefined;
        pairs.push({ from: i - 1, to: i, movement: movement(a, b, thresholdPct, band), changePct: changePct(a, b), model: single && band ? 'profile' : 'spreads' });
      }
      metrics.push({ scenario, metric, spreads, samples, pairs });
    }
    const orders = new Set<string>();
    for (const g of groups) for (const { s } of samplesOf(g, scenario)) for (const o of Object.keys(s.observations.debugfs?.stacks ?? {})) orders.add(o);
    for (const order of [...orders].sort((a, b) => Number(a) - Number(b))) {
      const spreadFor = (metric: string) => groups.map((_, i) => metrics.find((m) => m.scenario === scenario && m.metric === metric)?.spreads[i]);
      const recordSpreads = groups.map((g) =>
        spreadOf(samplesOf(g, scenario).flatMap(({ s }) => (judged(s) && s.observations.debugfs ? [s.observations.debugfs.byOrder[order] ?? 0] : []))),
      );
      const c = { scenario, order, records: recordSpreads, sets: spreadFor(`bpf.set[${order}]`), top: groups.map((g) => meanStacks(g, scenario, (d) => (d.stacks ? (d.stacks[order] ?? []) : undefined))) };
      callSites.push({ ...c, lines: callSiteLines(c, labels, thresholdPct) });
    }
    const shown = groups.map((g) => meanStacks(g, scenario, (d) => d.showStacks, 'pages'));
    if (shown.some(Boolean)) kernelStacks.push({ scenario, top: shown });
  }

  const options = [...new Set(groups.flatMap((g) => Object.keys(g.column.config ?? {})))].sort();
  const configDiff = options
    .map((option) => ({ option, values: groups.map((g) => (g.column.config ? (g.column.config[option] ?? ABSENT) : undefined)) }))
    .filter((d) => new Set(d.values.filter((v) => v !== undefined)).size > 1);
  const events = [...new Set(groups.flatMap((g) => (g.column.probeMap ?? []).map((p) => p.event)))];
  const probes = events.map((event) => ({
    event,
    values: groups.map((g) => {
      const p = g.column.probeMap?.find((e) => e.event === event);
      return p && `${p.status}${p.function ? ` (${p.function})` : ''}`;
    }),
  }));
  const days = new Set(inputs.map((i) => i.result.startedAt.slice(0, 10)));

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    thresholdPct,
    groupBy,
    columns: groups.map((g) => g.column),
    verdicts,
    metrics,
    flagged: metrics.reduce((n, m) => n + m.pairs.filter((p) => p.movement === 'changed').length, 0),
    singleSamples: metrics.some((m) => m.spreads.some((s) => s?.n === 1)),
    ...(opts.profile ? { noiseProfile: opts.profile.file } : {}),
    callSites,
    kernelStacks,
    configDiff,
    probes,
    knownIssues: knownIssueRows(groups, names),
    spansDates: days.size > 1,
    ...(opts.baseline || opts.expectScenarios
      ? { gate: gate(groups, opts.baseline ?? [], registry, { tolerancePct: opts.tolerancePct ?? 10, profile: opts.profile, expectScenarios: opts.expectScenarios }) }
      : {}),
  };
}
