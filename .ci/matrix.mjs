#!/usr/bin/env node
// The nightly's job matrix from `lab matrix`, for the CI engine given as the argument:
//   github  ->  matrix=<one JSON line>, for $GITHUB_OUTPUT (strategy.matrix reads it with fromJSON)
//   gitlab  ->  a child pipeline: .ci/gitlab-nightly.yml's cell job with lab matrix's parallel:matrix block,
//               and the report job's NIGHTLY_MATRIX (the cells to expect: a missing one makes the night incomplete)
// KERNELS, SCENARIOS and SHARDS (a manual run's inputs) override the nightly defaults.
import { $ } from 'zx';
import { parse, stringify } from 'yaml';

const format = process.argv[2];
if (format !== 'github' && format !== 'gitlab') {
  console.error(`usage: node .ci/matrix.mjs github|gitlab (got ${JSON.stringify(format)})`);
  process.exit(2);
}
const env = process.env;
const args = ['--kernels', env.KERNELS || '6.1,6.6,6.12', '--shards', env.SHARDS || '2', ...(env.SCENARIOS ? ['--scenarios', env.SCENARIOS] : [])];
const { stdout } = await $`npm run -s lab -- matrix ${args} --format ${format}`;
if (format === 'github') process.stdout.write(`matrix=${stdout.trim()}\n`);
else {
  const cells = (await $`npm run -s lab -- matrix ${args} --format json`).stdout.trim();
  process.stdout.write(stringify({ include: [{ local: '.ci/gitlab-nightly.yml' }], cell: { extends: '.cell', ...parse(stdout) }, report: { variables: { NIGHTLY_MATRIX: cells } } }));
}
