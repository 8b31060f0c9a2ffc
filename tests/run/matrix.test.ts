import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { matrixCells, renderMatrix, shard, type MatrixCell } from '../../lab/run/matrix.ts';
import { listScenarios } from '../../lab/scenario/load.ts';

const dirs = { scenarios: join(repoRoot, 'scenarios'), repo: repoRoot };
const cells = (kernels: string[], o: { scenarios?: string[]; shards?: number; flavors?: string[] } = {}) =>
  matrixCells({ kernels, scenarios: o.scenarios ?? [], shards: o.shards ?? 1, flavors: o.flavors ?? ['lab'] }, dirs);

describe('shard', () => {
  it('splits round-robin, every item once, the same way every time', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(shard(items, 3)).toEqual([['a', 'd', 'g'], ['b', 'e'], ['c', 'f']]);
    expect(shard(items, 1)).toEqual([items]);
    // never an empty shard: lab run without --scenario would run the whole suite
    expect(shard(['a', 'b'], 5)).toEqual([['a'], ['b']]);
  });
});

describe('the CI matrix', () => {
  it('one cell per kernel and shard, covering the default suite once per kernel', async () => {
    const all = await listScenarios(dirs.scenarios);
    const c = await cells(['6.1', '6.6', '6.12'], { shards: 3 });
    expect(c).toHaveLength(9);
    for (const k of ['6.1', '6.6', '6.12']) {
      const mine = c.filter((x) => x.kernel === k);
      expect(mine.map((x) => x.shard)).toEqual(['1/3', '2/3', '3/3']);
      expect(mine.flatMap((x) => x.scenarios.split(',')).sort()).toEqual(all);
      // the shards of one kernel build share the first part of their results folder: what the report job merges by
      expect(new Set(mine.map((x) => x.results.split('/')[0]))).toEqual(new Set([`${k}-lab`]));
    }
    expect(new Set(c.map((x) => x.name)).size).toBe(9);
    expect(c[0]).toEqual({ name: '6.1-lab-1of3', kernel: '6.1', flavor: 'lab', scenarios: 'balance,idle-baseline,stress-ng-vm', shard: '1/3', results: '6.1-lab/shard-1of3' });
  });

  it('selects by name and glob, and crosses flavors', async () => {
    const c = await cells(['6.12'], { scenarios: ['idle-*', 'hugetlb'], flavors: ['lab', 'debug'] });
    expect(c.map((x) => [x.name, x.scenarios])).toEqual([
      ['6.12-lab-1of1', 'hugetlb,idle-baseline'],
      ['6.12-debug-1of1', 'hugetlb,idle-baseline'],
    ]);
  });

  it('refuses bad input, naming the option and the value', async () => {
    await expect(cells(['6.x'])).rejects.toThrow('--kernels "6.x": not a kernel version');
    await expect(cells(['6.1'], { scenarios: ['hugetbl'] })).rejects.toThrow('--scenarios "hugetbl": no such scenario; did you mean "hugetlb"?');
    await expect(cells(['6.1'], { shards: 0 })).rejects.toThrow('--shards "0": expected a positive whole number');
    await expect(cells(['6.1'], { flavors: ['fast'] })).rejects.toThrow('--flavor "fast": no kernels/flavors/fast.config; accepted: debug, lab');
    await expect(cells(['6.1'], { shards: 0 })).rejects.toMatchObject({ code: 'BAD_OPTION', exitCode: 2 });
  });

  it('renders for GitHub (one JSON line), GitLab (parallel:matrix, strings only) and as JSON', async () => {
    const c = await cells(['6.1', '6.12'], { scenarios: ['hugetlb', 'balance'], shards: 2 });
    const gh = renderMatrix(c, 'github');
    expect(gh.trimEnd()).not.toContain('\n');
    expect(JSON.parse(gh)).toEqual({ include: c });
    const gl = parse(renderMatrix(c, 'gitlab')) as { parallel: { matrix: Record<string, unknown>[] } };
    expect(gl.parallel.matrix).toHaveLength(4);
    // unquoted, 6.10 would be the number 6.1
    expect(gl.parallel.matrix.every((v) => Object.values(v).every((x) => typeof x === 'string'))).toBe(true);
    expect(gl.parallel.matrix[2]).toEqual({ CELL_NAME: '6.12-lab-1of2', CELL_KERNEL: '6.12', CELL_FLAVOR: 'lab', CELL_SCENARIOS: 'balance', CELL_SHARD: '1/2', CELL_RESULTS: '6.12-lab/shard-1of2' });
    expect(JSON.parse(renderMatrix(c, 'json')) as MatrixCell[]).toEqual(c);
  });
});
