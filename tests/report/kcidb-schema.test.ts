import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { toKcidb } from '../../lab/report/kcidb.ts';
import { kcidbWriter } from '../../lab/report/writers.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { schemaValidator } from '../helpers/schema.ts';
import { tempDir } from '../helpers/temp.ts';

const fixtures = join(repoRoot, 'tests', 'fixtures');
const { validate, errors } = schemaValidator(join(fixtures, 'kcidb', 'kcidb-io.schema.v5.3.json'));

const run = (release: string) => JSON.parse(readFileSync(join(fixtures, 'runs', `suite-${release}.json`), 'utf8')) as RunResult;

describe('kcidb.json against the KCIDB v5.3 schema (kernelci/kcidb-io)', () => {
  it.each(['6.1.192', '6.6.87', '6.12.117'])('kcidb.json as the reporter writes it for the real %s suite run is valid', async (release) => {
    const dir = tempDir('kcidb-');
    await kcidbWriter.onEnd(run(release), dir);
    const doc = JSON.parse(readFileSync(join(dir, 'kcidb.json'), 'utf8')) as { tests: unknown[] };
    expect(doc.tests.length).toBeGreaterThan(50);
    expect(validate(doc), errors().join('\n')).toBe(true);
  });

  it('a run that failed before its build is valid too', () => {
    const r = run('6.12.117');
    const failed: RunResult = { ...r, kernel: undefined, status: 'ERROR', scenarios: [], error: { code: 'KERNEL_BUILD_FAILED', message: 'make failed', stage: 'kernel' } };
    expect(validate(toKcidb(failed)), errors().join('\n')).toBe(true);
  });

  it('log excerpts stay within the schema: at most 16384 characters, no NUL (console output may carry both)', () => {
    const r = run('6.12.117');
    const s = r.scenarios[0]!;
    const noisy: RunResult = { ...r, scenarios: [{ ...s, status: 'ERROR', error: { code: 'GUEST_LOST', message: `console:\0${'x'.repeat(20_000)}` } }] };
    const doc = toKcidb(noisy) as { tests: { log_excerpt?: string }[] };
    expect(validate(doc), errors().join('\n')).toBe(true);
    expect(doc.tests[0]!.log_excerpt!.length).toBe(16_384);
  });

  it('refuses a broken record: a bad id, a status KCIDB does not know, a missing build_id', () => {
    const doc = toKcidb(run('6.1.192')) as { checkouts: Record<string, unknown>[]; tests: Record<string, unknown>[] };
    const broken = {
      ...doc,
      checkouts: [{ ...doc.checkouts[0], id: 'no-origin-prefix' }],
      tests: [{ ...doc.tests[0], status: 'PASSED' }, { ...doc.tests[1], build_id: undefined }, ...doc.tests.slice(2)],
    };
    expect(validate(JSON.parse(JSON.stringify(broken)))).toBe(false);
    const found = errors();
    expect(found).toContain('/checkouts/0/id must match pattern "^[a-z0-9_]+:[^\\0]*$"');
    expect(found).toContain('/tests/0/status must be equal to one of the allowed values');
    expect(found).toContain("/tests/1 must have required property 'build_id'");
  });
});
