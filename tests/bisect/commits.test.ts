import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBisect, type StepInput } from '../../lab/bisect/commits.ts';
import { resolveConfig } from '../../lab/core/config.ts';
import { InputError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import type { BisectResult } from '../../lab/report/bisect.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { fakeKernelTree } from '../helpers/fake-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The bisection's logic on a real git repository of a stand-in kernel tree,
 * with a stand-in step: the "scenario" reads the file `behaviour` of the
 * revision the worktree holds (good, bad or broken). Git, the worktree, the
 * marks, the state for --resume and the reports are all real.
 */
const gitIn = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', '-C', dir, ...args], { encoding: 'utf8', stdio: 'pipe' }).trim();

/** A repository whose commits 1..n set `behaviour` to what `kinds` says; commit 0 is good. */
function repository(kinds: string[]): { repo: string; commits: string[] } {
  const repo = fakeKernelTree().tree;
  gitIn(repo, 'init', '-q');
  writeFileSync(join(repo, 'behaviour'), 'good\n');
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'base');
  const commits = [gitIn(repo, 'rev-parse', 'HEAD')];
  kinds.forEach((kind, i) => {
    writeFileSync(join(repo, 'behaviour'), `${kind}\n`);
    writeFileSync(join(repo, `doc-${i + 1}.txt`), `${i}\n`);
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '-qm', `commit ${i + 1}: ${kind}`);
    commits.push(gitIn(repo, 'rev-parse', 'HEAD'));
  });
  return { repo, commits };
}

function setup(kinds: string[]) {
  const { repo, commits } = repository(kinds);
  const cache = tempDir('lab-cache-');
  const results = tempDir('lab-results-');
  const config = resolveConfig({ env: { LAB_CACHE_DIR: cache, LAB_RESULTS_DIR: results } });
  const tested: string[] = [];
  const step = async (s: StepInput): Promise<RunResult> => {
    const head = gitIn(s.worktree, 'rev-parse', 'HEAD');
    expect(head).toBe(s.commit);
    tested.push(s.commit);
    const behaviour = readFileSync(join(s.worktree, 'behaviour'), 'utf8').trim();
    const status = behaviour === 'good' ? 'PASS' : behaviour === 'bad' ? 'FAIL' : 'ERROR';
    const verdict = status === 'PASS' ? 'pass' : 'fail';
    const records = status === 'PASS' ? 32 : 0;
    return {
      status,
      ...(status === 'ERROR' ? { error: { stage: 'kernel', code: 'KERNEL_BUILD_FAILED', message: 'make exited with code 2' } } : {}),
      kernel: { buildSeconds: 1.5 },
      scenarios: [
        {
          name: 'hugetlb',
          judgement: {
            verdict,
            variables: {},
            expectations: [{ expect: 'records9 >= grown', verdict, left: records, right: 32, values: { records9: records, grown: 32 }, message: `records9 >= grown: ${records} >= 32 is ${verdict === 'pass'}` }],
          },
        },
      ],
    } as unknown as RunResult;
  };
  const bisect = (more: Partial<Parameters<typeof runBisect>[0]> = {}) =>
    runBisect({ config, tree: repo, good: commits[0]!, bad: commits.at(-1)!, scenario: 'hugetlb', reporter: consoleReporter({ quiet: true }), runStep: step, ...more });
  return { repo, commits, cache, results, tested, bisect, step };
}

const json = (dir: string): BisectResult => JSON.parse(readFileSync(join(dir, 'bisect.json'), 'utf8')) as BisectResult;

/** The user's repository as the bisection found it: same HEAD, clean, not bisecting, one worktree. */
function untouched(repo: string, head: string) {
  expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(head);
  expect(gitIn(repo, 'status', '--porcelain')).toBe('');
  expect(gitIn(repo, 'worktree', 'list')).not.toContain('\n');
  expect(() => gitIn(repo, 'bisect', 'log')).toThrow();
}

