import { execa } from 'execa';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';
import { debugKernelCached } from '../helpers/debug-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The debug flavor's reports are kernel errors like any other: a test-only
 * module (tests/fixtures/kmod/kasan_oob) writes one byte out of bounds in the
 * debug guest, and the run is an ERROR whose result carries the real KASAN
 * report with its frames.
 */
describe.skipIf(!debugKernelCached('6.12'))('debug flavor (6.12)', () => {
  it('a real KASAN report becomes a kernel error of the scenario, report and frames in the result', async () => {
    const build = await lab(['build', '--kernel', '6.12', '--flavor', 'debug', '--json']);
    expect(build.exitCode, build.stderr).toBe(0);
    const k = JSON.parse(build.stdout) as { buildDir: string; flavor: string };
    expect(k.flavor).toBe('debug');

    const work = tempDir('kasan-oob-');
    cpSync(join(repoRoot, 'tests', 'fixtures', 'kmod', 'kasan_oob'), work, { recursive: true });
    await execa('make', ['-C', k.buildDir, `M=${work}`, 'modules'], { all: true });
    const ko = readFileSync(join(work, 'kasan_oob.ko')).toString('base64');
    // the module travels inside the steps' commands (dropbear takes commands of up to 9000 bytes:
    // base64 in pieces), and the scenario loads it like any workload
    const pieces = ko.match(/.{1,6000}/g)!;
    const scenario = join(work, 'kasan-oob.yaml');
    writeFileSync(
      scenario,
      [
        'description: load a module that writes one byte past a kmalloc object',
        'steps:',
        ...pieces.flatMap((p, i) => [`  - name: module piece ${i + 1}`, `    run: printf %s ${p} >> /tmp/kasan_oob.b64`]),
        '  - name: insmod kasan_oob',
        '    run: base64 -d /tmp/kasan_oob.b64 > /tmp/kasan_oob.ko && (insmod /tmp/kasan_oob.ko; true)',
        'expect:',
        '  - module.seen >= 0',
      ].join('\n'),
    );
    const run = await lab(['--kernel', '6.12', '--flavor', 'debug', '-q', '--scenario', scenario]);
    expect(run.exitCode, run.stdout).toBe(3);
    const dir = /results in (\S+)/.exec(run.stdout)![1]!;
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    expect(r.flavor).toBe('debug');
    const s = r.scenarios[0]!;
    expect(s.status).toBe('ERROR');
    expect(s.error!.code).toBe('KERNEL_ERROR');
    const report = s.kernelReport!.join('\n');
    expect(report).toMatch(/BUG: KASAN: slab-out-of-bounds in kasan_oob_init/);
    expect(report).toMatch(/Write of size 1 at addr/);
    expect(report).toMatch(/do_one_initcall\+/);
    // the report stops at KASAN's closing rule, not 80 lines later
    expect(s.kernelReport!.at(-1)).toMatch(/={40,}\s*$/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/KASAN: slab-out-of-bounds/);
  });
});
