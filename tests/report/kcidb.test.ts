import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { KCIDB_ORIGIN, toKcidb } from '../../lab/report/kcidb.ts';
import type { RunResult } from '../../lab/report/result.ts';

const run = JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', 'suite-6.1.192.json'), 'utf8')) as RunResult;

/** Every value, recursively: KCIDB accepts no null. */
function values(v: unknown): unknown[] {
  if (v === null || typeof v !== 'object') return [v];
  return Object.values(v as object).flatMap(values);
}

describe('KCIDB export of a real 6.1 suite run', () => {
  const doc = toKcidb(run) as {
    version: { major: number };
    checkouts: { id: string; origin: string }[];
    builds: { id: string; checkout_id: string; status: string; config_name: string; misc: { release: string; flavor: string } }[];
    tests: { id: string; origin: string; build_id: string; path: string; status: string }[];
  };

  it('is schema v5 with one checkout, one build, and the tests pointing at it', () => {
    expect(doc.version.major).toBe(5);
    expect(doc.checkouts).toHaveLength(1);
    expect(doc.builds[0]!.checkout_id).toBe(doc.checkouts[0]!.id);
    expect(doc.builds[0]!.misc.release).toBe('6.1.192');
    // the flavor is part of the build record
    expect(doc.builds[0]!.misc.flavor).toBe('lab');
    expect(doc.builds[0]!.config_name).toBe('tinyconfig+kernels/lab.config+flavors/lab');
    expect(doc.tests.every((t) => t.build_id === doc.builds[0]!.id && t.origin === KCIDB_ORIGIN)).toBe(true);
  });

  it('ids are "<origin>:<unique>", unique, and no value is null', () => {
    const ids = [...doc.checkouts, ...doc.builds, ...doc.tests].map((x) => x.id);
    expect(ids.every((i) => i.startsWith(`${KCIDB_ORIGIN}:`))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(values(doc).includes(null)).toBe(false);
    expect(values(doc).includes(undefined)).toBe(false);
  });

  it('a test per scenario and per expectation, with dot-separated paths and KCIDB statuses', () => {
    expect(doc.tests.find((t) => t.path === 'page_owner.hugetlb')!.status).toBe('PASS');
    expect(doc.tests.filter((t) => t.path.startsWith('page_owner.hugetlb.expect_')).length).toBe(8);
    expect(doc.tests.every((t) => /^page_owner(\.[a-z0-9_]+)+$/.test(t.path))).toBe(true);
    expect(doc.tests.every((t) => ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP'].includes(t.status))).toBe(true);
  });

  it('--repeat: every repetition is a test of its own, ids still unique', () => {
    const hugetlb = run.scenarios.find((s) => s.name === 'hugetlb')!;
    const repeated = { ...run, scenarios: [1, 2, 3].map((repetition) => ({ ...hugetlb, repetition })) };
    const ids = (toKcidb(repeated) as typeof doc).tests.map((t) => t.id);
    expect(ids.length).toBe(3 * (1 + 8 + hugetlb.checks!.expectations.length));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
