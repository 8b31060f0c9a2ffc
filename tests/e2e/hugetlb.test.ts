import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Boots the real 6.12 kernel the lab builds (from the cache when present) and
 * runs the hugetlb scenario in it, through the CLI as a user would.
 */
function readResult(resultsDir: string, stdout: string): { result: RunResult; dir: string } {
  const dir = /results in (\S+)/.exec(stdout)?.[1];
  expect(dir, stdout).toBeDefined();
  expect(dir!.startsWith(resultsDir)).toBe(true);
  return { result: JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8')) as RunResult, dir: dir! };
}

describe('lab --kernel 6.12 --scenario hugetlb', () => {
  it('passes on a really booted 6.12 kernel, with every artifact in results/', async () => {
    const r = await lab(['--kernel', '6.12', '--scenario', 'hugetlb']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const { result, dir } = readResult(r.resultsDir, r.stdout);

    expect(result.status).toBe('PASS');
    expect(result.kernel!.release).toMatch(/^6\.12\.\d+$/);
    // the guest that answered runs the kernel that was built
    expect(result.guest!.unameR).toBe(result.kernel!.release);
    expect(['kvm', 'tcg']).toContain(result.guest!.accel);
    expect(result.guest!.kernelErrors).toEqual([]);
    expect(result.kernel!.configSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const s of ['source', 'kernel', 'image', 'boot', 'ssh', 'scenarios']) expect(result.stages[s]).toBeGreaterThanOrEqual(0);
    // QMP's socket (and a booted guest's disk overlay) sat in a folder of the run's own, 0700 (mkdtemp), gone at the end
    const qmp = /-qmp unix:(\S+?\/lab-guest-[0-9a-f]+-\w+)\/qmp\.sock,server=on/.exec(result.boots![0]!.qemu[0]!)?.[1];
    expect(qmp, result.boots![0]!.qemu[0]).toBeDefined();
    expect(existsSync(qmp!)).toBe(false);

    const s = result.scenarios[0]!;
    expect(s.status).toBe('PASS');
    const grown = s.judgement!.variables.grown!;
    expect(grown).toBeGreaterThanOrEqual(1);
    expect(s.observations.module!.rows.find((row) => row.order === 9)!.seen).toBeGreaterThanOrEqual(grown);
    expect(Number(s.observations.bpf!.maps.set!['9'])).toBeGreaterThanOrEqual(grown);
    expect(s.observations.vmstatAfter!.htlb_buddy_alloc_success! - s.observations.vmstatBefore!.htlb_buddy_alloc_success!).toBe(grown);

    for (const f of ['result.json', 'junit.xml', 'kcidb.json', 'console.log', 'build.log', 'lab.log', 'kernel.config', 'scenarios/hugetlb/dmesg.txt']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'console.log'), 'utf8')).toContain('LAB-READY');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="page-owner-lab" tests="\d+" failures="0" errors="0" skipped="0">/);
    expect(r.stdout).toMatch(/hugetlb\s+bpf\.set\[9\] >= grown\s+>= grown \(\d+\)\s+bpf\.set\[9\] = \d+\s+PASS/);
  });

  it('a second run reuses the cached kernel and image, and a wrong expectation fails with its numbers', async () => {
    const dir = tempDir('lab-scenario-');
    const file = join(dir, 'hugetlb-wrong.yaml');
    writeFileSync(
      file,
      readFileSync(join(import.meta.dirname, '..', '..', 'scenarios', 'hugetlb.yaml'), 'utf8').replace(
        '  - bpf.set[9] >= grown\n',
        '  - bpf.set[9] >= grown\n  - bpf.set[9] >= grown * 1000\n',
      ),
    );
    const r = await lab(['--kernel', '6.12', '--scenario', file]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    const { result } = readResult(r.resultsDir, r.stdout);
    expect(result.kernel!.cacheHit).toBe(true);
    expect(result.image!.cacheHit).toBe(true);
    expect(result.status).toBe('FAIL');
    const failed = result.scenarios[0]!.judgement!.expectations.filter((e) => e.verdict === 'fail');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toMatch(/^bpf\.set\[9\] >= grown \* 1000: (\d+) >= (\d+) is false \(bpf\.set\[9\]=\1, grown=\d+\)$/);
    expect(r.stdout).toContain(failed[0]!.message);
  });
});
