#!/usr/bin/env node
// The nightly's report job: usage: node .ci/report.mjs SHARDS BASELINE MERGED REPORT [MATRIX]
//   SHARDS/<kernel>-<flavor>/shard-<i>of<N>/<run-id>/   what the cells wrote (their LAB_RESULTS_DIR)
//   BASELINE/<series>-<flavor>/<run-id>/               the baseline: the last clean nights of that series (lab baseline keep|accept; may be absent)
//   MATRIX                                             lab matrix --format json of this night: the cells and scenarios to expect
// Per kernel build: lab merge of its shards into MERGED/<kernel>-<flavor>, and lab report against the
// baseline of that kernel into REPORT/<kernel>-<flavor>; then one report across all kernels into
// REPORT/all. The Markdown goes to $GITHUB_STEP_SUMMARY when set.
// Exit: 0 clean; 1 a regression (a verdict left PASS, a metric left the noise; kernel errors are
// results); 3 incomplete (a cell, shard or scenario of the matrix missing) or infrastructure: such
// a night must never become the baseline.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, glob } from 'zx';

const [shards, baseline, merged, report, matrixFile] = process.argv.slice(2);
if (!report) {
  console.error('usage: node .ci/report.mjs SHARDS BASELINE MERGED REPORT [MATRIX]');
  process.exit(2);
}
const lab = $({ stdio: 'inherit', nothrow: true });
const summary = [];
// the worst outcome wins: 3 incomplete or infrastructure, then 2 bad input, then 1 regression
let exitCode = 0;
const worst = (code) => (exitCode = Math.max(exitCode, code ?? 3));

// lab matrix's JSON list, or the GitHub form {"include": [...]}
const matrix = matrixFile ? JSON.parse(readFileSync(matrixFile, 'utf8')) : undefined;
const cells = matrix && (Array.isArray(matrix) ? matrix : matrix.include);
const found = existsSync(shards) ? readdirSync(shards).sort() : [];
const groups = [...new Set([...found, ...(cells ?? []).map((c) => c.results.split('/')[0])])].sort();
const incomplete = [];
for (const c of cells ?? []) {
  if (!(await glob(`${join(shards, c.results)}/*/result.json`)).length) incomplete.push(`cell ${c.name}: no results in ${join(shards, c.results)} (scenarios ${c.scenarios})`);
}
if (groups.length === 0) {
  console.error(`${shards}: no results of any cell`);
  process.exit(3);
}
for (const group of groups) {
  const runs = (await glob(`${shards}/${group}/*/*/result.json`)).sort().map((f) => f.slice(0, -'/result.json'.length));
  if (!runs.length) continue;
  console.log(`${group}: merging ${runs.length} shard(s)`);
  const m = await lab`npm run -s lab -- merge ${runs} --out ${join(merged, group)}`;
  if (m.exitCode !== 0) {
    worst(m.exitCode);
    continue;
  }
  const expected = [...new Set((cells ?? []).filter((c) => c.results.split('/')[0] === group).flatMap((c) => c.scenarios.split(',')))];
  const expect = expected.length ? ['--expect-scenarios', expected.join(',')] : [];
  // the baseline is kept per series: a new stable release is gated against the last one, and accepted explicitly
  const base = join(baseline, group.replace(/^(\d+\.\d+)(\.\d+)?-/, '$1-'));
  const hasBase = existsSync(base) && (await glob(`${base}/**/result.json`)).length > 0;
  if (!hasBase) summary.push(`**${group}**: no baseline (no earlier accepted nightly with this kernel): reported without a metric gate\n`);
  const gate = await lab`npm run -s lab -- report ${join(merged, group)} ${hasBase ? ['--baseline', base] : []} ${expect} --out ${join(report, group)}`;
  worst(gate.exitCode);
  const md = join(report, group, 'report.md');
  const verdict = gate.exitCode === 1 ? ': regression' : gate.exitCode === 3 ? ': incomplete' : '';
  summary.push(`## ${group}${hasBase ? ' against the baseline' : ''}${verdict}\n\n${existsSync(md) ? readFileSync(md, 'utf8') : '(no report written)'}\n`);
}
const all = await lab`npm run -s lab -- report ${groups.map((g) => join(merged, g)).filter((d) => existsSync(join(d, 'result.json')))} --out ${join(report, 'all')}`;
if (all.exitCode !== 0 && all.exitCode !== 1) worst(all.exitCode);
if (incomplete.length) {
  worst(3);
  console.error(`incomplete night: ${incomplete.length} cell(s) missing\n${incomplete.map((l) => `  ${l}\n`).join('')}`);
}
const allMd = join(report, 'all', 'report.md');
const head = incomplete.length ? `**Incomplete night** (exit 3, never a baseline):\n\n${incomplete.map((l) => `- ${l}`).join('\n')}\n\n` : '';
const text = [head + (existsSync(allMd) ? readFileSync(allMd, 'utf8') : '(no cross-kernel report written)\n'), ...summary].join('\n');
if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, text);
else console.log(text);
process.exit(exitCode);
