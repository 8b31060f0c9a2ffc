import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';
import { debugKernelCached } from '../helpers/debug-kernel.ts';

const SHARED_KERNELS = join(repoRoot, '..', 'shared', 'kernels');

function resultOf(stdout: string): { r: RunResult; dir: string } {
  const dir = /results in (\S+)/.exec(stdout)?.[1];
  expect(dir, stdout).toBeDefined();
  return { r: JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8')) as RunResult, dir: dir! };
}

/**
 * 1 GiB hugetlb pages at run time (scenarios/big-guest/gigantic.yaml): the lab
 * sizes the guest (6 GiB), 6.1 and 6.6 hand the range to page_owner in order-10
 * pieces, and 6.12.117 crashes walking the page_ext entries of the order-18 folio.
 */
describe('gigantic pages', () => {
  for (const [series, env] of [
    ['6.1', {}],
    ['6.6', { LAB_TARBALL_DIR: SHARED_KERNELS }],
  ] as const) {
    it(`${series}: order-10 pieces cover every 1 GiB page, no order-18 set, demote gives 512 2 MiB pages`, async () => {
      const run = await lab(['--kernel', series, '-q', '--scenario', 'gigantic'], env);
      const { r } = resultOf(run.stdout);
      expect(run.exitCode, run.stdout).toBe(0);
      expect(r.guest!.memoryMb).toBe(6144);
      const s = r.scenarios[0]!;
      expect(s.status).toBe('PASS');
      const grown = s.captured.giga_after! - s.captured.giga_before!;
      expect(grown).toBeGreaterThanOrEqual(1);
      expect(s.observations.bpf!.maps.set!['10']).toBeGreaterThanOrEqual(256 * grown);
      expect(s.observations.bpf!.maps.set!['18']).toBeUndefined();
      expect(s.observations.module!.rows.find((row) => row.order === 18)!.seen).toBe(0);
    });
  }

  // The lab flavor has no checker: where the walk's writes land decides how the guest dies. Four ways
  // seen: an oops in __update_page_owner_handle (a write to a read-only page) with its call trace, the
  // same oops whose call trace the unwinder could not print (it faulted too), a silent death (the SSH
  // channel gone, nothing on the console), a storm of recursive page faults elsewhere. The debug
  // flavor's test below is the deterministic one: KASAN stops at the first bad write.
  it('6.12.117: growing the 1 GiB pool takes the guest down; a report that names the page_ext walk names the bug and its upstream fix', async () => {
    const run = await lab(['--kernel', '6.12', '-q', '--scenario', 'gigantic']);
    expect(run.exitCode, run.stdout).toBe(3);
    const { r, dir } = resultOf(run.stdout);
    const s = r.scenarios[0]!;
    expect(s.status).toBe('ERROR');
    expect(['GUEST_LOST', 'KERNEL_ERROR']).toContain(s.error!.code);
    expect(s.captured.giga_after, 'the pool never grew: the guest died growing it').toBeUndefined();
    if (s.kernelReport?.some((l) => /__update_page_owner_handle\+/.test(l))) {
      // the call trace, when the unwinder got through it: in a fourth way seen (CI, session 5) it faulted
      // itself on the corrupted memory right after "Call Trace:" (recursive oopses in __is_insn_slot_addr)
      const report = s.kernelReport.join('\n');
      if (/^\s*__set_page_owner\+/m.test(report)) expect(report).toMatch(/__set_page_owner\+[\s\S]*prep_new_page\+[\s\S]*alloc_contig_range_noprof\+/);
      expect(s.knownIssue).toMatchObject({ fix: 'mm: page_owner: use new iteration API' });
      expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/upstream fix: "mm: page_owner: use new iteration API"/);
      expect(run.stdout).toMatch(/gigantic: known issue: page_owner walks the page_ext entries/);
    }
  });

  it('6.1: demoting a boot-time 1 GiB page gives 512 2 MiB pages and tells page_owner nothing', async () => {
    const run = await lab(['--kernel', '6.1', '-q', '--scenario', 'gigantic-demote', '--append', 'hugepagesz=1G', '--append', 'hugepages=1']);
    expect(run.exitCode, run.stdout).toBe(0);
    const s = resultOf(run.stdout).r.scenarios[0]!;
    expect(s.captured.huge_from_demote).toBe(512);
    expect(s.observations.bpf!.maps.reset!['9']).toBeGreaterThanOrEqual(512);
  });

  it.skipIf(!debugKernelCached('6.12'))('6.12.117 debug flavor: the same bug, reported by the debug kernel at its first bad access', async () => {
    const run = await lab(['--kernel', '6.12', '--flavor', 'debug', '-q', '--scenario', 'gigantic']);
    const { r } = resultOf(run.stdout);
    expect(r.flavor).toBe('debug');
    const s = r.scenarios[0]!;
    expect(s.status, run.stdout).toBe('ERROR');
    expect(s.kernelReport!.join('\n')).toMatch(/BUG: KASAN: [\w-]+ in __update_page_owner_handle\+[\s\S]*__set_page_owner\+[\s\S]*alloc_contig_range_noprof\+/);
    expect(s.knownIssue, run.stdout).toMatchObject({ fix: 'mm: page_owner: use new iteration API' });
  });
});
