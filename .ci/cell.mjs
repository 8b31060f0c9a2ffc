#!/usr/bin/env node
// One cell of the nightly matrix: lab run on the cell's kernel, flavor and scenarios (the CELL_*
// variables lab matrix gives), results into LAB_RESULTS_DIR. The kernel comes from the build job's
// kernel-artifact/ (restored into the lab cache), never built here (lab run --no-build: a kernel that
// did not arrive is exit 3). A failed expectation (exit 1) is a
// result, not a broken job: the report job judges it against the baseline. Infrastructure (exit 3:
// a mirror that did not answer, a lost guest, a boot timeout) is retried once; the retry's results
// replace the first try's, which move to LAB_RESULTS_DIR.first-try/ (kept as an artifact, never
// merged). Anything else (bad input 2, host set-up 4) fails the job at once.
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';

const { CELL_NAME, CELL_KERNEL, CELL_FLAVOR, CELL_SCENARIOS, CELL_SHARD, LAB_RESULTS_DIR } = process.env;
if (!CELL_KERNEL || !CELL_FLAVOR || !CELL_SCENARIOS) {
  console.error('.ci/cell.mjs: CELL_KERNEL, CELL_FLAVOR and CELL_SCENARIOS must be set (lab matrix gives them)');
  process.exit(2);
}
console.log(`cell ${CELL_NAME}: kernel ${CELL_KERNEL}, flavor ${CELL_FLAVOR}, shard ${CELL_SHARD}: ${CELL_SCENARIOS}`);
const scenarios = CELL_SCENARIOS.split(',').flatMap((s) => ['--scenario', s]);
// the build job's kernel into the lab cache (an entry already there is the same content: its name is its key)
const artifact = join('kernel-artifact', 'kernels');
if (existsSync(artifact)) {
  const kernels = join(process.env.LAB_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'page-owner-lab'), 'kernels');
  for (const name of readdirSync(artifact)) {
    if (name !== 'index' && !existsSync(join(kernels, name))) cpSync(join(artifact, name), join(kernels, name), { recursive: true });
  }
  cpSync(join(artifact, 'index'), join(kernels, 'index'), { recursive: true });
  console.log(`kernel from the build job: ${readdirSync(artifact).filter((n) => n !== 'index').join(', ')}`);
}
const results = LAB_RESULTS_DIR ?? 'results';
const entries = () => (existsSync(results) ? readdirSync(results) : []);

const tries = Number(process.env.CELL_TRIES ?? 2);
let exitCode = 3;
for (let attempt = 1; attempt <= tries; attempt++) {
  const before = new Set(entries());
  const run = await $({ stdio: 'inherit', nothrow: true })`npm run -s lab -- run --no-build --kernel ${CELL_KERNEL} --flavor ${CELL_FLAVOR} ${scenarios}`;
  exitCode = run.exitCode ?? 3;
  if (exitCode !== 3 || attempt === tries) break;
  // the first try's results go aside: lab merge must see one try of each cell
  const aside = `${results}.first-try`;
  mkdirSync(aside, { recursive: true });
  for (const e of entries().filter((e) => !before.has(e))) renameSync(join(results, e), join(aside, e));
  console.log(`cell ${CELL_NAME}: infrastructure failure (exit 3), retrying once; the first try's results are in ${aside}`);
}
if (exitCode === 1) console.log('expectations failed: recorded in the results; the report job compares them with the baseline');
process.exit(exitCode === 1 ? 0 : exitCode);
