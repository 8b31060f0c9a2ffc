#!/usr/bin/env node
// The nightly's job matrix, for the CI engine given as the argument. Each kernel series is resolved to
// its exact release once, here (lab keys: the source the cells will use), so every job of one night
// runs the same kernel; one build job per kernel and flavor builds it or takes it from the cache, and
// its shards only boot it (lab run --no-build).
//   github  ->  matrix=<cells> and builds=<kernels>, one JSON line each, for $GITHUB_OUTPUT
//   gitlab  ->  a child pipeline: .ci/gitlab-nightly.yml's jobs, with a build job per kernel and a cell
//               job per shard (parallel:matrix), and the report job's NIGHTLY_MATRIX (the cells to expect)
//   json    ->  the cells, as lab matrix --format json prints them
// KERNELS, FLAVORS, SCENARIOS and SHARDS (a manual run's inputs) override the nightly defaults.
import { $ } from 'zx';
import { stringify } from 'yaml';

const format = process.argv[2];
if (!['github', 'gitlab', 'json'].includes(format)) {
  console.error(`usage: node .ci/matrix.mjs github|gitlab|json (got ${JSON.stringify(format)})`);
  process.exit(2);
}
const env = process.env;
const flavors = (env.FLAVORS || 'lab').split(',').filter(Boolean);
// lts (every LTS series) and newest (the newest series the sources offer, so 7.4 joins the day a Debian
// suite has it) expanded by lab matrix itself
const series = [...new Set(JSON.parse((await $`npm run -s lab -- matrix --kernels ${env.KERNELS || 'lts,newest'} --format json`).stdout).map((c) => c.kernel))];
const builds = [];
for (const kernel of series) {
  for (const flavor of flavors) {
    // stderr carries the source's progress lines; stdout the keys
    const keys = JSON.parse((await $({ stdio: ['ignore', 'pipe', 'inherit'] })`npm run -s lab -- keys --kernel ${kernel} --flavor ${flavor} --json`).stdout);
    const release = keys.kernel.version;
    console.error(`${kernel} (${flavor}): ${release}, kernel key ${keys.kernel.inputsKey}`);
    builds.push({ name: `${release}-${flavor}`, kernel: release, flavor, key: keys.kernel.inputsKey });
  }
}
const releases = [...new Set(builds.map((b) => b.kernel))].join(',');
const args = ['--kernels', releases, '--flavor', flavors.join(','), '--shards', env.SHARDS || '2', ...(env.SCENARIOS ? ['--scenarios', env.SCENARIOS] : [])];
const cells = JSON.parse((await $`npm run -s lab -- matrix ${args} --format json`).stdout);
if (format === 'json') process.stdout.write(`${JSON.stringify(cells, null, 2)}\n`);
else if (format === 'github') process.stdout.write(`matrix=${JSON.stringify({ include: cells })}\nbuilds=${JSON.stringify({ include: builds })}\n`);
else {
  const vars = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
  process.stdout.write(
    stringify({
      include: [{ local: '.ci/gitlab-nightly.yml' }],
      build: { extends: '.build', parallel: { matrix: builds.map((b) => vars({ BUILD_NAME: b.name, BUILD_KERNEL: b.kernel, BUILD_FLAVOR: b.flavor })) } },
      cell: {
        extends: '.cell',
        parallel: {
          matrix: cells.map((c) => vars({ CELL_NAME: c.name, CELL_KERNEL: c.kernel, CELL_FLAVOR: c.flavor, CELL_SCENARIOS: c.scenarios, CELL_SHARD: c.shard, CELL_RESULTS: c.results })),
        },
      },
      report: { variables: { NIGHTLY_MATRIX: JSON.stringify(cells) } },
    }),
  );
}
