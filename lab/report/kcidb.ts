/**
 * KCIDB (KernelCI's results database) JSON, schema v5: one checkout (the
 * kernel source), one build (the lab config), and a test per scenario and per
 * expectation and cross-check. Ids are "<origin>:<unique>"; no value is null
 * (absent fields are left out), so the file can be submitted as it is.
 */
import type { RunResult } from './result.ts';

export const KCIDB_ORIGIN = 'page_owner_lab';
type Status = 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';

interface KcidbTest {
  id: string;
  origin: string;
  build_id: string;
  path: string;
  status: Status;
  start_time: string;
  duration?: number;
  log_excerpt?: string;
  number?: { value: number; unit: string };
  misc?: Record<string, unknown>;
}

/** The schema caps log_excerpt at 16384 characters and refuses NUL (console output can carry one). */
const LOG_EXCERPT_MAX = 16_384;
const excerpt = (s: string) => [...s.replace(/\0/g, '')].slice(0, LOG_EXCERPT_MAX).join('');

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_|_$/g, '');

export function toKcidb(run: RunResult): Record<string, unknown> {
  const id = (kind: string, unique: string) => `${KCIDB_ORIGIN}:${kind}-${unique}`;
  const checkoutId = id('checkout', run.kernel?.sourceId.replace(/[^A-Za-z0-9]/g, '').slice(0, 24) ?? run.runId);
  const buildId = id('build', run.kernel?.cacheKey.slice(0, 24) ?? run.runId);
  const checkout = {
    id: checkoutId,
    origin: KCIDB_ORIGIN,
    tree_name: 'linux',
    ...(run.kernel ? { git_commit_name: `v${run.kernel.sourceVersion}`, misc: { source_id: run.kernel.sourceId } } : {}),
    start_time: run.startedAt,
    valid: Boolean(run.kernel),
  };
  const build = {
    id: buildId,
    origin: KCIDB_ORIGIN,
    checkout_id: checkoutId,
    architecture: 'x86_64',
    config_name: `tinyconfig+kernels/lab.config+flavors/${run.flavor ?? 'lab'}`,
    start_time: run.startedAt,
    status: run.kernel ? 'PASS' : 'ERROR',
    ...(run.kernel ? { compiler: run.kernel.compiler, duration: run.kernel.buildSeconds, misc: { release: run.kernel.release, flavor: run.kernel.flavor, config_sha256: run.kernel.configSha256, cache_hit: run.kernel.cacheHit } } : {}),
  };
  const tests: KcidbTest[] = [];
  for (const s of run.scenarios) {
    const base = `page_owner.${slug(s.name)}`;
    // --repeat N: one test per repetition, each with its own id
    const rep = s.repetition ? `-${s.repetition}` : '';
    tests.push({
      id: id('test', `${run.runId}-${slug(s.name)}${rep}`),
      origin: KCIDB_ORIGIN,
      build_id: buildId,
      path: base,
      status: s.status,
      start_time: run.startedAt,
      duration: s.durationMs / 1000,
      ...(s.error || s.skipReason ? { log_excerpt: excerpt(s.error?.message ?? s.skipReason ?? '') } : {}),
    });
    const expectations = [
      ...(s.judgement?.expectations ?? []).map((e, i) => ({ e, path: `${base}.expect_${i}` })),
      ...(s.checks?.expectations ?? []).map((e, i) => ({ e, path: `${base}.lab_check_${i}` })),
    ];
    for (const { e, path } of expectations) {
      tests.push({
        id: id('test', `${run.runId}-${path}${rep}`),
        origin: KCIDB_ORIGIN,
        build_id: buildId,
        path,
        status: e.verdict === 'pass' ? 'PASS' : e.verdict === 'fail' ? 'FAIL' : e.verdict === 'skip' ? 'SKIP' : 'ERROR',
        start_time: run.startedAt,
        log_excerpt: excerpt(e.message),
        ...(Number.isFinite(e.left) ? { number: { value: e.left!, unit: 'events' } } : {}),
        misc: { expect: e.expect, values: e.values },
      });
    }
  }
  return { version: { major: 5, minor: 3 }, checkouts: [checkout], builds: [build], tests };
}
