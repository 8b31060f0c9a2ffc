/**
 * The recorder: the run's stages report to it and it builds the RunResult
 * (result.json) from what they report: stage times, artifacts, guests,
 * scenarios, the error and the stage it came out of.
 */
import { InterruptedError, type LabError } from '../core/errors.ts';
import type { Stage } from '../core/reporter.ts';
import type { GuestImage } from '../image/build.ts';
import type { KernelBuild } from '../kernel/build.ts';
import { runStatus, RESULT_SCHEMA_VERSION, type RunResult } from './result.ts';

export class RunRecorder {
  readonly result: RunResult;
  /** The innermost stage an error came out of (stages nest: boot runs inside scenarios). */
  private failedStage?: string;

  constructor(init: { runId: string; kernelSpec: string; flavor: string; startedAt: Date; repeat?: number }, private readonly signal?: AbortSignal) {
    this.result = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      runId: init.runId,
      status: 'ERROR',
      startedAt: init.startedAt.toISOString(),
      kernelSpec: init.kernelSpec,
      flavor: init.flavor,
      stages: {},
      boots: [],
      scenarios: [],
      ...(init.repeat && init.repeat > 1 ? { repeat: init.repeat } : {}),
    };
  }

  /** Time a stage; summed when it runs more than once (boot, ssh and prepare run once per guest). */
  readonly stage: Stage = async (name, fn) => {
    if (this.signal?.aborted) throw new InterruptedError('SIGINT');
    const t = Date.now();
    try {
      return await fn();
    } catch (e) {
      this.failedStage ??= name;
      throw e;
    } finally {
      this.result.stages[name] = (this.result.stages[name] ?? 0) + (Date.now() - t) / 1000;
    }
  };

  kernel(k: KernelBuild, cacheHit: boolean, reproducer: string[]): void {
    this.result.kernel = {
      release: k.release,
      sourceVersion: k.sourceVersion,
      sourceId: k.sourceId,
      configSha256: k.configSha256,
      compiler: k.compiler,
      cacheKey: k.key,
      cacheHit,
      buildSeconds: k.buildSeconds,
      flavor: k.flavor ?? this.result.flavor,
      reproducer,
    };
  }

  image(image: GuestImage, cacheHit: boolean): void {
    this.result.image = { name: image.name, key: image.key, cacheHit, buildSeconds: image.buildSeconds, packages: image.packages.length };
  }

  /** A guest booted (with what it reported), or one that never came up (without). */
  boot(boot: RunResult['boots'][number], guest?: Omit<NonNullable<RunResult['guest']>, 'boots' | 'kernelErrors'>): void {
    this.result.boots.push(boot);
    if (guest) this.result.guest ??= { ...guest, boots: 0, kernelErrors: [] };
  }

  fail(err: LabError): string {
    const stage = this.failedStage ?? 'input';
    this.result.error = { code: err.code, message: err.message, stage, context: err.context };
    return stage;
  }

  finish(kernelErrors: string[]): RunResult {
    if (this.result.guest) this.result.guest.kernelErrors = kernelErrors;
    this.result.status = runStatus(this.result);
    this.result.finishedAt = new Date().toISOString();
    return this.result;
  }
}
