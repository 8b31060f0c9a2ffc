#!/usr/bin/env node
// The lab's own cache keys for this cell (lab keys: the kernel build's index key, the image key, the
// compiler), printed and, on GitHub, written to $GITHUB_OUTPUT for actions/cache.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { $ } from 'zx';

const { CELL_KERNEL, CELL_FLAVOR, GITHUB_OUTPUT } = process.env;
if (!CELL_KERNEL || !CELL_FLAVOR) {
  console.error('.ci/keys.mjs: CELL_KERNEL and CELL_FLAVOR must be set (lab matrix gives them)');
  process.exit(2);
}
const keys = JSON.parse((await $`npm run -s lab -- keys --kernel ${CELL_KERNEL} --flavor ${CELL_FLAVOR} --json`).stdout);
const outputs = {
  kernel: keys.kernel.inputsKey,
  image: keys.image.key,
  // ccache entries are only reusable with the same compiler
  compiler: createHash('sha256').update(keys.kernel.compiler).digest('hex').slice(0, 16),
};
console.log(`kernel ${keys.kernel.version} (${keys.kernel.flavor}): ${outputs.kernel}\nimage ${keys.image.name}: ${outputs.image}\ncompiler ${keys.kernel.compiler}: ${outputs.compiler}`);
if (GITHUB_OUTPUT) appendFileSync(GITHUB_OUTPUT, Object.entries(outputs).map(([k, v]) => `${k}=${v}\n`).join(''));