describe('lab bisect (stand-in steps on a real git repository)', () => {
  it('names the first bad commit in log2(8) steps, with its files, and leaves the tree as it was', async () => {
    const t = setup(['good', 'good', 'good', 'bad', 'bad', 'bad', 'bad', 'bad']);
    const head = gitIn(t.repo, 'rev-parse', 'HEAD');
    const { result, resultsDir } = await t.bisect();
    expect(result.status).toBe('found');
    expect(result.firstBad).toEqual({ commit: t.commits[4], subject: 'commit 4: bad', files: ['behaviour', 'doc-4.txt'] });
    expect(result.steps).toHaveLength(3);
    expect(result.steps.map((s) => s.mark)).toEqual(t.tested.map((c) => (t.commits.indexOf(c) >= 4 ? 'bad' : 'good')));
    expect(result.steps[0]).toMatchObject({ n: 1, role: 'bisect', buildSeconds: 1.5, expectations: [{ expect: 'records9 >= grown' }] });
    expect(result.message).toBe(`first bad commit: ${t.commits[4]!.slice(0, 12)} commit 4: bad (behaviour, doc-4.txt)`);
    untouched(t.repo, head);
    expect(json(resultsDir)).toEqual(JSON.parse(JSON.stringify(result)));
    const summary = readFileSync(join(resultsDir, 'summary.md'), 'utf8');
    expect(summary).toContain(`\`${t.commits[4]}\` commit 4: bad`);
    expect(summary).toMatch(/\| 1 \| `[0-9a-f]{12}` \| commit 4: bad \| 1\.5s \| [\d.]+s \| FAIL \| bad \| 0 \(records9=0, grown=32\) FAIL \|/);
    expect(readFileSync(join(resultsDir, 'bisect.md'), 'utf8')).toContain('git bisect start');
    expect(readFileSync(join(resultsDir, 'junit.xml'), 'utf8')).toMatch(/tests="3" failures="\d" errors="0" skipped="0"/);
    // done: nothing left to resume, the build tree gone
    expect(existsSync(join(t.cache, 'bisect'))).toBe(true);
    expect(execFileSync('ls', [join(t.cache, 'bisect')], { encoding: 'utf8' })).toBe('');
  });

  it('skips what does not build; with only skipped revisions left the range gives no answer, naming the candidates', async () => {
    const t = setup(['good', 'broken', 'broken', 'broken', 'bad', 'bad']);
    const { result } = await t.bisect();
    expect(result.status).toBe('no-answer');
    expect(result.steps.filter((s) => s.mark === 'skip').map((s) => s.reason)).toContain('kernel: KERNEL_BUILD_FAILED: make exited with code 2');
    expect(result.candidates!.map((c) => c.commit).sort()).toEqual(t.commits.slice(2, 6).sort());
    expect(result.message).toMatch(/^no answer: only skipped revisions are left; the first bad commit is one of 4: /);
  });

  it('tests --bad when every step passed: a passing --bad means no answer', async () => {
    const t = setup(['good', 'good', 'good', 'good']);
    const { result } = await t.bisect();
    expect(result.status).toBe('no-answer');
    expect(result.steps.at(-1)).toMatchObject({ commit: t.commits[4], role: 'endpoint', mark: 'good' });
    expect(result.message).toBe(`no answer: --bad ${t.commits[4]} passes the scenario too; nothing in the range changed what it sees`);
  });

  it('tests --good when the answer follows it: a passing --good confirms it, a failing one means no answer', async () => {
    const t = setup(['bad', 'bad', 'bad', 'bad']);
    const confirmed = (await t.bisect()).result;
    expect(confirmed).toMatchObject({ status: 'found', firstBad: { commit: t.commits[1] } });
    expect(confirmed.steps.at(-1)).toMatchObject({ commit: t.commits[0], role: 'endpoint', mark: 'good' });
    expect(confirmed.message).toMatch(/; --good confirmed by testing the endpoint$/);

    const { result } = await t.bisect({ good: t.commits[1] });
    expect(result.status).toBe('no-answer');
    expect(result.steps.at(-1)).toMatchObject({ commit: t.commits[1], role: 'endpoint', mark: 'bad' });
    expect(result.message).toBe(`no answer: --good ${t.commits[1]} fails the scenario too; the change is older than the range`);
  });

  it('Ctrl-C ends cleanly (no worktree, no bisect in the tree); --resume continues without redoing a step', async () => {
    const t = setup(['good', 'good', 'good', 'good', 'good', 'bad', 'bad', 'bad']);
    const head = gitIn(t.repo, 'rev-parse', 'HEAD');
    const controller = new AbortController();
    let steps = 0;
    const interrupted = await t.bisect({
      signal: controller.signal,
      runStep: async (s) => {
        const r = await t.step(s);
        if (++steps === 2) controller.abort();
        return r;
      },
    });
    expect(interrupted.result.status).toBe('interrupted');
    expect(interrupted.result.steps).toHaveLength(1);
    untouched(t.repo, head);

    const resumed = await t.bisect({ resume: true });
    expect(resumed.resultsDir).toBe(interrupted.resultsDir);
    expect(resumed.result).toMatchObject({ status: 'found', resumed: 1, firstBad: { commit: t.commits[6] } });
    expect(resumed.result.steps.map((s) => s.n)).toEqual([1, 2, 3]);
    // the step cut short runs again; the one marked before Ctrl-C does not
    expect(t.tested).toHaveLength(4);
    expect(new Set(t.tested).size).toBe(3);
    untouched(t.repo, head);
    await expect(t.bisect({ resume: true })).rejects.toThrow(/^--resume: no interrupted bisection of /);
  });

  it('bad input names the option and the value', async () => {
    const t = setup(['good', 'bad']);
    const code = async (more: Partial<Parameters<typeof runBisect>[0]>) => {
      try {
        await t.bisect(more);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return `${(e as InputError).code}: ${(e as InputError).message}`;
      }
      throw new Error('no error');
    };
    expect(await code({ good: 'v9.9' })).toBe(`UNKNOWN_REVISION: --good v9.9: no such commit in ${t.repo}`);
    expect(await code({ bad: 'deadbeef' })).toBe(`UNKNOWN_REVISION: --bad deadbeef: no such commit in ${t.repo}`);
    expect(await code({ good: t.commits[2], bad: t.commits[0] })).toMatch(/^BAD_RANGE: --good \w+ --bad \w+: good and bad are swapped/);
    expect(await code({ good: t.commits[1], bad: t.commits[1] })).toMatch(/^BAD_RANGE: .*there is nothing between them$/);
    expect(await code({ tree: tmpdir() })).toMatch(/^NOT_A_GIT_TREE: --kernel-src \S+: not a git tree/);
    expect(await code({ scenario: 'hugetbl' })).toMatch(/^UNKNOWN_SCENARIO: --scenario "hugetbl": no such scenario; did you mean "hugetlb"\?/);
    expect(await code({ expect: ['records9 >'] })).toMatch(/^BAD_OPTION: --expect "records9 >": /);
    expect(await code({ resume: true })).toMatch(/^NO_BISECTION_TO_RESUME: --resume: no interrupted bisection/);
    expect(t.tested).toEqual([]);
  });
});
