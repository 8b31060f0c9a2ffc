/**
 * Result writers, reporters in Playwright's sense: each receives the same
 * events and writes its own file. They are isolated from each other: one that
 * throws is logged and recorded in result.json, and the others still write.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProgressReporter } from '../core/reporter.ts';
import { writeFileAtomic } from '../core/files.ts';
import { describeFix } from '../judge/known-issues.ts';
import { toJUnit } from './junit.ts';
import { toKcidb } from './kcidb.ts';
import type { RunResult } from './result.ts';
import { verdictTable } from './table.ts';

export interface ResultWriter {
  name: string;
  /** After each scenario: the run so far (result.json stays current if the process dies). */
  onScenarioEnd?(run: RunResult, dir: string): Promise<void>;
  /** Once, whatever happened. */
  onEnd(run: RunResult, dir: string): Promise<void>;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

const resultJsonWriter: ResultWriter = {
  name: 'result.json',
  // rewritten after every scenario: a crash must leave the last whole one, never a truncated file
  onScenarioEnd: (run, dir) => writeFileAtomic(join(dir, 'result.json'), json(run)),
  onEnd: (run, dir) => writeFileAtomic(join(dir, 'result.json'), json(run)),
};

const junitWriter: ResultWriter = { name: 'junit.xml', onEnd: (run, dir) => writeFile(join(dir, 'junit.xml'), toJUnit(run)) };

export const kcidbWriter: ResultWriter = { name: 'kcidb.json', onEnd: (run, dir) => writeFile(join(dir, 'kcidb.json'), json(toKcidb(run))) };

/** Every scenario's kernel report (first lines) and the known issue it matched; a regression against a known issue's record. */
function kernelReports(run: RunResult): string {
  return run.scenarios
    .filter((s) => s.kernelReport || s.regression)
    .map((s) => {
      if (!s.kernelReport) return `\n## ${s.name}: ${s.status}\n\n**REGRESSION**: ${s.regression}\n`;
      const known =
        (s.knownIssue ? `known issue: **${s.knownIssue.title}**; upstream fix: ${describeFix(s.knownIssue, '"')}\n\n` : '') +
        (s.regression ? `**REGRESSION**: ${s.regression}\n\n` : '');
      return `\n## ${s.name}: the kernel reported\n\n${known}\`\`\`\n${s.kernelReport!.slice(0, 40).join('\n')}\n\`\`\`\n`;
    })
    .join('');
}

const summaryWriter: ResultWriter = {
  name: 'summary.md',
  onEnd: (run, dir) =>
    writeFile(
      join(dir, 'summary.md'),
      `# ${run.status}: ${run.kernel?.release ?? run.kernelSpec} (${run.flavor})\n\n\`\`\`\n${verdictTable(run)}\n\`\`\`\n${run.error ? `\nerror in stage ${run.error.stage}: ${run.error.code}: ${run.error.message}\n` : ''}${kernelReports(run)}`,
    ),
};

export const defaultWriters: readonly ResultWriter[] = [resultJsonWriter, junitWriter, kcidbWriter, summaryWriter];

/** Call one hook on every reporter; a failing one is logged and named in the run, the rest go on. */
export async function writeResults(
  writers: readonly ResultWriter[],
  hook: 'onScenarioEnd' | 'onEnd',
  run: RunResult,
  dir: string,
  progress: ProgressReporter,
): Promise<void> {
  for (const r of writers) {
    try {
      await r[hook]?.(run, dir);
    } catch (e) {
      const message = `${r.name}: ${(e as Error).message}`;
      progress.warn('report', `writer failed: ${message}`);
      run.reporterErrors = [...(run.reporterErrors ?? []), message];
    }
  }
  // a writer that failed at the end is named in result.json when result.json itself could still be written
  if (hook === 'onEnd' && run.reporterErrors?.length && writers.includes(resultJsonWriter)) {
    await resultJsonWriter.onEnd(run, dir).catch(() => undefined);
  }
}

/**
 * A results file other than a run's (kernels.json of several kernels, a
 * bisection's reports, exec.json, shell.json): its name, and how it is
 * written from the record it holds.
 */
export interface FileWriter<T> {
  name: string;
  write(record: T, dir: string): Promise<void>;
}

/** A JSON record, written whole or not at all. */
export const jsonFile = <T>(name: string): FileWriter<T> => ({ name, write: (record, dir) => writeFileAtomic(join(dir, name), json(record)) });

/** A text file rendered from the record. */
export const textFile = <T>(name: string, render: (record: T) => string): FileWriter<T> => ({ name, write: (record, dir) => writeFile(join(dir, name), render(record)) });

/**
 * Every writer, isolated as a run's are: one that throws is logged and named
 * in the returned list, and the others still write.
 */
export async function writeFiles<T>(writers: readonly FileWriter<T>[], record: T, dir: string, progress?: Pick<ProgressReporter, 'warn'>): Promise<string[]> {
  const errors: string[] = [];
  for (const w of writers) {
    try {
      await w.write(record, dir);
    } catch (e) {
      const message = `${w.name}: ${(e as Error).message}`;
      progress?.warn('report', `writer failed: ${message}`);
      errors.push(message);
    }
  }
  return errors;
}

