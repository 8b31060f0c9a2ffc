import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import { listCache } from '../../lab/kernel/cache.ts';
import { lab } from '../helpers/cli.ts';

const BEFORE = ['--kconfig', 'CONFIG_CMA_SYSFS=y'];
const OPTION = 'CONFIG_CMA_DEBUGFS=y';
const cacheDir = resolveConfig().paths.cache;
// Seeding a kept tree is one whole build (10-20 minutes cold): this test only runs where a
// 6.12 lab-flavor tree is already there (any 6.12 miss makes one), else it is skipped.
const seeded = (await listCache(cacheDir)).some((e) => e.kind === 'tree' && /^6\.12\.\d+-lab-/.test(e.name) && e.detail.startsWith('config '));

interface Built {
  cacheHit: boolean;
  buildDir: string;
  buildSeconds: number;
  tree?: { incremental: boolean; compiled: number };
}

/** lab build of 6.12 with these options, always a miss: the entry the config had from an earlier run goes first. */
async function rebuild(kconfig: string[]): Promise<Built> {
  const keys = await lab(['keys', '--kernel', '6.12', ...kconfig, '--json']);
  expect(keys.exitCode, keys.stderr).toBe(0);
  const inputsKey = (JSON.parse(keys.stdout) as { kernel: { inputsKey: string } }).kernel.inputsKey;
  const entry = await readFile(join(cacheDir, 'kernels', 'index', `${inputsKey}.key`), 'utf8').catch(() => undefined);
  if (entry) rmSync(join(cacheDir, 'kernels', entry.trim()), { recursive: true, force: true });
  const r = await lab(['build', '--kernel', '6.12', ...kconfig, '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Built;
}

/** A one-option change rebuilt in the kept tree of the lab's 6.12 build: minutes, not a whole build. */
describe.skipIf(!seeded)('a rebuild after a one-option change, in a seeded kept tree', () => {
  it(`--kconfig ${OPTION}: recompiles what the option touches, the entry has it, the kernel boots with it`, async () => {
    // the tree at a known config first (a few files from wherever an earlier run left it), then one option more
    expect((await rebuild(BEFORE)).tree).toMatchObject({ incremental: true });
    const build = await rebuild([...BEFORE, '--kconfig', OPTION]);
    expect(build.cacheHit).toBe(false);
    expect(build.tree).toMatchObject({ incremental: true });
    // mm/cma.c, cma_sysfs.c, cma_debug.c (mm/cma.h tests the option), kernel/configs.c, the boot stub; not the ~1,450 of a whole build
    expect(build.tree!.compiled).toBeGreaterThan(0);
    expect(build.tree!.compiled).toBeLessThan(50);
    expect(build.buildSeconds).toBeLessThan(180);
    expect(readFileSync(join(build.buildDir, '.config'), 'utf8')).toMatch(/^CONFIG_CMA_DEBUGFS=y$/m);

    const boot = await lab(['exec', '--kernel', '6.12', ...BEFORE, '--kconfig', OPTION, '-q', '--', 'uname -r; test -d /sys/kernel/debug/cma && echo cma-debugfs']);
    expect(boot.exitCode, boot.stderr).toBe(0);
    expect(boot.stdout).toMatch(/^6\.12\.\d+\ncma-debugfs$/);
  });
});
