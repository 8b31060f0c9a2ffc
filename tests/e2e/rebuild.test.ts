import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePaths } from '../../lab/core/paths.ts';
import { listCache } from '../../lab/kernel/cache.ts';
import { lab } from '../helpers/cli.ts';

const OPTION = 'CONFIG_CMA_DEBUGFS=y';
const cacheDir = resolvePaths().cache;
// Seeding a kept tree is one whole build (10-20 minutes cold): this test only runs where a
// 6.12 lab-flavor tree is already there (any cache miss of 6.12 builds one), else it is skipped.
const seeded = (await listCache(cacheDir)).some((e) => e.kind === 'tree' && /^6\.12\.\d+-lab-/.test(e.name) && e.detail.startsWith('config '));

/** A one-option change rebuilt in the kept tree of the lab's 6.12 build: minutes, not a whole build. */
describe.skipIf(!seeded)('a rebuild after a one-option change, in a seeded kept tree', () => {
  it(`--kconfig ${OPTION}: recompiles what the option touches, the entry has it, the kernel boots with it`, async () => {
    // a miss every time: the entry this config had from an earlier run goes first
    const keys = await lab(['keys', '--kernel', '6.12', '--kconfig', OPTION, '--json']);
    expect(keys.exitCode, keys.stderr).toBe(0);
    const inputsKey = (JSON.parse(keys.stdout) as { kernel: { inputsKey: string } }).kernel.inputsKey;
    const entry = await readFile(join(cacheDir, 'kernels', 'index', `${inputsKey}.key`), 'utf8').catch(() => undefined);
    if (entry) rmSync(join(cacheDir, 'kernels', entry.trim()), { recursive: true, force: true });

    const r = await lab(['build', '--kernel', '6.12', '--kconfig', OPTION, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const build = JSON.parse(r.stdout) as { cacheHit: boolean; buildDir: string; buildSeconds: number; tree?: { incremental: boolean; compiled: number } };
    expect(build.cacheHit).toBe(false);
    expect(build.tree).toMatchObject({ incremental: true });
    // mm/cma_debug.c and what includes mm/cma.h, not the ~1,500 files of the whole build
    expect(build.tree!.compiled).toBeLessThan(50);
    expect(build.buildSeconds).toBeLessThan(180);
    expect(readFileSync(join(build.buildDir, '.config'), 'utf8')).toMatch(/^CONFIG_CMA_DEBUGFS=y$/m);

    const boot = await lab(['exec', '--kernel', '6.12', '--kconfig', OPTION, '-q', '--', 'uname -r; test -d /sys/kernel/debug/cma && echo cma-debugfs']);
    expect(boot.exitCode, boot.stderr).toBe(0);
    expect(boot.stdout).toMatch(/^6\.12\.\d+\ncma-debugfs$/);
  });
});
