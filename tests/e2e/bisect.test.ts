import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import type { BisectResult } from '../../lab/report/bisect.ts';
import { LAB_CLI, lab } from '../helpers/cli.ts';
import { fakeKernelTree, setFakeKernel } from '../helpers/fake-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * lab bisect on a real kernel: a git repository made from the 6.12 tree in
 * the cache (hard links, so nothing is copied; files are replaced, never
 * written through a link), nine commits of which one, in the middle, makes
 * page_owner record order-9 allocations as order 0 on their head page. The
 * hugetlb scenario sees it in the dump (records9), bisect names it.
 * Ctrl-C and --resume are tried on a stand-in tree (no kernel to build).
 */
const git = (dir: string, ...args: string[]) => execa('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', '-C', dir, ...args]);

/** Replace a file (never write through a hard link into the cache's tree). */
function rewrite(path: string, edit: (text: string) => string) {
  const text = edit(readFileSync(path, 'utf8'));
  rmSync(path);
  writeFileSync(path, text);
}

const PLANTED = 'mm/page_owner: record order-9 allocations on their head page only';

const COMMITS: { subject: string; file: string; edit: (text: string) => string }[] = [
  { subject: 'Documentation/mm: page_owner: say where the dump is', file: 'Documentation/mm/page_owner.rst', edit: (t) => `${t}\nThe dump is /sys/kernel/debug/page_owner.\n` },
  { subject: 'MAINTAINERS: a comment line', file: 'MAINTAINERS', edit: (t) => `${t}\n# page-owner-lab bisect test\n` },
  { subject: 'tools/mm: page_owner_sort: a comment', file: 'tools/mm/page_owner_sort.c', edit: (t) => `${t}\n/* page-owner-lab bisect test */\n` },
  {
    subject: PLANTED,
    file: 'mm/page_owner.c',
    edit: (t) => {
      const call = '\t__update_page_owner_handle(page_ext, handle, order, gfp_mask, -1,\n\t\t\t\t   ts_nsec, current->pid, current->tgid,\n\t\t\t\t   current->comm);\n\tpage_ext_put(page_ext);\n\tinc_stack_record_count';
      expect(t).toContain(call);
      return t.replace(call, call.replace('handle, order, gfp_mask', 'handle, order == 9 ? 0 : order, gfp_mask'));
    },
  },
  { subject: 'Documentation/admin-guide: a sentence on hugetlb pools', file: 'Documentation/admin-guide/mm/hugetlbpage.rst', edit: (t) => `${t}\nPools grow one page at a time.\n` },
  { subject: 'README: a line', file: 'README', edit: (t) => `${t}\nBuilt by page-owner-lab's bisect test.\n` },
  { subject: 'Documentation/mm: page_owner: the stack counts', file: 'Documentation/mm/page_owner.rst', edit: (t) => `${t}\nStacks are counted in page_owner_stacks.\n` },
  { subject: 'CREDITS: nothing really', file: 'CREDITS', edit: (t) => `${t}\n` },
];

/** The cached 6.12 tree, built once by `lab build` when the cache has none. */
async function cachedTree(): Promise<string> {
  const sources = join(resolveConfig().paths.cache, 'sources');
  const find = () => (existsSync(sources) ? readdirSync(sources).find((n) => n.startsWith('6.12.')) : undefined);
  if (!find()) expect((await lab(['build', '--kernel', '6.12'])).exitCode).toBe(0);
  return join(sources, find()!);
}

async function repository(): Promise<{ repo: string; commits: string[] }> {
  const repo = join(tempDir('lab-bisect-'), 'linux');
  await execa('cp', ['-al', `${await cachedTree()}/.`, repo]);
  await git(repo, 'init', '-q');
  // little compression: the tree is committed once and read back once
  await git(repo, 'config', 'core.compression', '1');
  // -f: Debian's linux-source tree ignores everything at its top level (its .gitignore's packaging rule)
  await git(repo, 'add', '-A', '-f');
  await git(repo, 'commit', '-qm', 'Linux 6.12.117');
  const commits = [(await git(repo, 'rev-parse', 'HEAD')).stdout];
  for (const c of COMMITS) {
    rewrite(join(repo, c.file), c.edit);
    await git(repo, 'commit', '-qam', c.subject);
    commits.push((await git(repo, 'rev-parse', 'HEAD')).stdout);
  }
  return { repo, commits };
}

const compiledIn = (stepDir: string) => (readFileSync(join(stepDir, 'build.log'), 'utf8').match(/^\s+CC\s/gm) ?? []).length;

