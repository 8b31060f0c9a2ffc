/** The machine-readable record of one run (results/<run-id>/result.json). */
import type { Accel } from '../guest/qemu.ts';
import type { ScenarioResult } from '../scenario/run.ts';

export const RESULT_SCHEMA_VERSION = 1;

export type RunStatus = 'PASS' | 'FAIL' | 'ERROR';

export interface RunResult {
  schemaVersion: number;
  runId: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  kernelSpec: string;
  kernel?: {
    release: string;
    sourceVersion: string;
    sourceId: string;
    configSha256: string;
    compiler: string;
    cacheKey: string;
    cacheHit: boolean;
    buildSeconds: number;
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
    unameR?: string;
    kernelErrors: string[];
  };
  module?: { path: string; warnings: string[]; cacheHit: boolean };
  /** Seconds spent per pipeline stage, in order. */
  stages: Record<string, number>;
  scenarios: ScenarioResult[];
  error?: { code: string; message: string; stage: string; context?: Record<string, unknown> };
}

export function runStatus(r: Pick<RunResult, 'scenarios' | 'error'>): RunStatus {
  if (r.error || r.scenarios.some((s) => s.status === 'ERROR')) return 'ERROR';
  return r.scenarios.every((s) => s.status === 'PASS') ? 'PASS' : 'FAIL';
}
