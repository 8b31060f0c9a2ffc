/**
 * Kernel against kernel: where allocation behaviour moved between two runs.
 * For every scenario in both, the verdicts (PASS -> FAIL is a regression)
 * and every metric the scenario's expectations and the lab's cross-checks
 * used, plus the per-order counts of the module and bpftrace, side by side
 * (the medians of their repetitions), computed by lab report's code.
 */
import type { MetricRegistry } from '../metrics/registry.ts';
import type { Movement } from './noise.ts';
import { buildReport } from './report.ts';
import type { RunResult } from './result.ts';

/** regression: PASS became anything else (FAIL, ERROR, SKIP); fixed: became PASS; changed: any other move. */
type Change = 'regression' | 'fixed' | 'changed' | 'same' | 'new' | 'gone';

export interface MetricRow {
  scenario: string;
  metric: string;
  a?: number;
  b?: number;
  /** (b - a) / a in percent, when both exist and a is not 0. */
  changePct?: number;
  moved: boolean;
  /** With repetitions on both sides: changed (flagged), noise, or unsure (one sample). */
  movement?: Movement;
}

interface ScenarioRow {
  scenario: string;
  a?: string;
  b?: string;
  change: Change;
}

export interface RunComparison {
  a: { runId: string; kernel: string };
  b: { runId: string; kernel: string };
  scenarios: ScenarioRow[];
  metrics: MetricRow[];
  regressions: number;
  /** Relative change (percent) above which a metric counts as moved. */
  thresholdPct: number;
}

export function verdictChange(x?: string, y?: string): Change {
  if (!x) return 'new';
  if (!y) return 'gone';
  if (x === y) return 'same';
  if (x === 'PASS') return 'regression';
  if (y === 'PASS') return 'fixed';
  return 'changed';
}

/** The two-run shorthand of `lab report`: the same columns, metrics and noise model, one column per run. */
export function compareRuns(a: RunResult, b: RunResult, registry: MetricRegistry, thresholdPct = 10): RunComparison {
  const r = buildReport(
    [
      { source: a.runId, result: a },
      { source: b.runId, result: b },
    ],
    registry,
    { thresholdPct, groupBy: 'input' },
  );
  const scenarios: ScenarioRow[] = r.verdicts.map((v) => {
    const [x, y] = [v.cells[0]?.summary, v.cells[1]?.summary];
    return { scenario: v.scenario, a: x, b: y, change: verdictChange(x, y) };
  });
  const metrics: MetricRow[] = r.metrics
    .filter((m) => m.spreads[0] && m.spreads[1])
    .map((m) => {
      const [va, vb] = [m.spreads[0]!.median, m.spreads[1]!.median];
      const pair = m.pairs[0]!;
      return { scenario: m.scenario, metric: m.metric, a: va, b: vb, ...(va !== 0 ? { changePct: pair.changePct } : {}), moved: pair.movement !== 'same', movement: pair.movement };
    });
  // a metric only one side has (a hook missing on one kernel) moved by definition, in a scenario both ran
  const both = new Set(scenarios.filter((s) => s.a && s.b).map((s) => s.scenario));
  for (const m of r.metrics.filter((x) => both.has(x.scenario) && !x.spreads[0] !== !x.spreads[1])) metrics.push({ scenario: m.scenario, metric: m.metric, a: m.spreads[0]?.median, b: m.spreads[1]?.median, moved: true });
  metrics.sort((x, y) => x.scenario.localeCompare(y.scenario) || x.metric.localeCompare(y.metric));
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
export function renderComparison(c: RunComparison, opts: { all?: boolean } = {}): string {
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
