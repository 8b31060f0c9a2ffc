import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEndpoints, markOf, nextStep, runReleaseBisect, type Mark, type ReleaseBisectOptions } from '../../lab/bisect/releases.ts';
import { resolveConfig } from '../../lab/core/config.ts';
import { InputError } from '../../lab/core/errors.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { faultingFunction } from '../../lab/report/bug.ts';
import { outcomeOf, type ReleaseBisectResult } from '../../lab/report/release-bisect.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { tempDir } from '../helpers/temp.ts';

/** Real result.json files, unedited (tests/fixtures/runs/known-issues): what each release's step returns here. */
const run = (name: string) => JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', 'known-issues', name), 'utf8')) as RunResult;
const memcgPass = run('6.12.107-memcg-dump.json');
const memcgOops = run('6.12.117-memcg-dump.json');
const giganticOops = run('6.12.117-gigantic.json');
const giganticPass = { ...run('7.3.4-memcg-dump-gigantic.json'), scenarios: run('7.3.4-memcg-dump-gigantic.json').scenarios.filter((s) => s.name === 'gigantic') };

describe('the search over releases', () => {
  const walk = (outcomes: Record<number, Mark>, count: number) => {
    const marks: (Mark | undefined)[] = Array.from({ length: count }, () => undefined);
    const tested: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = nextStep(count, marks);
      if (s.kind !== 'test') return { state: s, tested };
      tested.push(s.index);
      marks[s.index] = outcomes[s.index]!;
    }
    throw new Error('no end');
  };

  it('bisects from the middle and confirms the endpoint the answer rests on', () => {
    // 95, 107, 111, 113, 115, 116, 117 with the change between 113 and 115
    const r = walk({ 0: 'old', 1: 'old', 2: 'old', 3: 'old', 4: 'new', 5: 'new', 6: 'new' }, 7);
    expect(r.tested).toEqual([3, 4]);
    expect(r.state).toEqual({ kind: 'done', before: 3, after: 4, notes: [] });
  });

  it('tests the newer endpoint when every release between passes, the older when every one fails', () => {
    expect(walk({ 0: 'old', 1: 'old', 2: 'new' }, 3)).toEqual({ state: { kind: 'done', before: 1, after: 2, notes: [] }, tested: [1, 2] });
    expect(walk({ 0: 'old', 1: 'new', 2: 'new' }, 3)).toEqual({ state: { kind: 'done', before: 0, after: 1, notes: [] }, tested: [1, 0] });
  });

  it('says so when an endpoint contradicts the question', () => {
    expect(walk({ 0: 'old', 1: 'old', 2: 'old' }, 3).state).toMatchObject({ kind: 'no-answer', why: 'the newer endpoint still behaves as the older one' });
    expect(walk({ 0: 'new', 1: 'new', 2: 'new' }, 3).state).toMatchObject({ kind: 'no-answer', why: 'the older endpoint already behaves as the newer one' });
  });

  it('steps around a skipped release, and names the candidates when only skipped ones are left', () => {
    expect(walk({ 0: 'old', 1: 'skip', 2: 'old', 3: 'new', 4: 'new' }, 5)).toEqual({ state: { kind: 'done', before: 2, after: 3, notes: [] }, tested: [2, 3] });
    expect(walk({ 0: 'old', 1: 'skip', 2: 'new' }, 3).state).toEqual({ kind: 'no-answer', why: 'only skipped releases are left between the last old and the first new one', candidates: [1, 2] });
  });

  it('a pass is old and a fail new when looking for a regression; the reverse with --fixed', () => {
    expect([markOf('pass', 'regression'), markOf('fail', 'regression'), markOf('skip', 'regression')]).toEqual(['old', 'new', 'skip']);
    expect([markOf('pass', 'fix'), markOf('fail', 'fix')]).toEqual(['new', 'old']);
  });
});

