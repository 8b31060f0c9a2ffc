import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootOf } from '../../lab/bisect/bug-report.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { KERNEL_ERROR_PATTERNS, kernelReport } from '../../lab/observe/kernel-errors.ts';
import { bugTitle, faultingFunction, guestScript, renderBugReport, reproducerScript, splat } from '../../lab/report/bug.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { fixture } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/temp.ts';

/** The kernel's report from a real console (tests/fixtures/<release>/<name>/console.log). */
const reportOf = (name: string) => {
  const console = fixture('6.12.117', name, 'console.log').split('\n');
  return kernelReport(console, console.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!);
};
const scenario = (kernelReport: string[]) => ({ name: 's', status: 'ERROR' as const, kernelReport });
const memcgRun = JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', 'known-issues', '6.12.117-memcg-dump.json'), 'utf8')) as RunResult;

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the subject of a bug report, syzbot style, from real 6.12.117 reports', () => {
  it.each([
    ['memcg-dump', 'BUG: unable to handle page fault in print_page_owner'],
    ['gigantic', 'BUG: unable to handle page fault in __update_page_owner_handle'],
    ['gigantic-rb_next', 'BUG: unable to handle page fault in rb_next'],
    ['gigantic-demote-gpf', 'general protection fault in vring_interrupt'],
    ['gigantic-debug', 'KASAN: slab-use-after-free Write in __update_page_owner_handle'],
  ])('%s: %s', (name, title) => expect(bugTitle(scenario(reportOf(name)), '6.12.117')).toBe(title));

  it('a FAIL without a kernel report names the expectation', () => {
    const s = { name: 'hugetlb', status: 'FAIL' as const, judgement: { expectations: [{ expect: 'bpf.set[9] == 64', verdict: 'fail', message: 'bpf.set[9] = 0' }] } } as never;
    expect(bugTitle(s, '6.12.117')).toBe('page_owner: hugetlb fails on 6.12.117: bpf.set[9] == 64');
  });

  it('the splat ends with the trace; the faulting function drops compiler suffixes', () => {
    const r = splat(reportOf('memcg-dump'));
    expect(r.at(-1)).toMatch(/---\[ end trace/);
    expect(faultingFunction(['[ 1.0] RIP: 0010:alloc_gigantic_folio.isra.0+0xbc/0x11c'])).toBe('alloc_gigantic_folio');
  });
});

describe('the reproducer', () => {
  const boot = bootOf(memcgRun);

  it('boots what the run booted: its bzImage, memory, CPUs and command line without the lab\'s own words', () => {
    expect(boot.bzImage).toMatch(/kernels\/6\.12\.117-lab-[0-9a-f]{16}\/arch\/x86\/boot\/bzImage$/);
    expect(boot).toMatchObject({ memoryMb: 1024, cpus: 2 });
    expect(boot.cmdline).toBe('console=ttyS0 root=/dev/vda rw page_owner=on panic=-1 oops=panic i8042.noaux i8042.nokbd');
  });

  it('is a POSIX sh script that carries the guest script whole, and the guest script is valid bash', () => {
    const guest = guestScript({ name: 'memcg-dump', setup: ['echo +memory > /sys/fs/cgroup/cgroup.subtree_control'], steps: [{ name: 'hold "16" MiB', run: "for i in 1 2; do echo '$i'; done" }], readsDump: true });
    expect(guest).toMatch(/^echo "lab-reproducer: step: hold 16 MiB" > \/dev\/console$/m);
    expect(guest).toMatch(/^cat \/sys\/kernel\/debug\/page_owner > \/dev\/null$/m);
    const script = reproducerScript({ title: 't', ...boot, rootfs: '/images/rootfs.ext4', guest, faulting: 'print_page_owner' });
    const dir = tempDir('lab-repro-');
    made.push(dir);
    writeFileSync(join(dir, 'r.sh'), script);
    writeFileSync(join(dir, 'g.sh'), guest);
    execFileSync('sh', ['-n', join(dir, 'r.sh')]);
    execFileSync('bash', ['-n', join(dir, 'g.sh')]);
    // the heredoc holds the guest script unchanged
    expect(script).toContain(`<<'LAB_GUEST_SCRIPT_END'\n${guest}LAB_GUEST_SCRIPT_END\n`);
    expect(script).toContain("-append 'console=ttyS0 root=/dev/vda rw page_owner=on panic=-1 oops=panic i8042.noaux i8042.nokbd init=/bin/bash -- /dev/vdb'");
    expect(script).not.toMatch(/-netdev|-nic |hostfwd/);
  });

  it('run with a missing kernel, it says so and exits 2', () => {
    const dir = tempDir('lab-repro-');
    made.push(dir);
    writeFileSync(join(dir, 'r.sh'), reproducerScript({ title: 't', ...boot, bzImage: join(dir, 'none'), rootfs: join(dir, 'none'), guest: 'true\n' }));
    let status = 0;
    let stderr = '';
    try {
      execFileSync('sh', [join(dir, 'r.sh')], { stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/reproducer: cannot read .*\/none/);
  });
});

describe('the report', () => {
  it('has the subject, kernel, bisection, splat, why frames are not decoded, the reproducer and the fragment', () => {
    const s = memcgRun.scenarios[0]!;
    const text = renderBugReport({
      scenario: s,
      scenarioFile: 'scenarios/kernel-bugs/memcg-dump.yaml',
      description: 'Pages charged to a memory cgroup of their own, then the page_owner dump:',
      release: '6.12.117',
      flavor: 'lab',
      origin: '/usr/src/linux-source-6.12.tar.xz',
      fragment: 'CONFIG_PAGE_OWNER=y\n',
      decoded: { why: 'the build has no debug info (CONFIG_DEBUG_INFO_NONE=y)' },
      bisect: { before: '6.12.113', after: '6.12.115', mode: 'regression', dir: '/r/b', changelog: ['6.12.114: mm/page_owner: use memcg_data snapshot'] },
      reproducer: { file: '/r/bug-reproducer.sh', usage: 'sh /r/bug-reproducer.sh' },
      resultsDir: '/r',
    });
    expect(text.split('\n')[0]).toBe('Subject: [page-owner-lab] BUG: unable to handle page fault in print_page_owner');
    expect(text).toMatch(/^kernel: {4}Linux 6\.12\.117, flavor lab \(source: \/usr\/src\/linux-source-6\.12\.tar\.xz\)$/m);
    expect(text).toMatch(/^bisected: {2}last good 6\.12\.113, first bad 6\.12\.115 /m);
    expect(text).toMatch(/^ {11}changelog 6\.12\.114: mm\/page_owner: use memcg_data snapshot$/m);
    expect(text).toMatch(/^\[\s*[\d.]+\] RIP: 0010:print_page_owner\+0x1b0\/0x275$/m);
    expect(text).toMatch(/\(frames not decoded to file:line: the build has no debug info/);
    expect(text).toMatch(/^ {2}CONFIG_PAGE_OWNER=y$/m);
  });
});
