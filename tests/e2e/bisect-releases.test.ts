import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ReleaseBisectResult } from '../../lab/report/release-bisect.ts';
import { lab } from '../helpers/cli.ts';
import { kernelCached } from '../helpers/debug-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

const resultsOf = (stdout: string) => {
  const dir = /results in (\S+)/.exec(stdout)?.[1];
  expect(dir, stdout).toBeDefined();
  return { dir: dir!, result: JSON.parse(readFileSync(join(dir!, 'bisect.json'), 'utf8')) as ReleaseBisectResult, md: readFileSync(join(dir!, 'bisect.md'), 'utf8') };
};

/**
 * lab bisect across releases on real kernels from Debian's archive. The memcg-dump oops: Debian's
 * 6.12.113 passes, 6.12.115 oopses in print_page_owner (the 6.12.114 stable backport). Runs when
 * both builds are cached (a release bisection from 6.12.95 to 6.12.117 built them: about 7 min
 * for the first, then ccache) or with LAB_E2E_NEWEST=1; never builds what it does not need.
 */
describe.runIf(process.env.LAB_E2E_NEWEST === '1' || (kernelCached('6.12', 'lab', '6.12.113') && kernelCached('6.12', 'lab', '6.12.115')))('lab bisect --good 6.12.113 --bad 6.12.115', () => {
  it('names both releases, shows the print_page_owner_memcg hunk and the 6.12.114 changelog entry, and the watched header', async () => {
    const r = await lab(['bisect', '--good', '6.12.113', '--bad', '6.12.115', '--releases', '6.12.113,6.12.115', '--scenario', 'memcg-dump', '--watch', 'include/linux/memcontrol.h', '-q']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^last good 6\.12\.113, first bad 6\.12\.115$/m);
    expect(r.stdout).toMatch(/^changelog 6\.12\.114: mm\/page_owner: use memcg_data snapshot to avoid TOCTOU in print_page_owner_memcg\(\)/m);
    const { result, md, dir } = resultsOf(r.stdout);
    // neither endpoint was tested by the user's word alone: the answer rests on both
    expect(result.steps.map((s) => [s.version, s.role, s.outcome])).toEqual([
      ['6.12.115', 'endpoint', 'fail'],
      ['6.12.113', 'endpoint', 'pass'],
    ]);
    expect(result.steps[0]!.rip).toBe('print_page_owner');
    const pageOwner = result.changes!.files.find((f) => f.file === 'mm/page_owner.c')!;
    expect(pageOwner.functions).toContain('print_page_owner_memcg');
    expect(result.changes!.files.find((f) => f.file === 'include/linux/memcontrol.h')).toMatchObject({ why: '--watch' });
    // diff -p names the function a hunk is in (cut at 40 characters)
    expect(md).toMatch(/^@@ .* @@ static inline int print_page_owner_memcg$/m);
    expect(md).toMatch(/^-\tmemcg = page_memcg_check\(page\);$/m);
    expect(md).toMatch(/^- 6\.12\.114 \(Debian 6\.12\.115-1\): mm\/page_owner: use memcg_data snapshot/m);
    expect(readFileSync(join(dir, 'changes.diff'), 'utf8')).toMatch(/^--- a\/mm\/page_owner\.c$/m);
  });

  it('with --kernel-src and releases, it goes on to the commits between the two tags, and says so when the tree lacks them', async () => {
    const tree = tempDir('lab-git-');
    onTestFinished(() => rmSync(tree, { recursive: true, force: true }));
    execFileSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', '-C', tree, 'init', '-q']);
    execFileSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', '-C', tree, 'commit', '-q', '--allow-empty', '-m', 'one']);
    const r = await lab(['bisect', '--kernel-src', tree, '--good', '6.12.113', '--bad', '6.12.115', '--releases', '6.12.113,6.12.115', '--scenario', 'memcg-dump', '-q']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^last good 6\.12\.113, first bad 6\.12\.115$/m);
    expect(r.stdout).toContain(`${tree} has no tag v6.12.113 or v6.12.115: to go on to the commit, give the two revisions`);
  });
});

/**
 * The reverse question on gigantic: 6.12.117 oopses, 7.2.13 and 7.3.4 pass (for_each_page_ext). Runs
 * when all three are cached; a newer 6.12 in Debian's archive is built once (8 min) and then cached.
 */
describe.runIf(process.env.LAB_E2E_NEWEST === '1' || (kernelCached('6.12', 'lab', '6.12.117') && kernelCached('7.2', 'lab', '7.2.13') && kernelCached('7.3', 'lab', '7.3.4')))(
  'lab bisect --fixed --bad 6.12.117 --good 7.3.4 --scenario gigantic',
  () => {
    it('names 7.2.13 as the first fixed release, and shows the page_ext walk in the page_owner diff', async () => {
      // among releases already built: Debian's archive gains releases (6.12.118 and 7.2.6 on 2026-12-02), each a build
      const r = await lab(['bisect', '--fixed', '--bad', '6.12.117', '--good', '7.3.4', '--releases', '7.2.13', '--scenario', 'gigantic', '-q']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^last bad 6\.12\.117, first fixed 7\.2\.13$/m);
      const { result, md } = resultsOf(r.stdout);
      expect(result.mode).toBe('fix');
      expect(result.releases.map((x) => x.version)).toEqual(['6.12.117', '7.2.13', '7.3.4']);
      expect(result.steps.find((s) => s.version === '6.12.117')).toMatchObject({ outcome: 'fail' });
      expect(result.steps.find((s) => s.version === '7.2.13')).toMatchObject({ outcome: 'pass' });
      expect(md).toMatch(/^\+.*for_each_page_ext\(/m);
    });
  },
);

describe('lab bisect across releases: bad input', () => {
  it('good newer than bad asks for --fixed; a --watch path outside the tree is refused; --fixed with --kernel-src is refused (exit 2, before anything runs)', async () => {
    const swapped = await lab(['bisect', '--good', '7.3.4', '--bad', '6.12.117', '--scenario', 'gigantic']);
    expect(swapped.exitCode).toBe(2);
    expect(swapped.stderr).toMatch(/--good 7\.3\.4 is newer than --bad 6\.12\.117: to find the release that fixed it, add --fixed/);
    const watch = await lab(['bisect', '--good', '6.12.113', '--bad', '6.12.115', '--scenario', 'memcg-dump', '--watch', '../etc/passwd']);
    expect(watch.exitCode).toBe(2);
    expect(watch.stderr).toMatch(/--watch \.\.\/etc\/passwd: a path inside the kernel tree/);
    const git = await lab(['bisect', '--kernel-src', '/nonexistent', '--good', 'a', '--bad', 'b', '--fixed', '--scenario', 'memcg-dump']);
    expect(git.exitCode).toBe(2);
    expect(git.stderr).toMatch(/--fixed works across releases; without --kernel-src/);
  });
});