describe('the endpoints', () => {
  it('orders them by the question, and refuses what cannot be a release', () => {
    expect(checkEndpoints('6.12.95', '6.12.117', false)).toEqual({ low: '6.12.95', high: '6.12.117', mode: 'regression' });
    expect(checkEndpoints('7.3.4', '6.12.117', true)).toEqual({ low: '6.12.117', high: '7.3.4', mode: 'fix' });
    expect(() => checkEndpoints('7.3.4', '6.12.117', false)).toThrow(/--good 7\.3\.4 is newer than --bad 6\.12\.117: to find the release that fixed it, add --fixed/);
    expect(() => checkEndpoints('6.12.95', '6.12.117', true)).toThrow(/--fixed: --bad 6\.12\.117 must be the older release/);
    expect(() => checkEndpoints('v6.12', '6.12.117', false)).toThrow(InputError);
    expect(() => checkEndpoints('6.12.95', '6.12.95', false)).toThrow(/both 6\.12\.95/);
  });
});

describe('what a real run says', () => {
  it('PASS passes; the 6.12.117 memcg-dump oops fails as a kernel error; the lab losing a guest by itself says nothing', () => {
    expect(outcomeOf(memcgPass)).toEqual({ outcome: 'pass' });
    const oops = outcomeOf(memcgOops);
    expect(oops.outcome).toBe('fail');
    expect(oops.reason).toMatch(/^kernel error: \[\s*[\d.]+\] BUG: unable to handle page fault/);
    expect(faultingFunction(memcgOops.scenarios[0]!.kernelReport!)).toBe('print_page_owner');
    const lost = { ...memcgOops, scenarios: memcgOops.scenarios.map((s) => ({ ...s, kernelReport: undefined })) };
    expect(outcomeOf(lost)).toMatchObject({ outcome: 'skip', reason: expect.stringMatching(/^GUEST_LOST: /) });
  });
});

