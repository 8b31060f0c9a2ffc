import { describe, expect, it } from 'vitest';
import { readRunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';
import { kernelCached } from '../helpers/debug-kernel.ts';

/**
 * Linux 7.3 from Debian's archive (trixie-backports), a kernel the lab's fragments and kbuild's
 * external-module interface changed for: the default suite, and the two page_owner bugs of
 * 6.12.117 that 7.3 fixes. Its build takes 10-15 minutes on two cores: these tests run when the
 * lab cache holds it (`npm run lab -- build --kernel 7.3` made it), or with LAB_E2E_NEWEST=1,
 * building it if needed. Never a rebuild the test does not need.
 */
const enabled = process.env.LAB_E2E_NEWEST === '1' || kernelCached('7.3');

describe.runIf(enabled)('Linux 7.3 (Debian 7.3.4)', () => {
  it("lab keys finds it in Debian's archive; lab build --explain leaves PROC_SYSCTL out (merged into SYSCTL in 7.3), the rest applied", async () => {
    const keys = await lab(['keys', '--kernel', '7.3', '--json']);
    expect(keys.exitCode, keys.stderr).toBe(0);
    const k = JSON.parse(keys.stdout) as { kernel: { version: string; origin: string } };
    expect(k.kernel.version).toMatch(/^7\.3\.\d+$/);
    expect(k.kernel.origin).toMatch(/linux-source-7\.3_7\.3\.\d+-[^/]+\.tar\.xz$/);
    const explain = await lab(['build', '--kernel', '7.3', '--explain']);
    expect(explain.exitCode, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/^ {2}kernels\/lab\.config:\d+ +left out +CONFIG_PROC_SYSCTL=y {2}\(kernel < 7\.3 does not hold for 7\.3\.\d+\)$/m);
    expect(explain.stdout).toMatch(/^ {2}kernels\/lab\.config:\d+ +applied +CONFIG_SYSCTL=y$/m);
    expect(explain.stdout).toMatch(/^fragments for 7\.3\.\d+ \(\d+ lines applied, 1 left out\):$/m);
  });

  it('the default suite passes; the module builds into its own folder (MO=), not into the cached kernel', async () => {
    const r = await lab(['--kernel', '7.3', '-q']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const result = await readRunResult(r.stdout.match(/results in (\S+)/)![1]!);
    expect(result.kernel!.release).toMatch(/^7\.3\.\d+$/);
    expect(result.scenarios.map((s) => `${s.name} ${s.status}`)).toEqual([
      'balance PASS',
      'compaction-migrate PASS',
      'hugetlb PASS',
      'idle-baseline PASS',
      'module-filter PASS',
      'page-owner-dump PASS',
      'stress-ng-vm PASS',
      'thp-fault-split PASS',
    ]);
    // 7.x names the migrate hook after folios: hooks.yaml lists that name first, so it is probed as is
    const migrate = result.guest?.probeMap?.find((p) => p.event === 'set migrate');
    expect(migrate).toMatchObject({ function: '__folio_set_owner_migrate_reason', status: 'probed' });
  });

  it("6.12.117's two page_owner bugs are fixed in 7.3: memcg-dump and gigantic pass", async () => {
    const r = await lab(['--kernel', '7.3', '--scenario', 'memcg-dump', '--scenario', 'gigantic', '-q']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^memcg-dump +debugfs\.memcg\[lab_memcg\] >= 4096 .* PASS$/m);
    expect(r.stdout).toMatch(/^gigantic +bpf\.set\[18\] == grown .* PASS$/m);
  });
});
