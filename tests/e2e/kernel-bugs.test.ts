import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';
import { kernelCached } from '../helpers/debug-kernel.ts';

const MEMCG_DUMP = join(repoRoot, 'scenarios', 'kernel-bugs', 'memcg-dump.yaml');
const SHARED_KERNELS = join(repoRoot, '..', 'shared', 'kernels');

function resultOf(stdout: string): RunResult {
  const dir = /results in (\S+)/.exec(stdout)?.[1];
  expect(dir, stdout).toBeDefined();
  return JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8')) as RunResult;
}

/**
 * A page_owner bug the lab found: reading the dump while user pages are
 * charged to a memory cgroup of their own oopses Debian's 6.12.117 in
 * print_page_owner; 6.6.87 prints "Charged to memcg lab_memcg" on each record.
 */
describe('scenarios/kernel-bugs/memcg-dump.yaml', () => {
  it('6.6: every page of the workload is a record charged to its cgroup, and every line of the dump parses', async () => {
    const r = await lab(['--kernel', '6.6', '-q', '--scenario', MEMCG_DUMP], { LAB_TARBALL_DIR: SHARED_KERNELS });
    const result = resultOf(r.stdout);
    expect(r.exitCode, r.stdout).toBe(0);
    const dump = result.scenarios[0]!.observations.debugfs!;
    expect(dump.byMemcg.lab_memcg).toBeGreaterThanOrEqual(4096);
    expect(dump.unparsed).toBe(0);
  });

  it('6.12.117: the guest oopses in print_page_owner, and the result carries the report and its frames', async () => {
    const r = await lab(['--kernel', '6.12', '-q', '--scenario', MEMCG_DUMP]);
    expect(r.exitCode).toBe(3);
    const s = resultOf(r.stdout).scenarios[0]!;
    expect(s.status).toBe('ERROR');
    expect(s.error!.message).toMatch(/cat \/sys\/kernel\/debug\/page_owner/);
    const report = s.kernelReport!.join('\n');
    expect(report).toMatch(/BUG: unable to handle page fault/);
    expect(report).toMatch(/RIP: 0010:print_page_owner\+/);
    expect(report).toMatch(/read_page_owner\+/);
    expect(r.stdout).toMatch(/memcg-dump: the kernel reported/);
    expect(s.knownIssue?.title).toMatch(/print_page_owner_memcg/);
    expect(s.regression).toBeUndefined();

    // the bug report, and its reproducer run alone: no Node, no lab, a bare environment
    const dir = /results in (\S+)/.exec(r.stdout)![1]!;
    const bug = await lab(['report', '--bug', dir]);
    expect(bug.exitCode, bug.stderr).toBe(0);
    const text = readFileSync(join(dir, 'bug-report.txt'), 'utf8');
    expect(text.split('\n')[0]).toBe('Subject: [page-owner-lab] BUG: unable to handle page fault in print_page_owner');
    const repro = await execa('sh', [join(dir, 'bug-reproducer.sh')], { env: { PATH: '/usr/bin:/bin' }, extendEnv: false, reject: false, cwd: tmpdir() });
    expect(repro.exitCode, repro.stdout + repro.stderr).toBe(1);
    expect(repro.stdout).toMatch(/RIP: 0010:print_page_owner\+/);
    expect(repro.stdout).toMatch(/^reproducer: same as the report \(print_page_owner\)$/m);
  });
});

/**
 * The same scenario on 6.12.107, the Debian release before the stable backport that broke it
 * (Debian's changelog places it in 6.12.114): it passes there. 6.12.107 comes from Debian's
 * archive (trixie / bookworm-security); the test runs when its build is cached (after 6.12.117
 * it built in 35 s here, ccache serving all 1,447 objects), or with LAB_E2E_NEWEST=1.
 */
describe.runIf(process.env.LAB_E2E_NEWEST === '1' || kernelCached('6.12', 'lab', '6.12.107'))('scenarios/kernel-bugs/memcg-dump.yaml on 6.12.107', () => {
  it('passes: the workload pages are records charged to lab_memcg, where 6.12.117 oopses', async () => {
    const r = await lab(['--kernel', '6.12.107', '-q', '--scenario', MEMCG_DUMP]);
    expect(r.exitCode, r.stdout).toBe(0);
    const result = resultOf(r.stdout);
    expect(result.kernel!.release).toBe('6.12.107');
    expect(result.scenarios[0]!.observations.debugfs!.byMemcg.lab_memcg).toBeGreaterThanOrEqual(4096);
  });
});
