/**
 * Kernel against kernel: where allocation behaviour moved between two runs.
 * For every scenario in both, the verdicts (PASS -> FAIL is a regression)
 * and every metric the scenario's expectations and the lab's cross-checks
 * used, plus the per-order counts of the module and bpftrace, side by side.
 */
import type { MetricRegistry } from '../metrics/registry.ts';
import type { RunResult } from './result.ts';

/** regression: PASS became anything else (FAIL, ERROR, SKIP); fixed: became PASS; changed: any other move. */
export type Change = 'regression' | 'fixed' | 'changed' | 'same' | 'new' | 'gone';

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

/**
 * Every named value a scenario's verdicts used, and its per-order counters
 * (module seen, bpftrace set and reset), read through the metric registry.
 */
export function scenarioMetrics(s: Scenario, registry: MetricRegistry): Map<string, number> {
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

export function verdictChange(x?: string, y?: string): Change {
  if (!x) return 'new';
  if (!y) return 'gone';
  if (x === y) return 'same';
  if (x === 'PASS') return 'regression';
  if (y === 'PASS') return 'fixed';
  return 'changed';
}

export function compareRuns(a: RunResult, b: RunResult, registry: MetricRegistry, thresholdPct = 10): Comparison {
  const byName = (r: RunResult) => new Map(r.scenarios.map((s) => [s.name, s]));
  const sa = byName(a);
  const sb = byName(b);
  const names = [...new Set([...sa.keys(), ...sb.keys()])].sort();
  const scenarios: ScenarioRow[] = names.map((name) => {
    const x = sa.get(name)?.status;
    const y = sb.get(name)?.status;
    return { scenario: name, a: x, b: y, change: verdictChange(x, y) };
  });
  const metrics: MetricRow[] = [];
  for (const name of names) {
    const x = sa.get(name);
    const y = sb.get(name);
    if (!x || !y) continue;
    const ma = scenarioMetrics(x, registry);
    const mb = scenarioMetrics(y, registry);
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
