import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { InputError } from '../../lab/core/errors.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { listScenarios, loadScenario, optInScenarios, parseScenario, withExpectations } from '../../lab/scenario/load.ts';
import { registry } from '../helpers/registry.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = join(repoRoot, 'scenarios');
const base = `description: test
steps:
  - name: grow
    run: echo 4
    capture:
      n: '^(\\d+)$'
expect:
  - module.seen[9] >= n
`;
const errorOf = (text: string): InputError => {
  try {
    parseScenario(text, join(dir, 'broken.yaml'), registry);
  } catch (e) {
    return e as InputError;
  }
  throw new Error('no error');
};

describe('scenario files', () => {
  it('every scenario in scenarios/ is valid', async () => {
    const names = await listScenarios(dir);
    expect(names).toContain('hugetlb');
    for (const n of names) await expect(loadScenario(dir, n, registry)).resolves.toMatchObject({ name: n });
  });

  it('opt-in scenarios (scenarios/<group>/) load by name and stay out of the default suite', async () => {
    const optIn = await optInScenarios(dir);
    expect([...optIn.keys()]).toEqual(expect.arrayContaining(['gigantic', 'memcg-dump']));
    const suite = await listScenarios(dir);
    for (const [n, file] of optIn) {
      expect(suite).not.toContain(n);
      await expect(loadScenario(dir, n, registry)).resolves.toMatchObject({ name: n, file });
    }
    const g = await loadScenario(dir, 'gigantic', registry);
    expect(g.requires.memory_mb).toBe(6144);
    expect(g.observers).toEqual(expect.arrayContaining(['module', 'bpf']));
    expect(g.observers).not.toContain('debugfs');
    await expect(loadScenario(dir, 'gigantc', registry)).rejects.toThrow(/did you mean "gigantic"\?.*memcg-dump/);
  });

  it('a folder, or a file whose name would climb out of the results folder, is exit 2 before anything runs', async () => {
    const tmp = tempDir('lab-scn-');
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
    await expect(loadScenario(dir, tmp, registry)).rejects.toMatchObject({ code: 'BAD_SCENARIO', exitCode: 2, message: `--scenario ${tmp}: a folder; expected a scenario file (.yaml) or a scenario's name` });
    writeFileSync(join(tmp, '...yaml'), readFileSync(join(dir, 'idle-baseline.yaml'), 'utf8'));
    await expect(loadScenario(dir, join(tmp, '...yaml'), registry)).rejects.toThrow(/the file's name "\.\." names the scenario and its results folder/);
  });

  it('fills defaults', () => {
    const s = parseScenario(base, 'x.yaml', registry);
    expect(s.steps[0]!.timeout_s).toBe(60);
    expect(s.module.orders).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.setup).toEqual([]);
  });

  it('names file, line and key of a typo and suggests the right key', () => {
    const e = errorOf(base.replace('expect:', 'expcet:'));
    expect(e).toBeInstanceOf(InputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^scenarios\/broken\.yaml:7: expcet: unknown key "expcet"; did you mean "expect"\?/);
  });

  it('names a nested key with a wrong type', () => {
    const e = errorOf(base.replace('run: echo 4', 'run: echo 4\n    timeout_s: soon'));
    expect(e.message).toMatch(/^scenarios\/broken\.yaml:5: steps\[0\]\.timeout_s: .*number/);
  });

  it('rejects an unknown metric with a did-you-mean', () => {
    const e = errorOf(base.replace('module.seen[9] >= n', 'bpf.sets[9] >= n'));
    expect(e.message).toBe('scenarios/broken.yaml:8: expect[0]: unknown metric "bpf.sets[9]"; did you mean "bpf.set[9]"?');
  });

  it('names a missing required key', () => {
    expect(errorOf(base.replace(/expect:[\s\S]*/, '')).message).toBe('scenarios/broken.yaml:1: expect: missing required key (array)');
  });

  it('points at the line of a YAML syntax error', () => {
    expect(errorOf(base.replace('run: echo 4', "run: 'echo 4")).message).toMatch(/^scenarios\/broken\.yaml:\d+: /);
  });

  it('rejects a bad expression with its column', () => {
    const e = errorOf(base.replace('module.seen[9] >= n', 'module.seen[9] >= >= n'));
    expect(e.message).toMatch(/expect\[0\]: unexpected ">=" at column 19/);
  });

  it('rejects a capture without exactly one group', () => {
    expect(errorOf(base.replace("'^(\\d+)$'", () => "'^\\d+$'")).message).toMatch(/capture\.n: the pattern needs exactly one \(group\), it has 0/);
  });

  it('rejects vars that use unknown names and participation of the wrong length', () => {
    expect(errorOf(`${base}vars:\n  twice: m * 2\n`).message).toMatch(/vars\.twice: unknown metric "m"/);
    expect(errorOf(`${base}module:\n  orders: [0, 9]\n  participation: [100]\n`).message).toMatch(
      /module\.participation: participation needs one value per order/,
    );
  });

  it('an unknown scenario name lists what exists', async () => {
    await expect(loadScenario(dir, 'hugetbl', registry)).rejects.toThrow(/no such scenario; did you mean "hugetlb"\? \(available: .*hugetlb/);
  });

  it('compiles once: parsed expectations, the metrics every part names, and the observers they need', () => {
    const s = parseScenario(
      `${base}vars:\n  held9: debugfs.records[9]\n  twice: held9 * 2\n`.replace('module.seen[9] >= n', 'held9 >= n'),
      'x.yaml',
      registry,
    );
    expect(s.expect[0]!.comparison.op).toBe('>=');
    expect(s.expect[0]!.refs).toEqual(['held9', 'n']);
    // the metric is named only by a variable: it still counts, and the dump is read for it
    expect(s.metrics).toEqual(['debugfs.records[9]']);
    expect(s.observers).toEqual(['debugfs']);
    expect(s.vars.map((v) => v.name)).toEqual(['held9', 'twice']);
  });

  it('the registry is the one list: what validation accepts, the judge can read, and nothing else', () => {
    for (const ok of ['debugfs.records_comm[0]', 'bpf.split_folios', 'bpf.set_pages', 'module.pages', 'vmstat.pgalloc_sum.delta', 'debugfs.memcg_charged']) {
      expect(errorOfOrNone(base.replace('module.seen[9] >= n', `${ok} >= n`)), ok).toBeUndefined();
    }
    // the judge once accepted these and ignored the index; validation must reject them
    for (const bad of ['debugfs.pages[3]', 'bpf.traced[anything]', 'bpf.copy[2]']) {
      expect(errorOf(base.replace('module.seen[9] >= n', `${bad} >= n`)).message, bad).toMatch(/unknown metric/);
    }
  });
});

function errorOfOrNone(text: string): InputError | undefined {
  try {
    parseScenario(text, join(dir, 'broken.yaml'), registry);
    return undefined;
  } catch (e) {
    return e as InputError;
  }
}

describe('--expect on a compiled scenario (lab bisect)', () => {
  it('replaces the expectations with the same left side and adds the others; the observers follow', async () => {
    const hugetlb = await loadScenario(dir, 'hugetlb', registry);
    expect(hugetlb.observers).not.toContain('debugfs');
    const s = withExpectations(hugetlb, ['records9 >= 30', 'bpf.set[9] <= 10', 'debugfs.records[9] >= 1'], registry);
    const sources = s.expect.map((e) => e.source);
    expect(sources).not.toContain('records9 >= grown');
    expect(sources.filter((e) => e.startsWith('bpf.set[9]'))).toEqual(['bpf.set[9] <= 10']);
    expect(sources.slice(-3)).toEqual(['records9 >= 30', 'bpf.set[9] <= 10', 'debugfs.records[9] >= 1']);
    expect(sources).toContain('module.seen[9] >= grown');
    expect(s.expect).toHaveLength(hugetlb.expect.length + 1);
    expect(s.observers).toContain('debugfs');
    expect(s.metrics).toContain('debugfs.records[9]');
  });

  it('a bad expression or an unknown name names the option and the value', async () => {
    const hugetlb = await loadScenario(dir, 'hugetlb', registry);
    const errorOfExpect = (src: string) => {
      try {
        withExpectations(hugetlb, [src], registry);
      } catch (e) {
        return e as InputError;
      }
      throw new Error('no error');
    };
    expect(errorOfExpect('bpf.set[9] <=').message).toMatch(/^--expect "bpf\.set\[9\] <=": .* at column \d+$/);
    const unknown = errorOfExpect('bpf.sets[9] <= 10');
    expect(unknown.code).toBe('BAD_OPTION');
    expect(unknown.message).toBe(
      '--expect "bpf.sets[9] <= 10": unknown metric "bpf.sets[9]"; did you mean "bpf.set[9]"? (hugetlb\'s variables: pool_before, pool_after, records9, pool_end, grown)',
    );
  });
});
