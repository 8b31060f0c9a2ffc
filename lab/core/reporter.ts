/**
 * Progress for a person: one line per stage event on stderr, the same lines
 * appended to the run's lab.log so a failure can be read later.
 */
import { appendFileSync } from 'node:fs';

/** Runs a named pipeline stage (timed, its failures attributed to it). */
export type Stage = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** A stage runner that only runs. */
export const untimed: Stage = (_name, fn) => fn();

export interface Reporter {
  stage(stage: string, message: string): void;
  warn(stage: string, message: string): void;
  /** Attach the run's log file once the results folder exists. */
  attachLog(path: string): void;
}

export function consoleReporter(opts: { quiet?: boolean } = {}): Reporter {
  const started = Date.now();
  let logFile: string | undefined;
  const pending: string[] = [];
  const emit = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
    if (logFile) appendFileSync(logFile, `${line}\n`);
    else pending.push(line);
  };
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  return {
    stage: (stage, message) => emit(`${stamp()} [${stage}] ${message}`),
    warn: (stage, message) => emit(`${stamp()} [${stage}] warning: ${message}`),
    attachLog(path) {
      logFile = path;
      for (const line of pending.splice(0)) appendFileSync(path, `${line}\n`);
    },
  };
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
