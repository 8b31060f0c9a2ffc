#!/usr/bin/env node
// One cell of the nightly matrix: lab run on the cell's kernel, flavor and scenarios (the CELL_*
// variables lab matrix gives), results into LAB_RESULTS_DIR. A failed expectation (exit 1) is a
// result, not a broken job: the report job judges it against the last nightly. Anything else
// (bad input 2, infrastructure 3, host set-up 4) fails the job.
import { $ } from 'zx';

const { CELL_NAME, CELL_KERNEL, CELL_FLAVOR, CELL_SCENARIOS, CELL_SHARD } = process.env;
if (!CELL_KERNEL || !CELL_FLAVOR || !CELL_SCENARIOS) {
  console.error('.ci/cell.mjs: CELL_KERNEL, CELL_FLAVOR and CELL_SCENARIOS must be set (lab matrix gives them)');
  process.exit(2);
}
console.log(`cell ${CELL_NAME}: kernel ${CELL_KERNEL}, flavor ${CELL_FLAVOR}, shard ${CELL_SHARD}: ${CELL_SCENARIOS}`);
const scenarios = CELL_SCENARIOS.split(',').flatMap((s) => ['--scenario', s]);
const run = await $({ stdio: 'inherit', nothrow: true })`npm run -s lab -- run --kernel ${CELL_KERNEL} --flavor ${CELL_FLAVOR} ${scenarios}`;
if (run.exitCode === 1) console.log('expectations failed: recorded in the results; the report job compares them with the last nightly');
process.exit(run.exitCode === 1 ? 0 : run.exitCode ?? 1);
