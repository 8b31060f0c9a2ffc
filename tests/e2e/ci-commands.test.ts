import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { lab } from '../helpers/cli.ts';
import { schemaValidator } from '../helpers/schema.ts';
import { tempDir } from '../helpers/temp.ts';

/** lab matrix and lab merge through the real CLI: what the CI workflows call. */
describe('lab matrix', () => {
  it('prints the GitHub include list on one line', async () => {
    const r = await lab(['matrix', '--kernels', '6.1,6.12', '--scenarios', 'idle-baseline', '--format', 'github']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      '{"include":[{"name":"6.1-lab-1of1","kernel":"6.1","flavor":"lab","scenarios":"idle-baseline","shard":"1/1","results":"6.1-lab/shard-1of1"},' +
        '{"name":"6.12-lab-1of1","kernel":"6.12","flavor":"lab","scenarios":"idle-baseline","shard":"1/1","results":"6.12-lab/shard-1of1"}]}',
    );
  });

  it.each([
    [['--kernels', 'six'], 'lab: --kernels "six": not a kernel version; accepted: a series like 6.12, an exact release like 6.6.58, lts or newest'],
    [['--kernels', '6.1', '--scenarios', 'nope'], 'lab: --scenarios "nope": no such scenario (available: '],
    [['--kernels', '6.1', '--shards', '0'], 'lab: --shards "0": expected a positive whole number'],
    [['--kernels', '6.1', '--format', 'jenkins'], 'lab: --format "jenkins": accepted: github, gitlab, json'],
  ])('exits 2 on bad input: %j', async (args, message) => {
    const r = await lab(['matrix', ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

describe('lab merge', () => {
  const shard = (release: string, names: string[]) => {
    const dir = tempDir('shard-');
    const run = JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', `suite-${release}.json`), 'utf8')) as { scenarios: { name: string }[] };
    run.scenarios = run.scenarios.filter((s) => names.includes(s.name));
    for (const n of names) mkdirSync(join(dir, 'scenarios', n), { recursive: true });
    writeFileSync(join(dir, 'result.json'), JSON.stringify(run));
    return dir;
  };

  it('writes one run with every reporter\'s file', async () => {
    const out = join(tempDir('merged-'), 'run');
    const r = await lab(['merge', shard('6.12.117', ['balance']), shard('6.12.117', ['hugetlb', 'idle-baseline']), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`PASS: 6.12.117 (lab), 2 runs, 3 scenarios merged into ${out}`);
    expect(readdirSync(out).sort()).toEqual(['junit.xml', 'kcidb.json', 'result.json', 'scenarios', 'summary.md']);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('classname="page-owner-lab.6.12.117.idle-baseline"');
    const kcidb = schemaValidator(join(repoRoot, 'tests', 'fixtures', 'kcidb', 'kcidb-io.schema.v5.3.json'));
    expect(kcidb.validate(JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8'))), kcidb.errors().join('\n')).toBe(true);
  });

  it('refuses two kernels with exit 2, naming both', async () => {
    const a = shard('6.1.192', ['balance']);
    const b = shard('6.12.117', ['hugetlb']);
    const r = await lab(['merge', a, b]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^lab: lab merge: ${a} \\(6\\.1\\.192, key [0-9a-f]{16}, flavor lab\\) and ${b} \\(6\\.12\\.117, key [0-9a-f]{16}, flavor lab\\) are different kernel builds`));
  });
});
