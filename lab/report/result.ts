/** The machine-readable record of one run (results/<run-id>/result.json), and reading it back. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ExitCode, InputError } from '../core/errors.ts';
import type { Accel } from '../guest/qemu.ts';
import type { ProbeMapEntry } from '../observe/hooks.ts';
import type { ScenarioResult } from '../scenario/run.ts';

/** 2: flavor, QEMU command lines, repetitions, restored knobs, reporter errors. */
export const RESULT_SCHEMA_VERSION = 2;

export type RunStatus = 'PASS' | 'FAIL' | 'ERROR';

export interface RunResult {
  schemaVersion: number;
  runId: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  kernelSpec: string;
  flavor: string;
  kernel?: {
    release: string;
    sourceVersion: string;
    sourceId: string;
    configSha256: string;
    compiler: string;
    cacheKey: string;
    cacheHit: boolean;
    buildSeconds: number;
    flavor: string;
    /** Commands that rebuild this kernel from its source, as printed (also reproducer.sh in the results folder). */
    reproducer: string[];
  };
  image?: { name: string; key: string; cacheHit: boolean; buildSeconds: number; packages: number };
  guest?: {
    accel: Accel;
    accelReason: string;
    memoryMb: number;
    cpus: number;
    bootToReadyMs: number;
    sshReadyMs: number;
    /** The saved ready guest the first guest was restored from (absent: it booted). */
    restoredFrom?: string;
    unameR?: string;
    kernelErrors: string[];
    /** Guests booted for this run (more than one after a discarded guest, or with --isolate). */
    boots: number;
    /** event -> function -> status, from the first guest. */
    probeMap: ProbeMapEntry[];
    /** The resident kprobes of the first guest (lab/prepare/resident.ts): on which functions, and whether the other vCPUs were offline while they were armed. */
    residentProbes?: { functions: string[]; quiesced: boolean };
  };
  module?: { path: string; warnings: string[]; cacheHit: boolean };
  /** Every guest booted: its per-boot token (on the kernel command line), SSH port, console log and QEMU command line. */
  boots: { token: string; sshPort: number; consoleLog: string; accel: Accel; qemu: string[]; restoredFrom?: string }[];
  /** Seconds spent per pipeline stage, in order. */
  stages: Record<string, number>;
  /** --repeat N: every scenario ran N times, each judged on its own. */
  repeat?: number;
  scenarios: ScenarioResult[];
  error?: { code: string; message: string; stage: string; context?: Record<string, unknown> };
  /** Result writers that failed (the others still wrote). */
  reporterErrors?: string[];
  /** The lab process itself: its peak resident memory when the run ended, in MiB (QEMU and other children not counted; with several kernels at once, the process's peak so far). */
  harness?: { peakRssMb: number };
  /** lab merge: the shards this run was combined from. */
  mergedFrom?: { runId: string; path: string }[];
}

/** ERROR beats FAIL beats PASS; skipped scenarios do not count, but a run that skipped everything did not pass. */
export function runStatus(r: Pick<RunResult, 'scenarios' | 'error'>): RunStatus {
  if (r.error || r.scenarios.some((s) => s.status === 'ERROR')) return 'ERROR';
  if (r.scenarios.some((s) => s.status === 'FAIL')) return 'FAIL';
  return r.scenarios.some((s) => s.status === 'PASS') ? 'PASS' : 'ERROR';
}

/** The exit code of a run that wrote its results: 0 passed, 1 an expectation or cross-check failed, 3 an error. */
export function exitCodeOf(status: RunStatus): ExitCode {
  return status === 'PASS' ? ExitCode.ok : status === 'FAIL' ? ExitCode.expectationFailed : ExitCode.infrastructure;
}

/** What a result.json must hold to be read back; the rest is carried as it is. */
const StoredResult = z.looseObject({
  schemaVersion: z.number().int(),
  runId: z.string(),
  status: z.enum(['PASS', 'FAIL', 'ERROR']),
  startedAt: z.string(),
  kernelSpec: z.string(),
  scenarios: z.array(
    z.looseObject({
      name: z.string(),
      status: z.enum(['PASS', 'FAIL', 'ERROR', 'SKIP']),
      observations: z.looseObject({}),
    }),
  ),
});

/** Versions this lab reads back: 1 (no flavor: the default) and the current one. */
const READABLE_VERSIONS = [1, RESULT_SCHEMA_VERSION];

/** A results folder or a result.json file, validated. */
export async function readRunResult(path: string): Promise<RunResult> {
  const file = path.endsWith('.json') ? path : join(path, 'result.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InputError('FILE_NOT_FOUND', `${path}: no result.json there; expected a results folder or a result.json`, { value: path });
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError('BAD_RESULT_FILE', `${file}: not JSON (${(e as Error).message})`, { value: file });
  }
  const r = StoredResult.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError('BAD_RESULT_FILE', `${file}: not a lab result: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { value: file });
  }
  if (!READABLE_VERSIONS.includes(r.data.schemaVersion)) {
    throw new InputError('BAD_RESULT_FILE', `${file}: schemaVersion ${r.data.schemaVersion}; this lab reads ${READABLE_VERSIONS.join(' and ')}`, { value: file });
  }
  const result = r.data as unknown as RunResult;
  result.flavor ??= 'lab';
  return result;
}
