/**
 * report.html: the report as one self-contained page. uPlot (its IIFE build
 * and stylesheet) is inlined with the data as JSON, so the page works from
 * file:// and its Content-Security-Policy forbids any network request. The
 * only script beyond uPlot turns each chart's data into a uPlot instance.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { OTHER_STACK } from '../observe/debugfs.ts';
import { fmtNum, fmtSpread } from './noise.ts';
import { headline, recordText } from './report-markdown.ts';
import type { Report } from './report.ts';

interface ChartAssets {
  js: string;
  css: string;
}

/** uPlot's browser build and stylesheet, from the lab's dependencies. */
export async function uplotAssets(): Promise<ChartAssets> {
  const require = createRequire(import.meta.url);
  const [js, css] = await Promise.all(['uplot/dist/uPlot.iife.min.js', 'uplot/dist/uPlot.min.css'].map((f) => readFile(require.resolve(f), 'utf8')));
  return { js: js!, css: css! };
}

/** What the page's script hands to uPlot: x values, one array per series (null: no value), labels. */
interface ChartSpec {
  id: string;
  title: string;
  /** x: seconds since the epoch (timeline), orders, or column indexes named by xLabels. */
  x: number[];
  series: { label: string; values: (number | null)[] }[];
  log: boolean;
  time: boolean;
  xLabels?: string[];
}

/** Metrics charted at most (flagged first): a page stays readable and light. */
const MAX_CHARTS = 40;

