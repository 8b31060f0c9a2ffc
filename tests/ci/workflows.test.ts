import { validateWorkflow } from '@action-validator/core';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
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
    expect(codes(text.replace('    runs-on: ubuntu-latest\n    container: node:20-bookworm\n    outputs:', '    runs_on: ubuntu-latest\n    container: node:20-bookworm\n    outputs:'))).toEqual(['one_of /jobs/matrix']);
  });

  it('runs nightly and by hand, and the cells take their matrix from the matrix job', () => {
    const wf = parse(text) as { on: Record<string, unknown>; jobs: Record<string, { needs?: string; strategy?: { matrix: string } }> };
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(wf.jobs.cell!.strategy!.matrix).toBe('${{ fromJSON(needs.matrix.outputs.matrix) }}');
    expect(wf.jobs.report!.needs).toEqual(['matrix', 'cell']);
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
      report: { variables: { NIGHTLY_MATRIX: string } };
    };
    expect(validate(child), errors().join('\n')).toBe(true);
    expect(child.include).toEqual([{ local: '.ci/gitlab-nightly.yml' }]);
    expect(child.cell.parallel.matrix.map((c) => c.CELL_NAME)).toEqual(['6.1-lab-1of2', '6.1-lab-2of2', '6.12-lab-1of2', '6.12-lab-2of2']);
    // hidden keys (.cell) may hold anything for the schema: check the job as GitLab resolves `extends`
    const jobs = parse(read('.ci/gitlab-nightly.yml')) as Record<string, object>;
    const { extends: template, ...own } = child.cell;
    expect(validate({ stages: jobs.stages, cell: { ...jobs[template], ...own }, report: { ...jobs.report, ...child.report } }), errors().join('\n')).toBe(true);
    // the report job knows every cell to expect: a missing one makes the night incomplete
    expect((JSON.parse(child.report.variables.NIGHTLY_MATRIX) as { name: string }[]).map((c) => c.name)).toEqual(child.cell.parallel.matrix.map((c) => c.CELL_NAME));
    // infrastructure is retried once by GitLab, as a new job whose artifacts replace the first try's
    expect((jobs['.cell'] as { retry: unknown }).retry).toEqual({ max: 1, exit_codes: [3] });
  });

  it('the schema does catch a broken pipeline (a misspelt keyword, a bad cache policy)', () => {
    const gl = parse(read('.ci/gitlab-nightly.yml')) as Record<string, Record<string, unknown>>;
    expect(validate({ ...gl, report: { ...gl.report, scripts: gl.report!.script } })).toBe(false);
    expect(errors()).toContain('/report must NOT have additional properties');
    expect(validate({ ...gl, report: { ...gl.report, cache: { key: 'k', paths: ['x'], policy: 'sometimes' } } })).toBe(false);
    expect(errors()).toContain('/report/cache/policy must match pattern "pull-push|pull|push|\\$\\w{1,255}"');
  });
});