describe('lab bisect on a git repository of the real 6.12 tree', () => {
  it('names the commit that stopped page_owner recording order-9 allocations, rebuilding incrementally', async () => {
    let t = Date.now();
    const { repo, commits } = await repository();
    onTestFinished(() => rmSync(join(repo, '..'), { recursive: true, force: true }));
    const planted = commits[COMMITS.findIndex((c) => c.subject === PLANTED) + 1]!;
    console.log(`repository of ${commits.length} commits in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    const head = (await git(repo, 'rev-parse', 'HEAD')).stdout;

    t = Date.now();
    const r = await lab(['bisect', '--kernel-src', repo, '--good', 'HEAD~8', '--bad', 'HEAD', '--scenario', 'hugetlb', '--expect', 'records9 == grown']);
    console.log(`lab bisect: ${((Date.now() - t) / 1000).toFixed(0)} s\n${r.stdout}`);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`first bad commit: ${planted}\nsubject: ${PLANTED}\nfiles: mm/page_owner.c\n`);
    const dir = /results in (\S+)/.exec(r.stdout)![1]!;
    const b = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8')) as BisectResult;
    expect(b).toMatchObject({ status: 'found', firstBad: { commit: planted, subject: PLANTED, files: ['mm/page_owner.c'] } });
    // log2(8) steps, no endpoint needed: the answer lies inside the range
    expect(b.steps).toHaveLength(3);
    for (const s of b.steps) {
      const plantedIn = commits.indexOf(s.commit) >= commits.indexOf(planted);
      expect(s).toMatchObject({ role: 'bisect', status: plantedIn ? 'FAIL' : 'PASS', mark: plantedIn ? 'bad' : 'good' });
      const records9 = s.expectations.find((e) => e.expect === 'records9 == grown')!;
      expect(records9.values.records9).toBe(plantedIn ? 0 : records9.values.grown);
      console.log(`step ${s.n}: ${s.commit.slice(0, 12)} ${s.subject}: ${s.mark}, build ${s.buildSeconds} s (${compiledIn(s.resultsDir)} files compiled), step ${s.stepSeconds} s`);
    }
    // after the first, a step recompiles what its checkout changed, not the kernel
    for (const s of b.steps.slice(1)) expect(compiledIn(s.resultsDir)).toBeLessThan(10);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain(`\`${planted}\` ${PLANTED}`);

    // the user's tree as it was: HEAD, no changes, no bisection, no worktree
    expect((await git(repo, 'rev-parse', 'HEAD')).stdout).toBe(head);
    expect((await git(repo, 'status', '--porcelain')).stdout).toBe('');
    expect((await git(repo, 'worktree', 'list')).stdout.split('\n')).toHaveLength(1);
    expect((await git(repo, 'bisect', 'log').catch((e: { stderr: string }) => e)).stderr).toContain('We are not bisecting');
    expect(existsSync(b.buildTree)).toBe(false);
  });
});

describe('lab bisect interrupted', () => {
  it('Ctrl-C in a build ends cleanly (exit 130, make stopped, no worktree, no bisection in the tree); --resume goes on', async () => {
    // a stand-in kernel tree whose "build" takes a minute: the interruption is the point, not the kernel
    const repo = fakeKernelTree('6.12.117').tree;
    setFakeKernel({ SLEEP: '60' });
    await git(repo, 'init', '-q');
    for (const [i, name] of ['base', 'one', 'two', 'three'].entries()) {
      writeFileSync(join(repo, `file-${i}`), name);
      await git(repo, 'add', '-A');
      await git(repo, 'commit', '-qm', name);
    }
    const results = tempDir('lab-results-');
    const args = ['bisect', '--kernel-src', repo, '--good', 'HEAD~3', '--bad', 'HEAD', '--scenario', 'hugetlb'];
    // Ctrl-C as a terminal sends it: to the whole process group
    const cli = execa(LAB_CLI[0], [LAB_CLI[1], ...args], {
      cwd: repoRoot,
      env: { LAB_RESULTS_DIR: results },
      reject: false,
      detached: true,
      stdin: 'ignore',
    });
    let stderr = '';
    let sent = 0;
    cli.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /\[kernel\] building .* incrementally/.test(stderr)) {
        sent = Date.now();
        setTimeout(() => process.kill(-cli.pid!, 'SIGINT'), 2000);
      }
    });
    const first = await cli;
    expect(first.exitCode, stderr).toBe(130);
    expect(Date.now() - sent).toBeLessThan(20_000);
    // nothing of the group is left running: make and its sleep stopped (a zombie waiting for init is dead)
    const left = execa('ps', ['-o', 'stat=,args=', '-g', String(cli.pid)], { reject: false });
    expect((await left).stdout.split('\n').filter((l) => l.trim() && !l.trim().startsWith('Z'))).toEqual([]);
    const dir = /results: (\S+)/.exec(stderr)![1]!;
    const interrupted = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8')) as BisectResult;
    expect(interrupted).toMatchObject({ status: 'interrupted', steps: [] });
    expect((await git(repo, 'worktree', 'list')).stdout.split('\n')).toHaveLength(1);
    expect((await git(repo, 'bisect', 'log').catch((e: { stderr: string }) => e)).stderr).toContain('We are not bisecting');

    // the stand-in kernel boots nothing: every step is skipped, and the range gives no answer
    setFakeKernel({});
    const resumed = await lab([...args, '--resume'], { LAB_RESULTS_DIR: results });
    expect(resumed.exitCode, `${resumed.stdout}\n${resumed.stderr}`).toBe(1);
    const b = JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8')) as BisectResult;
    expect(b).toMatchObject({ status: 'no-answer', resumed: 1 });
    expect(b.steps.length).toBeGreaterThan(0);
    expect(b.steps.every((s) => s.mark === 'skip' && /MODULE_BUILD_FAILED/.test(s.reason!))).toBe(true);
    expect((await git(repo, 'worktree', 'list')).stdout.split('\n')).toHaveLength(1);
  });
});
