/** The machine-readable record of one run (results/<run-id>/result.json). */
import type { Accel } from '../guest/qemu.ts';
import type { ProbeMapEntry } from '../prepare/probes.ts';
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
    /** Guests booted for this run (more than one after a discarded guest, or with --isolate). */
    boots: number;
    /** event -> function -> status, from the first guest. */
    probeMap: ProbeMapEntry[];
  };
  module?: { path: string; warnings: string[]; cacheHit: boolean };
  /** Every guest booted: its per-boot token (on the kernel command line), SSH port and console log. */
  boots: { token: string; sshPort: number; consoleLog: string; accel: Accel }[];
  /** Seconds spent per pipeline stage, in order. */
  stages: Record<string, number>;
  scenarios: ScenarioResult[];
  error?: { code: string; message: string; stage: string; context?: Record<string, unknown> };
}

/** ERROR beats FAIL beats PASS; skipped scenarios do not count, but a run that skipped everything did not pass. */
export function runStatus(r: Pick<RunResult, 'scenarios' | 'error'>): RunStatus {
  if (r.error || r.scenarios.some((s) => s.status === 'ERROR')) return 'ERROR';
  if (r.scenarios.some((s) => s.status === 'FAIL')) return 'FAIL';
  return r.scenarios.some((s) => s.status === 'PASS') ? 'PASS' : 'ERROR';
}
