/**
 * Kernel against kernel: where allocation behaviour moved between two runs.
 * For every scenario in both, the verdicts (PASS -> FAIL is a regression)
 * and every metric the scenario's expectations and the lab's cross-checks
 * used, plus the per-order counts of the module and bpftrace, side by side.
 */
import type { RunResult } from './result.ts';

export type Change = 'regression' | 'fixed' | 'same' | 'new' | 'gone';

export interface MetricRow {
  scenario: string;
  metric: string;
  a?: number;
  b?: number;
  /** (b - a) / a in percent, when both exist and a is not 0. */
  changePct?: number;
  moved: boolean;
}

export interface ScenarioRow {
  scenario: string;
  a?: string;
  b?: string;
  change: Change;
}

export interface Comparison {
  a: { runId: string; kernel: string };
  b: { runId: string; kernel: string };
  scenarios: ScenarioRow[];
  metrics: MetricRow[];
  regressions: number;
  /** Relative change (percent) above which a metric counts as moved. */
  thresholdPct: number;
}

type Scenario = RunResult['scenarios'][number];

/** Every named value a scenario's verdicts used, and its per-order counters. */
export function scenarioMetrics(s: Scenario): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])]) {
    for (const [k, v] of Object.entries(e.values)) out.set(k, v);
  }
  for (const row of s.observations.module?.rows ?? []) out.set(`module.seen[${row.order}]`, row.seen);
  for (const [name, map] of Object.entries(s.observations.bpf?.maps ?? {})) {
    if (!['set', 'reset'].includes(name)) continue;
    for (const [order, v] of Object.entries(map)) out.set(`bpf.${name}[${order}]`, v);
  }
  return out;
}

const isPass = (s?: string) => s === 'PASS' || s === 'SKIP';

export function compareRuns(a: RunResult, b: RunResult, thresholdPct = 10): Comparison {
  const byName = (r: RunResult) => new Map(r.scenarios.map((s) => [s.name, s]));
  const sa = byName(a);
  const sb = byName(b);
  const names = [...new Set([...sa.keys(), ...sb.keys()])].sort();
  const scenarios: ScenarioRow[] = names.map((name) => {
    const x = sa.get(name)?.status;
    const y = sb.get(name)?.status;
    const change: Change = !x ? 'new' : !y ? 'gone' : x === y ? 'same' : isPass(x) && !isPass(y) ? 'regression' : !isPass(x) && isPass(y) ? 'fixed' : 'same';
    return { scenario: name, a: x, b: y, change };
  });
  const metrics: MetricRow[] = [];
  for (const name of names) {
    const x = sa.get(name);
    const y = sb.get(name);
    if (!x || !y) continue;
    const ma = scenarioMetrics(x);
    const mb = scenarioMetrics(y);
    for (const metric of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const va = ma.get(metric);
      const vb = mb.get(metric);
      const changePct = va !== undefined && vb !== undefined && va !== 0 ? ((vb - va) / Math.abs(va)) * 100 : undefined;
      const moved = va === undefined || vb === undefined ? true : changePct === undefined ? vb !== 0 : Math.abs(changePct) > thresholdPct;
      metrics.push({ scenario: name, metric, a: va, b: vb, changePct, moved });
    }
  }
  return {
    a: { runId: a.runId, kernel: a.kernel?.release ?? a.kernelSpec },
    b: { runId: b.runId, kernel: b.kernel?.release ?? b.kernelSpec },
    scenarios,
    metrics,
    regressions: scenarios.filter((s) => s.change === 'regression').length,
    thresholdPct,
  };
}

/** A Markdown report: verdict changes first, then the metrics that moved (all of them with `all`). */
export function renderComparison(c: Comparison, opts: { all?: boolean } = {}): string {
  const fmt = (v?: number) => (v === undefined ? '-' : String(Math.round(v * 100) / 100));
  const lines = [
    `# ${c.a.kernel} -> ${c.b.kernel}`,
    '',
    `Runs ${c.a.runId} and ${c.b.runId}. ${c.regressions} regression(s).`,
    '',
    `| scenario | ${c.a.kernel} | ${c.b.kernel} | change |`,
    '|---|---|---|---|',
    ...c.scenarios.map((s) => `| ${s.scenario} | ${s.a ?? '-'} | ${s.b ?? '-'} | ${s.change === 'same' ? '' : `**${s.change}**`} |`),
    '',
  ];
  const rows = c.metrics.filter((m) => opts.all || m.moved);
  lines.push(
    opts.all ? '## Metrics' : `## Metrics that moved by more than ${c.thresholdPct} %`,
    '',
    `| scenario | metric | ${c.a.kernel} | ${c.b.kernel} | change |`,
    '|---|---|---|---|---|',
    ...rows.map((m) => `| ${m.scenario} | \`${m.metric}\` | ${fmt(m.a)} | ${fmt(m.b)} | ${m.changePct === undefined ? '' : `${m.changePct > 0 ? '+' : ''}${m.changePct.toFixed(1)} %`} |`),
    '',
  );
  return lines.join('\n');
}
