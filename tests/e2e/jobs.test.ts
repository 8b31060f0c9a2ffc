import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import type { KernelsRecord } from '../../lab/report/kernels.ts';
import { readRunResult } from '../../lab/report/result.ts';
import { LAB_CLI, lab } from '../helpers/cli.ts';
import { qemuLeft } from '../helpers/qemu.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Two real kernels (6.1 and 6.12, from the cache when built) in one run, both
 * guests up at once: each kernel's results folder inside the run's, its own
 * guest (port and token), and the summary with both verdicts. One short
 * scenario: about 1 minute under TCG on 2 cores; Ctrl-C about 30 s more.
 */
describe('lab run --kernel 6.1 --kernel 6.12 --jobs 2', () => {
  it('runs both kernels side by side, each in its own guest and folder, with a combined summary', async () => {
    const r = await lab(['--kernel', '6.1', '--kernel', '6.12', '--jobs', '2', '--scenario', 'idle-baseline']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const dir = /^PASS: 2 kernels, exit 0, results in (\S+) \(summary\.md, kernels\.json\)$/m.exec(r.stdout)?.[1];
    expect(dir, r.stdout).toBeDefined();
    expect(dir!.startsWith(r.resultsDir)).toBe(true);

    const record = JSON.parse(readFileSync(join(dir!, 'kernels.json'), 'utf8')) as KernelsRecord;
    expect(record).toMatchObject({ status: 'PASS', exitCode: 0, jobs: 2 });
    expect(record.kernels.map((k) => [k.label, k.status, k.verdicts])).toEqual([
      ['6.1', 'PASS', { 'idle-baseline': 'PASS' }],
      ['6.12', 'PASS', { 'idle-baseline': 'PASS' }],
    ]);
    expect(record.harness.peakRssMb).toBeGreaterThan(0);

    const results = await Promise.all(record.kernels.map((k) => readRunResult(join(dir!, k.resultsDir!))));
    expect(results.map((x) => x.kernel!.release)).toEqual([expect.stringMatching(/^6\.1\.\d+$/), expect.stringMatching(/^6\.12\.\d+$/)]);
    for (const x of results) {
      expect(x.guest!.unameR).toBe(x.kernel!.release);
      expect(x.harness!.peakRssMb).toBeGreaterThan(0);
      for (const f of ['junit.xml', 'summary.md', 'console.log', 'lab.log']) expect(existsSync(join(dir!, record.kernels[results.indexOf(x)]!.resultsDir!, f)), f).toBe(true);
    }
    // isolated guests: a port and a token each
    const [a, b] = results.map((x) => x.boots[0]!);
    expect(a!.sshPort).not.toBe(b!.sshPort);
    expect(a!.token).not.toBe(b!.token);
    // tcgThreads auto: two guests at once get a thread per vCPU only when all their vCPUs fit the host's cores
    if (a!.accel === 'tcg' && resolveConfig().tcgThreads === 'auto') {
      const want = 2 * results[0]!.guest!.cpus <= availableParallelism() ? 'multi' : 'single';
      for (const x of [a, b]) expect(x!.qemu[0]).toContain(`-accel tcg,thread=${want}`);
    }
    // the guests overlapped: the second kernel's pipeline started before the first one ended
    const [ka, kb] = record.kernels;
    expect(Date.parse(kb!.startedAt!)).toBeLessThan(Date.parse(ka!.finishedAt!));

    const summary = readFileSync(join(dir!, 'summary.md'), 'utf8');
    expect(summary).toMatch(/^# PASS: 2 kernels, --jobs 2, /);
    expect(summary).toMatch(/\| idle-baseline \| PASS \| PASS \|/);
    // progress lines name their kernel; each kernel's own lab.log is as a single run writes it
    expect(r.stderr).toMatch(/\[6\.1: boot\] guest (?:ready|restored) in/);
    expect(r.stderr).toMatch(/\[6\.12: boot\] guest (?:ready|restored) in/);
    expect(readFileSync(join(dir!, record.kernels[0]!.resultsDir!, 'lab.log'), 'utf8')).toMatch(/\[boot\] guest (?:ready|restored) in/);
  });

  it('Ctrl-C as soon as one guest is up stops both guests at once, writes both results, exits 130', async () => {
    const resultsDir = tempDir('lab-results-');
    const child = execa(LAB_CLI[0], [LAB_CLI[1], '--kernel', '6.1,6.12', '--jobs', '2', '--scenario', 'hugetlb'], {
      env: { LAB_RESULTS_DIR: resultsDir },
      reject: false,
      stdin: 'ignore',
    });
    // the other guest is then still booting or being prepared: the pipeline has no guest in its pool yet
    // (booted or restored from a saved guest); a run that ends first fails the test rather than hanging it
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/\] guest (?:ready|restored) in/.test(stderr)) resolve();
      });
      void child.then(() => reject(new Error(`the run ended before a guest was up:\n${stderr}`)));
    });
    const interrupted = Date.now();
    child.kill('SIGINT');
    const done = await child;
    expect(done.exitCode, `${done.stdout}\n${done.stderr}`).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(20_000);
    const dir = /results in (\S+) \(summary\.md/.exec(String(done.stdout))![1]!;
    const record = JSON.parse(readFileSync(join(dir, 'kernels.json'), 'utf8')) as KernelsRecord;
    expect(record.kernels.map((k) => [k.label, k.exitCode])).toEqual([
      ['6.1', 130],
      ['6.12', 130],
    ]);
    for (const k of record.kernels) {
      const r = await readRunResult(join(dir, k.resultsDir!));
      for (const b of r.boots) expect(await qemuLeft(b.qemu.join(' '))).toBe(0);
    }
  });
});
