import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../lab/core/errors.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { listScenarios, loadScenario, parseScenario } from '../../lab/scenario/load.ts';

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
    parseScenario(text, join(dir, 'broken.yaml'));
  } catch (e) {
    return e as InputError;
  }
  throw new Error('no error');
};

describe('scenario files', () => {
  it('every scenario in scenarios/ is valid', async () => {
    const names = await listScenarios(dir);
    expect(names).toContain('hugetlb');
    for (const n of names) await expect(loadScenario(dir, n)).resolves.toMatchObject({ name: n });
  });

  it('fills defaults', () => {
    const s = parseScenario(base, 'x.yaml');
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
    await expect(loadScenario(dir, 'hugetbl')).rejects.toThrow(/no such scenario; did you mean "hugetlb"\? \(available: .*hugetlb/);
  });
});
