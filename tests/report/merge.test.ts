import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { copyScenarioFolders, mergeRuns, type Shard } from '../../lab/report/merge.ts';
import { readRunResult, type RunResult } from '../../lab/report/result.ts';
import { tempDir } from '../helpers/temp.ts';

const fixture = (release: string) => JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', `suite-${release}.json`), 'utf8')) as RunResult;

/** A real suite run cut into shards as CI runs them: each its own folder, result.json and scenario folders. */
function shards(release: string, parts: string[][]): Shard[] {
  const full = fixture(release);
  return parts.map((names, i) => {
    const dir = tempDir(`shard-${i + 1}-`);
    const run: RunResult = { ...full, runId: `${full.runId}-shard${i + 1}`, scenarios: full.scenarios.filter((s) => names.includes(s.name)) };
    for (const s of run.scenarios) {
      const folder = join(dir, 'scenarios', s.name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'guest-commands.log'), `${s.name}\n`);
    }
    writeFileSync(join(dir, 'result.json'), JSON.stringify(run));
    return { path: dir, run };
  });
}

describe('lab merge', () => {
  it('two shards of the real 6.12 suite run become one run, read back like any other', async () => {
    const parts = shards('6.12.117', [['balance', 'hugetlb', 'idle-baseline'], ['module-filter', 'thp-fault-split']]);
    const out = tempDir('merged-');
    const merged = mergeRuns(parts, 'merged-run', out);
    await copyScenarioFolders(parts, out);
    writeFileSync(join(out, 'result.json'), JSON.stringify(merged));

    const back = await readRunResult(out);
    expect(back.schemaVersion).toBe(2);
    expect(back.scenarios.map((s) => s.name)).toEqual(['balance', 'hugetlb', 'idle-baseline', 'module-filter', 'thp-fault-split']);
    expect(back.status).toBe('PASS');
    expect(back.kernel!.cacheKey).toBe(fixture('6.12.117').kernel!.cacheKey);
    // boots kept, stage times summed, guests counted
    const one = fixture('6.12.117');
    expect(back.boots).toHaveLength(2 * one.boots.length);
    expect(back.stages.scenarios).toBeCloseTo(2 * one.stages.scenarios!, 6);
    expect(back.guest!.boots).toBe(2 * one.guest!.boots);
    expect(back.mergedFrom!.map((m) => m.runId)).toEqual([`${one.runId}-shard1`, `${one.runId}-shard2`]);
    // every scenario folder now lives in the merged run
    expect(back.scenarios.every((s) => s.resultsDir === join(out, 'scenarios', s.name))).toBe(true);
    expect(readFileSync(join(out, 'scenarios', 'module-filter', 'guest-commands.log'), 'utf8')).toBe('module-filter\n');
  });

  it('recomputes the status: a failed scenario in one shard fails the merged run, an error in one errs it', () => {
    const parts = shards('6.1.192', [['balance'], ['hugetlb']]);
    parts[1]!.run.scenarios[0]!.status = 'FAIL';
    expect(mergeRuns(parts, 'm', '/tmp/m').status).toBe('FAIL');
    parts[0]!.run.error = { code: 'GUEST_LOST', message: 'the guest went away', stage: 'scenarios' };
    const merged = mergeRuns(parts, 'm', '/tmp/m');
    expect(merged.status).toBe('ERROR');
    expect(merged.error!.code).toBe('GUEST_LOST');
  });

  it('refuses shards of different kernels, naming both', () => {
    const [a] = shards('6.1.192', [['balance']]);
    const [b] = shards('6.12.117', [['hugetlb']]);
    expect(() => mergeRuns([a!, b!], 'm', '/tmp/m')).toThrow(
      `lab merge: ${a!.path} (6.1.192, key ${a!.run.kernel!.cacheKey.slice(0, 16)}, flavor lab) and ${b!.path} (6.12.117, key ${b!.run.kernel!.cacheKey.slice(0, 16)}, flavor lab) are different kernel builds (cache keys differ)`,
    );
    expect(() => mergeRuns([a!, b!], 'm', '/tmp/m')).toThrow(expect.objectContaining({ code: 'RUNS_NOT_MERGEABLE', exitCode: 2 }));
  });

  it('refuses the same scenario twice (repetitions are runs of their own for lab report)', () => {
    const parts = shards('6.6.87', [['hugetlb'], ['hugetlb']]);
    expect(() => mergeRuns(parts, 'm', '/tmp/m')).toThrow(/scenario hugetlb is in both .* shards hold disjoint scenarios/);
  });
});
