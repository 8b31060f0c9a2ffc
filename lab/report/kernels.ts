/**
 * The record of several kernels run at once (`lab run --kernel 6.1 --kernel
 * 6.12 --jobs 2`): kernels.json (what each kernel's pipeline took and how it
 * ended, the run's wall time, the host's load, the harness's memory) and
 * summary.md (the verdicts side by side), in the folder that holds each
 * kernel's own results folder.
 */
import { formatDuration } from '../core/reporter.ts';
import { verdictChange } from './compare.ts';
import { verdictSummary } from './report.ts';
import type { RunResult, RunStatus } from './result.ts';
import { textTable } from './table.ts';

export const KERNELS_SCHEMA_VERSION = 1;

/** One kernel's pipeline. */
export interface KernelRun {
  /** The kernel as given (`6.1`, `local` for --kernel-src), `#2` on a repeated one. */
  label: string;
  kernelSpec: string;
  flavor: string;
  /** What the kernel's Makefile says, once it is known. */
  release?: string;
  status: RunStatus;
  exitCode: number;
  /** Its results folder, relative to the run's; absent when it failed before it had one. */
  resultsDir?: string;
  startedAt?: string;
  finishedAt?: string;
  /** From its start (after waiting for a free job) to its end. */
  wallSeconds?: number;
  /** Seconds per pipeline stage, as in its result.json (the kernel stage includes a wait for the build lock). */
  stages: Record<string, number>;
  /** Scenario name -> its verdict ("PASS", or "PASS 2/3, ERROR 1/3" with --repeat). */
  verdicts: Record<string, string>;
  error?: { code: string; message: string; stage?: string };
}

export interface KernelsRecord {
  schemaVersion: number;
  runId: string;
  status: RunStatus;
  /** The worst exit code of the kernels. */
  exitCode: number;
  jobs: number;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  /** What else ran shapes the timings: the 1-minute load average at the start and the end, of this many CPUs. */
  host: { cpus: number; loadAverage: { start: number; end: number } };
  /** The lab process's peak resident memory over the whole run (QEMU and other children not counted). */
  harness: { peakRssMb: number };
  kernels: KernelRun[];
}

/** ERROR beats FAIL beats PASS. */
export function worstStatus(statuses: RunStatus[]): RunStatus {
  if (!statuses.length || statuses.includes('ERROR')) return 'ERROR';
  return statuses.includes('FAIL') ? 'FAIL' : 'PASS';
}

/** Every scenario's verdict in one run, repetitions summarised. */
export function scenarioVerdicts(r: RunResult): Record<string, string> {
  const by = new Map<string, RunResult['scenarios'][number]['status'][]>();
  for (const s of r.scenarios) by.set(s.name, [...(by.get(s.name) ?? []), s.status]);
  return Object.fromEntries([...by].map(([name, statuses]) => [name, verdictSummary(statuses)]));
}

const column = (k: KernelRun) => (k.release && k.release !== k.label ? `${k.label} (${k.release})` : k.label);

/** Scenario by kernel, in the order the kernels were given; "-": that kernel did not run it. */
function verdictGrid(rec: KernelsRecord): { header: string[]; rows: string[][]; changes: string[] } {
  const names = [...new Set(rec.kernels.flatMap((k) => Object.keys(k.verdicts)))];
  const rows = names.map((name) => [name, ...rec.kernels.map((k) => k.verdicts[name] ?? '-')]);
  const changes: string[] = [];
  for (const [name, ...cells] of rows) {
    for (let i = 1; i < cells.length; i++) {
      const [a, b] = [cells[i - 1]!, cells[i]!];
      const change = verdictChange(a === '-' ? undefined : a, b === '-' ? undefined : b);
      if (change === 'regression' || change === 'fixed' || change === 'changed') {
        changes.push(`${name}: ${rec.kernels[i - 1]!.label} ${a} -> ${rec.kernels[i]!.label} ${b}`);
      }
    }
  }
  return { header: ['scenario', ...rec.kernels.map(column)], rows, changes };
}

function kernelRows(rec: KernelsRecord): string[][] {
  return [
    ['kernel', 'release', 'status', 'exit', 'wall', 'results'],
    ...rec.kernels.map((k) => [
      k.label,
      k.release ?? '-',
      k.status,
      String(k.exitCode),
      k.wallSeconds === undefined ? '-' : formatDuration(k.wallSeconds * 1000),
      k.resultsDir ?? (k.error ? `${k.error.code}: ${k.error.message}` : '-'),
    ]),
  ];
}

/** What the terminal shows at the end: the kernels, then the verdicts side by side. */
export function kernelsTables(rec: KernelsRecord): string {
  const grid = verdictGrid(rec);
  const parts = [textTable(kernelRows(rec))];
  if (grid.rows.length) parts.push(textTable([grid.header, ...grid.rows]));
  if (grid.changes.length) parts.push(grid.changes.map((c) => `changed: ${c}`).join('\n'));
  return parts.join('\n\n');
}

/** summary.md of the run's folder: a CI step summary. */
export function renderKernelsSummary(rec: KernelsRecord): string {
  const md = (rows: string[][]) => [`| ${rows[0]!.join(' | ')} |`, `|${rows[0]!.map(() => '---|').join('')}`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const grid = verdictGrid(rec);
  const errors = rec.kernels.filter((k) => k.error).map((k) => `- ${k.label}: error${k.error!.stage ? ` in stage ${k.error!.stage}` : ''}: ${k.error!.code}: ${k.error!.message}`);
  return [
    `# ${rec.status}: ${rec.kernels.length} kernels, --jobs ${rec.jobs}, ${formatDuration(rec.wallSeconds * 1000)}`,
    '',
    md(kernelRows(rec)),
    '',
    ...(grid.rows.length ? ['## Verdicts', '', md([grid.header, ...grid.rows]), ''] : []),
    ...(grid.changes.length ? ['Changed between neighbouring kernels:', '', ...grid.changes.map((c) => `- ${c}`), ''] : []),
    ...(errors.length ? ['## Errors', '', ...errors, ''] : []),
    "Each kernel's results folder holds its own result.json, junit.xml and summary.md; `lab report` on this folder compares them in depth (metrics, call sites).",
    '',
  ].join('\n');
}
