#!/usr/bin/env node
// The nightly's follow-up to a regression: usage: node .ci/bisect.mjs MERGED BASELINE OUT
//   MERGED/<kernel>-<flavor>/result.json     the night's merged runs (.ci/report.mjs wrote them)
//   BASELINE/<series>-<flavor>/<run-id>/     the baseline nights of each series
// A scenario that ended in a kernel error on a release whose series has an earlier release that
// passed it in the baseline is bisected across releases (lab bisect --good EARLIER --bad THIS
// --scenario S, results under OUT): the last good and first bad release, the diff and the
// changelog entries between them go into the run summary ($GITHUB_STEP_SUMMARY when set).
// At most BISECT_MAX (default 2) bisections a night; BISECT_ARGS adds options to each lab bisect
// (for example --releases 6.12.113,6.12.115 to bisect among releases already built). Exit: 0 done
// or nothing to bisect; 3 a
// bisection could not run (infrastructure); 2 bad input.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, glob } from 'zx';

const [merged, baseline, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node .ci/bisect.mjs MERGED BASELINE OUT');
  process.exit(2);
}
const max = Number(process.env.BISECT_MAX || 2);
const extra = (process.env.BISECT_ARGS || '').split(/\s+/).filter(Boolean);
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
const series = (v) => v.split('.').slice(0, 2).join('.');
const cmp = (a, b) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
// a kernel error, not the lab's own trouble: a report from the kernel, or a panic
const kernelError = (s) => s.status === 'ERROR' && (s.kernelReport?.length || ['KERNEL_ERROR', 'GUEST_PANIC'].includes(s.error?.code));

const lines = ['## Release bisection of the night\'s kernel errors', ''];
const todo = [];
for (const group of existsSync(merged) ? readdirSync(merged).sort() : []) {
  const file = join(merged, group, 'result.json');
  if (!existsSync(file)) continue;
  const run = read(file);
  const release = run.kernel?.release;
  if (!release) continue;
  for (const s of run.scenarios.filter(kernelError)) {
    const passed = [];
    for (const f of await glob(`${baseline}/${series(release)}-${run.flavor}/*/result.json`)) {
      const b = read(f);
      const r = b.kernel?.release;
      if (r && cmp(r, release) < 0 && b.scenarios.some((x) => x.name === s.name && x.status === 'PASS')) passed.push(r);
    }
    const good = passed.sort(cmp).at(-1);
    if (!good) {
      lines.push(`- ${release} ${s.name}: a kernel error, and no earlier ${series(release)} release passed it in the baseline: nothing to bisect`);
      continue;
    }
    todo.push({ good, bad: release, scenario: s.name, flavor: run.flavor });
  }
}
let exitCode = 0;
if (!todo.length) lines.push('', 'Nothing to bisect: no kernel error on a release whose series passed the scenario before.');
for (const t of todo.slice(0, max)) {
  console.log(`bisecting ${t.scenario} from ${t.good} to ${t.bad} (${t.flavor})`);
  const r = await $({ stdio: ['ignore', 'pipe', 'inherit'], nothrow: true, env: { ...process.env, LAB_RESULTS_DIR: out } })`npm run -s lab -- bisect --good ${t.good} --bad ${t.bad} --scenario ${t.scenario} --flavor ${t.flavor} ${extra} -q`;
  process.stdout.write(r.stdout);
  const dir = /results in (\S+)/.exec(r.stdout)?.[1];
  const md = dir && existsSync(join(dir, 'bisect.md')) ? readFileSync(join(dir, 'bisect.md'), 'utf8') : '';
  if (r.exitCode === 2 || r.exitCode === 3 || !md) exitCode = Math.max(exitCode, r.exitCode === 2 ? 2 : 3);
  // the answer, the step table and what changed; the steps and sources stay in the artifact
  lines.push('', `### ${t.bad} ${t.scenario} (good in the baseline on ${t.good})`, '', md ? md.split('\n## Steps')[0].replace(/^# /, '#### ') : `(lab bisect exited ${r.exitCode} without a report)`);
}
if (todo.length > max) lines.push('', `${todo.length - max} more not bisected tonight (BISECT_MAX=${max}): ${todo.slice(max).map((t) => `${t.bad} ${t.scenario}`).join(', ')}`);
const text = `${lines.join('\n')}\n`;
if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, text);
console.log(text);
process.exit(exitCode);