export function reportCharts(r: Report): ChartSpec[] {
  const labels = r.columns.map((c) => c.label);
  const charts: ChartSpec[] = [];
  const positive = (v: number | undefined) => (v !== undefined && v > 0 ? v : null);
  // per scenario, the set events per order (median per column), log scale
  for (const scenario of [...new Set(r.metrics.map((m) => m.scenario))]) {
    const rows = r.metrics.filter((m) => m.scenario === scenario && /^bpf\.set\[\d+\]$/.test(m.metric));
    const orders = rows.map((m) => Number(/\[(\d+)\]/.exec(m.metric)![1])).sort((a, b) => a - b);
    if (!orders.length) continue;
    const series = labels.map((label, i) => ({ label, values: orders.map((o) => positive(rows.find((m) => m.metric === `bpf.set[${o}]`)?.spreads[i]?.median)) }));
    if (series.every((s) => s.values.every((v) => v === null))) continue;
    charts.push({ id: `orders-${charts.length}`, title: `${scenario}: set events per order (median, log scale)`, x: orders, series, log: true, time: false });
  }
  // the metrics that moved: flagged, then without a noise estimate, then within the noise; min, median and max per column
  const rank = (m: Report['metrics'][number]) => Math.min(...m.pairs.map((p) => ['changed', 'unsure', 'noise'].indexOf(p.movement)).filter((i) => i >= 0));
  const ranked = r.metrics
    .filter((m) => Number.isFinite(rank(m)))
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, MAX_CHARTS);
  for (const m of ranked) {
    charts.push({
      id: `spread-${charts.length}`,
      title: `${m.scenario}: ${m.metric} (min, median, max per column)`,
      x: labels.map((_, i) => i),
      series: (['min', 'median', 'max'] as const).map((k) => ({ label: k, values: m.spreads.map((s) => s?.[k] ?? null) })),
      log: false,
      time: false,
      xLabels: labels,
    });
  }
  // history: every sample at its run's start time, one series per column
  if (r.spansDates) {
    for (const m of ranked) {
      const times = [...new Set(m.samples.flat().map((s) => Math.round(Date.parse(s.startedAt) / 1000)))].sort((a, b) => a - b);
      charts.push({
        id: `history-${charts.length}`,
        title: `history: ${m.scenario} ${m.metric}`,
        x: times,
        series: labels.map((label, i) => ({
          label,
          values: times.map((t) => {
            const at = m.samples[i]!.filter((s) => Math.round(Date.parse(s.startedAt) / 1000) === t).map((s) => s.value);
            return at.length ? at.reduce((a, b) => a + b, 0) / at.length : null;
          }),
        })),
        log: false,
        time: true,
      });
    }
  }
  return charts;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const tr = (cells: string[], tag = 'td', cls = '') => `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
const tableOf = (head: string[], rows: string[][]) => `<table>${tr(head.map(esc), 'th')}${rows.map((r) => tr(r)).join('')}</table>`;
const statusCell = (s: string | undefined) => (s ? `<span class="st ${esc(s.split(' ')[0]!)}">${esc(s)}</span>` : '-');

/** Data in a script element: "<" escaped so no string can close it. */
const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** The glue: one uPlot per chart spec, kept on window.labCharts (the browser test reads them). */
const GLUE = `
const D = JSON.parse(document.getElementById('report-data').textContent);
const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];
window.labCharts = D.charts.map((c) => new uPlot({
  title: c.title, width: 560, height: 240,
  scales: { x: { time: c.time, distr: c.xLabels ? 2 : 1 }, y: { distr: c.log ? 3 : 1 } },
  axes: [c.xLabels ? { values: (u, vals) => vals.map((v) => c.xLabels[v] ?? '') } : {}, { size: 90 }],
  series: [{}, ...c.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: true, size: 7 } }))],
}, [c.x, ...c.series.map((s) => s.values)], document.getElementById(c.id)));
`;

export function renderReportHtml(r: Report, assets: ChartAssets): string {
  const labels = r.columns.map((c) => c.label);
  const charts = reportCharts(r);
  const chartDivs = (prefix: string) => charts.filter((c) => c.id.startsWith(prefix)).map((c) => `<div class="chart" id="${c.id}"></div>`).join('\n');
  const lines = headline(r);
  const head = ['scenario', 'metric', ...labels, 'change'];
  const metricRows = (pred: (k: string) => boolean) =>
    r.metrics
      .filter((m) => m.pairs.some((p) => pred(p.movement)))
      .map((m) => [esc(m.scenario), `<code>${esc(m.metric)}</code>`, ...m.spreads.map((s) => esc(fmtSpread(s))), esc(m.pairs.filter((p) => pred(p.movement)).map((p) => `${labels[p.from]} -> ${labels[p.to]}: ${p.movement}${p.model === 'profile' ? ' (noise profile)' : ''} ${p.changePct > 0 ? '+' : ''}${p.changePct.toFixed(1)} %`).join('; '))]);
  const sites = r.callSites.filter((c) => c.lines.length);
  const gate = gateSection(r);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>page-owner-lab report: ${esc(labels.join(', '))}</title>
<style>${assets.css}</style>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}
code,.stack{font:12px monospace}.st{padding:0 .3em;border-radius:3px}.PASS{background:#d9f2d9}.FAIL{background:#f8d0d0}.ERROR{background:#fbd7a8}.SKIP{background:#e4e4e4}
tr.changed td{background:#fff6d6}.bad{color:#b00;font-weight:bold}.good{color:#060}.chart{display:inline-block;margin:.5em}
</style></head><body>
<h1>page-owner-lab report: ${esc(labels.join(', '))}</h1>
<p>${r.columns.reduce((a, c) => a + c.runs.length, 0)} runs, one column per ${r.groupBy === 'kernel' ? 'kernel (release and flavor), in version order' : 'run'}; generated ${esc(r.generatedAt)}.
Noise model: a metric is flagged only when neighbouring columns' spreads (min..max over runs and repetitions) do not overlap and the median moved by more than ${r.thresholdPct} %; with one sample there is no noise estimate and nothing is flagged.
<strong id="flagged-count">${r.flagged} metric change(s) flagged.</strong></p>
${gate}
<h2>Findings</h2>
${lines.length ? `<ul>${lines.map((l) => `<li>${esc(l).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`).join('')}</ul>` : '<p>Nothing flagged.</p>'}
<h2>Verdicts</h2>
${`<table>${tr(['scenario', ...r.columns.map((c) => `${c.label} (${c.runs.length} run${c.runs.length === 1 ? '' : 's'})`), 'changes'].map(esc), 'th')}${r.verdicts.map((v) => tr([esc(v.scenario), ...v.cells.map((c) => statusCell(c?.summary)), esc(v.changes.join('; '))], 'td', v.changes.length ? 'changed' : '')).join('')}</table>`}
<h2>Flagged metrics</h2>
${r.flagged ? tableOf(head, metricRows((k) => k === 'changed')) : '<p>None: no metric moved beyond the noise.</p>'}
<h2>Metrics that moved: flagged, then without a noise estimate, then within the noise (min, median, max per column)</h2>
${chartDivs('spread-') || '<p>None.</p>'}
<h2>Set events per order</h2>
${chartDivs('orders-')}
${r.spansDates ? `<h2>History</h2>\n${chartDivs('history-')}` : ''}
<h2>Call sites (page_owner dump: live records per order, top stacks, mean over the samples)</h2>
${sites.length ? '' : '<p>No top call site or per-order count changed, or no run kept call sites.</p>'}
${callSiteSections(sites, labels)}
${r.kernelStacks.length ? '<h2>page_owner_stacks/show_stacks (6.9+): top stacks by base pages</h2>' : ''}
${kernelStackSections(r, labels)}
${knownIssueSection(r, labels)}
<h2>Probe map</h2>
${tableOf(['event', ...labels], r.probes.map((p) => [esc(p.event), ...p.values.map((v) => esc(v ?? '-'))]))}
<h2>Kernel config: relevant options that differ</h2>
${r.configDiff.length ? tableOf(['option', ...labels], r.configDiff.map((d) => [esc(d.option), ...d.values.map((v) => esc(v ?? '(no kernel.config)'))])) : '<p>None.</p>'}
<details><summary>Every metric that moved by more than ${r.thresholdPct} % (flagged, no noise estimate, within noise)</summary>
${tableOf(head, metricRows((k) => k !== 'same'))}
</details>
<h2>Runs</h2>
${tableOf(['column', 'run', 'started', 'status', 'source'], r.columns.flatMap((c) => c.runs.map((x) => [c.label, x.runId, x.startedAt, x.status, x.source].map(esc))))}
<script type="application/json" id="report-data">${json({ charts })}</script>
<script>${assets.js}</script>
<script>${GLUE}</script>
</body></html>
`;
}

