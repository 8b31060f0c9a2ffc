#!/usr/bin/env node
// The nightly's build job, one per kernel and flavor: lab build (a cache hit when the engine's cache
// has the entry), then the entry and its index record copied to kernel-artifact/, the artifact that
// this kernel's shards restore (.ci/cell.mjs): shards never build (lab run --no-build).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { $ } from 'zx';

const { BUILD_KERNEL, BUILD_FLAVOR } = process.env;
if (!BUILD_KERNEL || !BUILD_FLAVOR) {
  console.error('.ci/build.mjs: BUILD_KERNEL and BUILD_FLAVOR must be set (.ci/matrix.mjs gives them)');
  process.exit(2);
}
const run = await $({ stdio: ['ignore', 'pipe', 'inherit'], nothrow: true })`npm run -s lab -- build --kernel ${BUILD_KERNEL} --flavor ${BUILD_FLAVOR} --json`;
if (run.exitCode !== 0) process.exit(run.exitCode ?? 3);
const build = JSON.parse(run.stdout);
const keys = JSON.parse((await $({ stdio: ['ignore', 'pipe', 'inherit'] })`npm run -s lab -- keys --kernel ${BUILD_KERNEL} --flavor ${BUILD_FLAVOR} --json`).stdout);
const out = join('kernel-artifact', 'kernels');
mkdirSync(join(out, 'index'), { recursive: true });
cpSync(build.buildDir, join(out, basename(build.buildDir)), { recursive: true });
writeFileSync(join(out, 'index', `${keys.kernel.inputsKey}.key`), `${basename(build.buildDir)}\n`);
console.log(`${build.release} (${build.flavor}): ${build.cacheHit ? 'from the cache' : `built in ${Math.round(build.buildSeconds)} s`}; ${basename(build.buildDir)} -> ${dirname(out)}/ for the shards`);
