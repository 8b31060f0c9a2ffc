/**
 * The comparison as one self-contained HTML page: the verdict table, and for
 * every scenario a bar chart (inline SVG, no scripts, no network) of the
 * metrics that moved, base kernel against new kernel.
 */
import type { RunComparison, MetricRow } from './compare.ts';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Horizontal bars on a log scale (counts here span 1 to 100,000), one pair per metric. */
export function barChart(rows: MetricRow[], names: [string, string]): string {
  const label = 260;
  const width = 420;
  const bar = 10;
  const pair = bar * 2 + 8;
  const max = Math.max(1, ...rows.flatMap((r) => [r.a ?? 0, r.b ?? 0]));
  const scale = (v: number) => (v <= 0 ? 0 : (Math.log10(v + 1) / Math.log10(max + 1)) * width);
  const parts: string[] = [];
  rows.forEach((r, i) => {
    const y = 24 + i * pair;
    parts.push(`<text x="${label - 8}" y="${y + bar + 3}" text-anchor="end">${esc(r.metric)}</text>`);
    for (const [j, v] of [r.a, r.b].entries()) {
      const w = scale(v ?? 0);
      parts.push(
        `<rect class="k${j}" x="${label}" y="${y + j * bar}" width="${w.toFixed(1)}" height="${bar - 1}"><title>${esc(names[j]!)}: ${v ?? 'absent'}</title></rect>`,
        `<text x="${label + w + 4}" y="${y + j * bar + bar - 1}" class="v">${v ?? '-'}</text>`,
      );
    }
  });
  const legend = names.map((n, j) => `<rect class="k${j}" x="${label + j * 140}" y="4" width="10" height="10"/><text x="${label + 14 + j * 140}" y="13">${esc(n)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${label + width + 80}" height="${30 + rows.length * pair}" role="img">${legend}${parts.join('')}</svg>`;
}

export function renderHtml(c: RunComparison): string {
  const names: [string, string] = [c.a.kernel, c.b.kernel];
  const scenarios = [...new Set(c.metrics.map((m) => m.scenario))];
  const charts = scenarios
    .map((s) => {
      const rows = c.metrics.filter((m) => m.scenario === s && m.moved);
      return rows.length
        ? `<h3>${esc(s)}</h3>${barChart(rows, names)}`
        : `<h3>${esc(s)}</h3><p>No metric moved by more than ${c.thresholdPct} %.</p>`;
    })
    .join('\n');
  const verdicts = c.scenarios
    .map((s) => `<tr class="${s.change}"><td>${esc(s.scenario)}</td><td>${s.a ?? '-'}</td><td>${s.b ?? '-'}</td><td>${s.change === 'same' ? '' : s.change}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>page-owner-lab: ${esc(c.a.kernel)} -&gt; ${esc(c.b.kernel)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em}
tr.regression td{background:#fdd}tr.fixed td{background:#dfd}svg text{font:11px monospace}svg text.v{fill:#555}
rect.k0{fill:#8da0cb}rect.k1{fill:#fc8d62}
</style></head><body>
<h1>${esc(c.a.kernel)} &rarr; ${esc(c.b.kernel)}</h1>
<p>Runs ${esc(c.a.runId)} and ${esc(c.b.runId)}: <strong>${c.regressions} regression(s)</strong>.</p>
<h2>Verdicts</h2>
<table><tr><th>scenario</th><th>${esc(c.a.kernel)}</th><th>${esc(c.b.kernel)}</th><th>change</th></tr>${verdicts}</table>
<h2>Metrics that moved by more than ${c.thresholdPct} % (log scale)</h2>
${charts}
</body></html>
`;
}
