/**
 * Progress for a person. The stages report events (a stage's message, a
 * scenario's step, an outcome, an error, a measurable position, a line of a
 * long step's own output); a renderer shows them: plain timestamped lines on
 * stderr when it is not a terminal (CI), a live view on a terminal
 * (lab/core/live.ts). Both append the same plain lines to the run's lab.log so
 * a failure can be read later. What a renderer needs to know of an event (a
 * step, a verdict, a failure) it reads from the event's fields, never from the
 * text of a line: eventLine() makes the line, the same one for both.
 */
import { appendFileSync } from 'node:fs';

/** Runs a named pipeline stage (timed, its failures attributed to it). */
export type Stage = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** A stage runner that only runs. */
export const untimed: Stage = (_name, fn) => fn();

/** Where a measurable step stands: files compiled against an estimate, bytes downloaded. */
export interface ProgressPosition {
  done: number;
  total?: number;
  unit: 'files' | 'bytes';
  /** Where the total comes from, when it is an estimate. */
  basis?: string;
}

/**
 * An event whose meaning a renderer uses (the live view puts a step under its
 * scenario, shows an outcome's icon, ends a stage that failed); `stage()`'s
 * messages are text for a person only.
 */
export type ProgressEvent =
  /** A scenario's step starts (the stage is the scenario). */
  | { kind: 'step'; step: string }
  /** A scenario's outcome, or a kernel run's; with the time it took when known, and why (the error, the unmet requirement). */
  | { kind: 'outcome'; status: 'PASS' | 'FAIL' | 'ERROR' | 'SKIP'; durationMs?: number; message?: string }
  /** The error that ended the stage, and its pipeline. */
  | { kind: 'error'; code: string; message: string };

/** The plain line of an event, on stderr and in lab.log: `step: <name>`, `FAIL in 31.0s: <why>`, `SKIP: <why>`, `error <code>: <message>`. */
export function eventLine(e: ProgressEvent): string {
  switch (e.kind) {
    case 'step':
      return `step: ${e.step}`;
    case 'outcome':
      return `${e.status}${e.durationMs === undefined ? '' : ` in ${formatDuration(e.durationMs)}`}${e.message === undefined ? '' : `: ${e.message}`}`;
    case 'error':
      return `error ${e.code}: ${e.message}`;
  }
}

export interface ProgressReporter {
  /** A stage's message, for a person to read. */
  stage(stage: string, message: string): void;
  /** A step, an outcome or an error of a stage (a scenario, a kernel run): shown as its eventLine(), drawn from its fields. */
  event(stage: string, e: ProgressEvent): void;
  warn(stage: string, message: string): void;
  /** A measurable step's position: a bar with rate and ETA on a terminal; plain lines keep their own throttled messages. */
  progress(stage: string, p: ProgressPosition): void;
  /** A line of a long step's own output (the build log, the guest console): shown only with --verbose. */
  detail(stage: string, line: string): void;
  /** Attach the run's log file once the results folder exists. */
  attachLog(path: string): void;
  /** Stop live rendering and leave the final state on screen. */
  close(): void;
  /**
   * The reporter of one of several pipelines running at once (lab run --jobs):
   * on screen and in this reporter's log its lines carry the label
   * (`[6.1: boot]`), its own log file gets them as a single run writes them,
   * and closing it leaves the screen to this reporter.
   */
  scope(label: string): ProgressReporter;
}

export interface ProgressOptions {
  /** No progress at all (lab.log still gets the lines). */
  quiet?: boolean;
  /** Also stream the build log and the guest console. */
  verbose?: boolean;
}

/** The plain lines of a run, stamped with seconds since it started; the log file, once attached, gets every one. */
export function lineLog(started = Date.now()) {
  let logFile: string | undefined;
  const pending: string[] = [];
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  return {
    line(stage: string, message: string): string {
      const line = `${stamp()} [${stage}] ${message}`;
      if (logFile) appendFileSync(logFile, `${line}\n`);
      else pending.push(line);
      return line;
    },
    attach(path: string) {
      logFile = path;
      for (const line of pending.splice(0)) appendFileSync(path, `${line}\n`);
    },
  };
}

/** Plain timestamped lines on `out` (stderr): what CI logs show. */
export function consoleReporter(opts: ProgressOptions = {}, out: NodeJS.WritableStream = process.stderr): ProgressReporter {
  const log = lineLog();
  const make = (label?: string): ProgressReporter => {
    const own = label === undefined ? log : lineLog();
    const named = (stage: string) => (label === undefined ? stage : `${label}: ${stage}`);
    const emit = (stage: string, message: string) => {
      const line = own.line(stage, message);
      const shown = label === undefined ? line : log.line(named(stage), message);
      if (!opts.quiet) out.write(`${shown}\n`);
    };
    return {
      stage: emit,
      event: (stage, e) => emit(stage, eventLine(e)),
      warn: (stage, message) => emit(stage, `warning: ${message}`),
      progress: () => {},
      detail: (stage, line) => {
        if (opts.verbose && !opts.quiet) out.write(`${named(stage)}| ${line}\n`);
      },
      attachLog: (path) => own.attach(path),
      close: () => {},
      scope: (sub) => make(named(sub)),
    };
  };
  return make();
}

/** Reports "still working" lines at most every `everyMs` for a long step. */
export function throttle(everyMs: number, fn: () => void): () => void {
  let last = Date.now();
  return () => {
    const now = Date.now();
    if (now - last >= everyMs) {
      last = now;
      fn();
    }
  };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`;
}
