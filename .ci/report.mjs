#!/usr/bin/env node
// The nightly's report job: usage: node .ci/report.mjs SHARDS BASELINE MERGED REPORT
//   SHARDS/<kernel>-<flavor>/shard-<i>of<N>/<run-id>/   what the cells wrote (their LAB_RESULTS_DIR)
//   BASELINE/<kernel>-<flavor>/                        the last successful nightly's MERGED (may be absent)
// Per kernel build: lab merge of its shards into MERGED/<kernel>-<flavor>, and lab report against the
// baseline's run of that kernel into REPORT/<kernel>-<flavor> (the gate: exit 1 on a regression); then
// one report across all kernels into REPORT/all. The Markdown goes to $GITHUB_STEP_SUMMARY when set.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, glob } from 'zx';

const [shards, baseline, merged, report] = process.argv.slice(2);
if (!report) {
  console.error('usage: node .ci/report.mjs SHARDS BASELINE MERGED REPORT');
  process.exit(2);
}
const lab = $({ stdio: 'inherit', nothrow: true });
const summary = [];
let exitCode = 0;
const groups = existsSync(shards) ? readdirSync(shards).sort() : [];
if (groups.length === 0) {
  console.error(`${shards}: no results of any cell`);
  process.exit(3);
}
for (const group of groups) {
  const runs = (await glob(`${shards}/${group}/*/*/result.json`)).sort().map((f) => f.slice(0, -'/result.json'.length));
  console.log(`${group}: merging ${runs.length} shard(s)`);
  const m = await lab`npm run -s lab -- merge ${runs} --out ${join(merged, group)}`;
  if (m.exitCode !== 0) {
    exitCode ||= m.exitCode;
    continue;
  }
  const base = join(baseline, group);
  if (!existsSync(join(base, 'result.json'))) {
    summary.push(`**${group}**: no baseline (no earlier successful nightly with this kernel): reported without a gate\n`);
    continue;
  }
  const gate = await lab`npm run -s lab -- report ${join(merged, group)} --baseline ${base} --out ${join(report, group)}`;
  if (gate.exitCode !== 0) exitCode = exitCode || gate.exitCode;
  const md = join(report, group, 'report.md');
  summary.push(`## ${group} against the last nightly${gate.exitCode === 1 ? ': regression' : ''}\n\n${existsSync(md) ? readFileSync(md, 'utf8') : '(no report written)'}\n`);
}
const all = await lab`npm run -s lab -- report ${groups.map((g) => join(merged, g)).filter((d) => existsSync(join(d, 'result.json')))} --out ${join(report, 'all')}`;
if (all.exitCode !== 0 && all.exitCode !== 1) exitCode ||= all.exitCode;
const allMd = join(report, 'all', 'report.md');
const text = [existsSync(allMd) ? readFileSync(allMd, 'utf8') : '(no cross-kernel report written)\n', ...summary].join('\n');
if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, text);
else console.log(text);
process.exit(exitCode);
