import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelList } from '../../lab/cli/options.ts';
import type { LabConfig } from '../../lab/core/config.ts';
import { ExitCode, InfraError, InputError, isLabError, worstExitCode } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { eachLimited, kernelLabels, runKernels } from '../../lab/run/jobs.ts';
import type { LabOptions, LabRun } from '../../lab/run/pipeline.ts';
import type { KernelsRecord } from '../../lab/report/kernels.ts';
import type { RunResult, RunStatus } from '../../lab/report/result.ts';
import { tempDir } from '../helpers/temp.ts';

/** What a pipeline returns, for a kernel whose scenarios ended as given. */
function fakeResult(kernel: string, scenarios: Record<string, RunStatus | 'SKIP'>, error?: RunResult['error']): RunResult {
  const list = Object.entries(scenarios).map(([name, status]) => ({ name, status, observations: {} }));
  const status: RunStatus = error || list.some((s) => s.status === 'ERROR') ? 'ERROR' : list.some((s) => s.status === 'FAIL') ? 'FAIL' : 'PASS';
  return {
    schemaVersion: 2,
    runId: kernel,
    status,
    startedAt: new Date().toISOString(),
    kernelSpec: kernel,
    flavor: 'lab',
    kernel: { release: `${kernel}.1` },
    stages: { kernel: 0.1, boot: 1, scenarios: 2 },
    boots: [],
    scenarios: list,
    ...(error ? { error } : {}),
  } as unknown as RunResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in pipeline: each kernel takes `ms`, ends as `outcome` says; records how many ran at once. */
function fakePipeline(outcome: (kernel: string) => RunResult | Error, ms = 30, delay?: (kernel: string) => Promise<void>) {
  const seen = { running: 0, most: 0, order: [] as string[] };
  const pipeline = async (o: LabOptions): Promise<LabRun> => {
    seen.running++;
    seen.most = Math.max(seen.most, seen.running);
    seen.order.push(o.kernel);
    try {
      await mkdir(o.resultsDir!, { recursive: true });
      await (delay ? delay(o.kernel) : sleep(ms));
      const r = outcome(o.kernel);
      if (r instanceof Error) throw r;
      return { result: r, resultsDir: o.resultsDir! };
    } finally {
      seen.running--;
    }
  };
  return { pipeline, seen };
}

const base = () => ({
  config: {} as LabConfig,
  scenarios: [],
  reporter: consoleReporter({ quiet: true }),
  resultsDir: tempDir('lab-jobs-'),
});
const kernels = (...specs: string[]) => specs.map((kernel) => ({ kernel, flavor: 'lab' }));

describe('lab run with several kernels', () => {
  it('runs at most --jobs pipelines at once, every kernel once, in the order given', async () => {
    for (const jobs of [1, 2, 3]) {
      const { pipeline, seen } = fakePipeline((k) => fakeResult(k, { hugetlb: 'PASS' }));
      const { record } = await runKernels({ ...base(), kernels: kernels('6.1', '6.6', '6.12'), jobs, pipeline });
      expect(seen.most).toBe(jobs);
      expect(seen.order).toEqual(['6.1', '6.6', '6.12']);
      expect(record.kernels.map((k) => [k.label, k.status, k.exitCode])).toEqual([
        ['6.1', 'PASS', 0],
        ['6.6', 'PASS', 0],
        ['6.12', 'PASS', 0],
      ]);
      expect(record).toMatchObject({ status: 'PASS', exitCode: 0, jobs });
    }
  });

  it('a failing kernel does not stop the others; the exit code is the worst of them', async () => {
    const { pipeline } = fakePipeline((k) =>
      k === '6.1'
        ? fakeResult(k, { hugetlb: 'FAIL' })
        : k === '6.6'
          ? new InputError('KERNEL_NOT_AVAILABLE', '--kernel 6.6: no source found')
          : k === '6.12'
            ? fakeResult(k, { hugetlb: 'PASS' }, { code: 'BOOT_TIMEOUT', message: 'no readiness marker', stage: 'boot' })
            : fakeResult(k, { hugetlb: 'PASS' }),
    );
    const o = base();
    const { record, results } = await runKernels({ ...o, kernels: kernels('6.1', '6.6', '6.12', '6.15'), jobs: 2, pipeline });
    expect(record.kernels.map((k) => [k.label, k.status, k.exitCode, k.error?.code])).toEqual([
      ['6.1', 'FAIL', 1, undefined],
      ['6.6', 'ERROR', 2, 'KERNEL_NOT_AVAILABLE'],
      ['6.12', 'ERROR', 3, 'BOOT_TIMEOUT'],
      ['6.15', 'PASS', 0, undefined],
    ]);
    expect(record.status).toBe('ERROR');
    expect(record.exitCode).toBe(ExitCode.infrastructure);
    expect(results.map((r) => r?.status)).toEqual(['FAIL', undefined, 'ERROR', 'PASS']);
    // a bug in one pipeline is that kernel's error too
    const bug = fakePipeline((k) => (k === '6.1' ? new TypeError('undefined is not a function') : fakeResult(k, { hugetlb: 'PASS' })));
    const r = await runKernels({ ...base(), kernels: kernels('6.1', '6.12'), jobs: 1, pipeline: bug.pipeline });
    expect(r.record.kernels.map((k) => [k.status, k.exitCode, k.error?.code])).toEqual([
      ['ERROR', 3, 'INTERNAL'],
      ['PASS', 0, undefined],
    ]);
  });

  it('Ctrl-C: the running pipelines see the signal, the queued ones never start, exit 130', async () => {
    const controller = new AbortController();
    // 6.6 is still running when 6.1 sees Ctrl-C, however slow the machine: it ends only after the abort
    const aborted = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
    const { pipeline, seen } = fakePipeline(
      (k) => {
        if (k === '6.1') controller.abort();
        return fakeResult(k, { hugetlb: k === '6.1' ? 'PASS' : 'ERROR' });
      },
      30,
      (k) => (k === '6.1' ? sleep(30).then(() => undefined) : aborted),
    );
    const { record } = await runKernels({ ...base(), kernels: kernels('6.1', '6.6', '6.12'), jobs: 2, pipeline, signal: controller.signal });
    expect(seen.order).toEqual(['6.1', '6.6']);
    expect(record.kernels.map((k) => [k.label, k.exitCode, k.error?.message])).toEqual([
      ['6.1', 130, undefined],
      ['6.6', 130, undefined],
      ['6.12', 130, 'not started: interrupted'],
    ]);
    expect(record.exitCode).toBe(ExitCode.interrupted);
  });

  it('each kernel has its own results folder inside the run\'s, which holds kernels.json, summary.md and lab.log', async () => {
    const { pipeline } = fakePipeline((k) => fakeResult(k, k === '6.1' ? { hugetlb: 'PASS', thp: 'PASS' } : { hugetlb: 'FAIL', thp: 'PASS' }));
    const o = base();
    const { record, dir } = await runKernels({ ...o, kernels: kernels('6.1', '6.12'), jobs: 2, pipeline });
    expect(dir).toBe(o.resultsDir);
    const stored = JSON.parse(readFileSync(join(dir, 'kernels.json'), 'utf8')) as KernelsRecord;
    expect(stored).toEqual(record);
    expect(new Set(stored.kernels.map((k) => k.resultsDir)).size).toBe(2);
    for (const k of stored.kernels) {
      expect(k.resultsDir).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${k.label.replace('.', '\\.')}-[0-9a-f]{4}$`));
      expect(existsSync(join(dir, k.resultsDir!))).toBe(true);
      expect(k.wallSeconds).toBeGreaterThan(0);
      expect(k.stages).toEqual({ kernel: 0.1, boot: 1, scenarios: 2 });
    }
    expect(stored.harness.peakRssMb).toBeGreaterThan(10);
    expect(stored.host.cpus).toBeGreaterThanOrEqual(1);
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toMatch(/^# FAIL: 2 kernels, --jobs 2, /);
    expect(summary).toContain('| hugetlb | PASS | FAIL |');
    expect(summary).toContain('| thp | PASS | PASS |');
    expect(summary).toContain('- hugetlb: 6.1 PASS -> 6.12 FAIL');
    expect(readFileSync(join(dir, 'lab.log'), 'utf8')).toMatch(/\[6\.12: run\] FAIL in /);
  });

  it('labels: the kernel as given, a repeated one numbered', () => {
    expect(kernelLabels(kernels('6.1', '6.12', '6.1'))).toEqual(['6.1', '6.12', '6.1#2']);
    expect(kernelLabels([{ kernel: '6.12', kernelSrc: '/src/linux' }])).toEqual(['local']);
  });

  it('eachLimited keeps the order of the items, whatever order they finish in', async () => {
    const out = await eachLimited([30, 10, 20], 3, async (ms, i) => {
      await sleep(ms);
      return i;
    });
    expect(out).toEqual([0, 1, 2]);
  });

  it('the worst exit code wins: interrupted, set-up, infrastructure, input, failed, passed', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([0, 1, 0])).toBe(1);
    expect(worstExitCode([1, 3, 2])).toBe(3);
    expect(worstExitCode([3, 4])).toBe(4);
    expect(worstExitCode([0, 130, 4])).toBe(130);
    expect(new InfraError('GUEST_LOST', 'x').exitCode).toBe(worstExitCode([1, new InfraError('GUEST_LOST', 'x').exitCode]));
  });
});

describe('--kernel of lab run', () => {
  it('repeatable and comma-separated; the first value replaces the default', () => {
    let v = kernelList('6.1');
    expect(v).toEqual(['6.1']);
    v = kernelList('6.6.87, 6.12', v);
    expect(v).toEqual(['6.1', '6.6.87', '6.12']);
  });

  it('every item is a kernel version, named as a single --kernel would be', () => {
    const error = (v: string) => {
      try {
        kernelList(v);
      } catch (e) {
        return isLabError(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(error('6.1,banana')).toBe('BAD_KERNEL_SPEC: --kernel "banana": not a kernel version; accepted: a series like 6.12, an exact release like 6.6.58, lts (6.1, 6.6, 6.12) or newest');
    // the names the sources decide are kept for lab run to expand
    expect(error('lts,newest,6.6')).toBe('no error');
    expect(error(',')).toMatch(/^BAD_KERNEL_SPEC: --kernel ",": no kernel version in it/);
  });
});