describe('runReleaseBisect with stand-in steps that return real results', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const options = (o: Partial<ReleaseBisectOptions> & Pick<ReleaseBisectOptions, 'good' | 'bad' | 'scenario'>, releases: string[], outcome: (v: string) => RunResult) => {
    const cache = tempDir('lab-cache-');
    const results = tempDir('lab-results-');
    dirs.push(cache, results);
    const tested: string[] = [];
    const opts: ReleaseBisectOptions = {
      config: resolveConfig({ env: { LAB_CACHE_DIR: cache, LAB_RESULTS_DIR: results } }),
      reporter: consoleReporter({ quiet: true }),
      listReleases: async () => ({ releases: releases.map((version) => ({ version, from: ['Debian trixie'] })), tried: ['stand-in'] }),
      runRelease: async (version, _s, dir) => {
        tested.push(version);
        mkdirSync(dir, { recursive: true });
        return outcome(version);
      },
      describeChanges: async (from, to, ctx) => ({
        changes: {
          from: { version: from, tree: `/t/${from}` },
          to: { version: to, tree: `/t/${to}` },
          files: [{ file: 'mm/page_owner.c', why: 'page_owner', functions: ['print_page_owner_memcg'], lines: 3 }],
          changelogSources: ['stand-in'],
          changelog: [{ release: '6.12.114', text: `functions ${ctx.functions.join(' ')}`, names: ['page_owner'] }],
          keywords: ['page_owner'],
        },
        diffs: new Map([['mm/page_owner.c', '--- a/mm/page_owner.c\n+++ b/mm/page_owner.c\n@@ -1 +1 @@ static void print_page_owner_memcg(void)\n-a\n+b\n']]),
      }),
      ...o,
    };
    return { opts, tested };
  };

  it('memcg-dump from 6.12.95 to 6.12.117: last good 6.12.113, first bad 6.12.115, in two steps; the reports name both and show the diff', async () => {
    const { opts, tested } = options({ good: '6.12.95', bad: '6.12.117', scenario: 'memcg-dump' }, ['6.12.95', '6.12.107', '6.12.111', '6.12.113', '6.12.115', '6.12.116', '6.12.117'], (v) =>
      ['6.12.95', '6.12.107', '6.12.111', '6.12.113'].includes(v) ? memcgPass : memcgOops,
    );
    const { result, resultsDir } = await runReleaseBisect(opts);
    expect(tested).toEqual(['6.12.113', '6.12.115']);
    expect(result).toMatchObject({ status: 'found', mode: 'regression', answer: { before: '6.12.113', after: '6.12.115' }, message: 'last good 6.12.113, first bad 6.12.115' });
    // the hooks the guests probed and the function the oops names are what the changes are looked for by
    expect(result.changes!.changelog[0]!.text).toMatch(/__set_page_owner .*read_page_owner.* print_page_owner$/);
    expect(result.steps.map((s) => [s.version, s.outcome, s.rip])).toEqual([['6.12.113', 'pass', undefined], ['6.12.115', 'fail', 'print_page_owner']]);
    const md = readFileSync(join(resultsDir, 'bisect.md'), 'utf8');
    expect(md).toMatch(/# lab bisect \(releases\): first bad release found/);
    expect(md).toMatch(/```diff\n--- a\/mm\/page_owner\.c/);
    expect(md).toMatch(/- 6\.12\.114: functions/);
    expect(readFileSync(join(resultsDir, 'changes.diff'), 'utf8')).toMatch(/^--- a\/mm\/page_owner\.c/);
    expect((JSON.parse(readFileSync(join(resultsDir, 'bisect.json'), 'utf8')) as ReleaseBisectResult).answer).toEqual({ before: '6.12.113', after: '6.12.115' });
    expect(readFileSync(join(resultsDir, 'junit.xml'), 'utf8')).toMatch(/failures="1"/);
  });

  it('--fixed on gigantic from 6.12.117 to 7.3.4: the first fixed release is 7.2.13', async () => {
    const { opts, tested } = options({ good: '7.3.4', bad: '6.12.117', fixed: true, scenario: 'gigantic' }, ['6.12.117', '7.2.13', '7.3.4'], (v) => (v === '6.12.117' ? giganticOops : giganticPass));
    const { result } = await runReleaseBisect(opts);
    expect(tested).toEqual(['7.2.13', '6.12.117']);
    expect(result).toMatchObject({ status: 'found', mode: 'fix', answer: { before: '6.12.117', after: '7.2.13' }, message: 'last bad 6.12.117, first fixed 7.2.13' });
  });

  it('--releases bisects among those only (the endpoints always in); one the sources do not reach is bad input', async () => {
    const all = ['6.12.95', '6.12.107', '6.12.111', '6.12.113', '6.12.115', '6.12.116', '6.12.117'];
    const outcome = (v: string) => (['6.12.95', '6.12.107', '6.12.111', '6.12.113'].includes(v) ? memcgPass : memcgOops);
    const { opts, tested } = options({ good: '6.12.95', bad: '6.12.117', scenario: 'memcg-dump', releases: ['6.12.107', '6.12.116'] }, all, outcome);
    const { result } = await runReleaseBisect(opts);
    expect(result.releases.map((r) => r.version)).toEqual(['6.12.95', '6.12.107', '6.12.116', '6.12.117']);
    expect(tested).toEqual(['6.12.107', '6.12.116']);
    expect(result.answer).toEqual({ before: '6.12.107', after: '6.12.116' });
    const bad = options({ good: '6.12.95', bad: '6.12.117', scenario: 'memcg-dump', releases: ['6.12.114'] }, all, outcome);
    await expect(runReleaseBisect(bad.opts)).rejects.toThrow(/--releases 6\.12\.114: not a release the sources reach from 6\.12\.95 to 6\.12\.117; they reach 6\.12\.95, 6\.12\.107/);
  });

  it('an endpoint no source reaches is bad input, named with what each source gave', async () => {
    const { opts } = options({ good: '6.12.90', bad: '6.12.117', scenario: 'memcg-dump' }, ['6.12.95', '6.12.117'], () => memcgPass);
    await expect(runReleaseBisect(opts)).rejects.toThrow(/--good 6\.12\.90: no source reaches this release \(stand-in\)/);
  });

  it('no answer when the newer release passes too', async () => {
    const { opts } = options({ good: '6.12.95', bad: '6.12.107', scenario: 'memcg-dump' }, ['6.12.95', '6.12.107'], () => memcgPass);
    const { result } = await runReleaseBisect(opts);
    expect(result).toMatchObject({ status: 'no-answer', message: 'no answer: the newer endpoint still behaves as the older one' });
  });
});