/** The baseline gate: its verdict, what regressed or is missing, and every gated metric with the model that judged it. */
function gateSection(r: Report): string {
  return r.gate
    ? `<h2>Baseline gate</h2><p class="${r.gate.regressions.length ? 'bad' : 'good'}">${r.gate.regressions.length ? `${r.gate.regressions.length} regression(s)` : 'No regression'} against ${r.gate.baseline.length} baseline run(s); tolerance ${r.gate.tolerancePct} %.</p>` +
      (r.gate.regressions.length ? `<ul>${r.gate.regressions.map((x) => `<li>${esc(`${x.column} ${x.scenario}: ${x.what}`)}</li>`).join('')}</ul>` : '') +
      (r.gate.missing.length ? `<p class="bad">Incomplete: ${r.gate.missing.length} scenario(s) missing: ${esc(r.gate.missing.map((m) => `${m.column} ${m.scenario}`).join(', '))}.</p>` : '') +
      (r.gate.infrastructure.length ? `<p class="bad">Infrastructure: ${esc(r.gate.infrastructure.map((m) => `${m.column} ${m.scenario}: ${m.what}`).join('; '))}.</p>` : '') +
      (r.gate.unmatched.length ? `<p>No baseline of the same kernel for ${esc(r.gate.unmatched.join(', '))}.</p>` : '') +
      `<details><summary>${r.gate.metrics.length} metric(s) gated, each with the model that judged it</summary><table><tr><th>kernel</th><th>scenario</th><th>metric</th><th>new</th><th>allowed</th><th>model</th></tr>${r.gate.metrics
        .map((m) => `<tr${m.left ? ' class="bad"' : ''}><td>${esc(m.column)}</td><td>${esc(m.scenario)}</td><td><code>${esc(m.metric)}</code></td><td>${esc(m.value)}</td><td>${esc(`${fmtNum(Math.round(m.low))}..${fmtNum(Math.round(m.high))}`)}</td><td>${esc(m.basis)}</td></tr>`)
        .join('')}</table></details>`
    : '';
}

/** Per scenario and order: the top call sites of the page_owner dump per column. */
function callSiteSections(sites: Report['callSites'], labels: string[]): string {
  return sites
    .map(
      (c) =>
        `<h3>${esc(c.scenario)}, order ${esc(c.order)}</h3><ul>${c.lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` +
        tableOf(
          ['', ...labels],
          [
            ['sets (bpftrace)', ...c.sets.map((s) => esc(fmtSpread(s)))],
            ['live records (dump)', ...c.records.map((s) => esc(fmtSpread(s)))],
            ...[0, 1, 2, 3, 4].map((i) => [
              `top ${i + 1}`,
              ...c.top.map((t) => {
                const row = t?.filter((x) => x.stack !== OTHER_STACK)[i];
                return row ? `${fmtNum(Math.round(row.records))}<br><span class="stack">${esc(row.stack)}</span>` : '-';
              }),
            ]),
          ],
        ),
    )
    .join('\n');
}

/** 6.9+: the kernel's own top stacks by base pages (page_owner_stacks/show_stacks). */
function kernelStackSections(r: Report, labels: string[]): string {
  return r.kernelStacks
    .map(
      (k) =>
        `<h3>${esc(k.scenario)}</h3>` +
        tableOf(
          ['', ...labels],
          [0, 1, 2, 3, 4].map((i) => [
            `top ${i + 1}`,
            ...k.top.map((t) => {
              const row = t?.filter((x) => x.stack !== OTHER_STACK)[i];
              return row ? `${fmtNum(Math.round(row.pages))} pages<br><span class="stack">${esc(row.stack)}</span>` : '-';
            }),
          ]),
        ),
    )
    .join('\n');
}

/** The known issues table: per scenario and issue, per column, hit / clean / REGRESSION, and the record. */
function knownIssueSection(r: Report, labels: string[]): string {
  return r.knownIssues.length
    ? `<h2>Known kernel issues</h2>\n${tableOf(
        ['scenario', 'known issue', ...labels, 'record'],
        r.knownIssues.map((k) => [esc(k.scenario), esc(k.title), ...k.cells.map((c) => (c?.includes('REGRESSION') ? `<strong>${esc(c)}</strong>` : esc(c ?? '-'))), esc(recordText(k.record))]),
      )}`
    : '';
}
