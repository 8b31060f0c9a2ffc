/** `lab report` as a function: read the runs (and the baseline), build the report, write report.md and report.html. */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { loadNoiseProfile } from './profile.ts';
import { renderReportHtml, uplotAssets } from './report-html.ts';
import { renderReportMarkdown } from './report-markdown.ts';
import { buildReport, readReportInput, type GroupBy, type Report, type ReportInput } from './report.ts';

interface MakeReportOptions {
  /** Results folders, result.json files, or folders holding results folders (a CI artifact download). */
  runs: string[];
  out: string;
  baseline?: string;
  thresholdPct?: number;
  tolerancePct?: number;
  groupBy?: GroupBy;
  registry: MetricRegistry;
  /** The noise profile file ('none': judge single samples by nothing, as "no noise estimate"). */
  noiseProfile?: string;
  expectScenarios?: string[];
}

/** A path as runs: a result.json, a results folder, or every results folder (or result .json file) directly inside it. */
export { readAll };

export async function expandRuns(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => {
    throw new InputError('FILE_NOT_FOUND', `${path}: no such file or folder; expected a results folder, a result.json or a folder of results folders`, { value: path });
  });
  if (!st.isDirectory() || (await stat(join(path, 'result.json')).catch(() => undefined))) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const inner = entries.filter((e) => e.isDirectory()).map((e) => join(path, e.name));
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => join(path, e.name));
  const runs = [...(await Promise.all(inner.map(async (d) => ((await stat(join(d, 'result.json')).catch(() => undefined)) ? [d] : [])))).flat(), ...files].sort();
  if (!runs.length) throw new InputError('FILE_NOT_FOUND', `${path}: no result.json there nor in its folders; expected a results folder, a result.json or a folder of results folders`, { value: path });
  return runs;
}

const readAll = async (paths: string[]): Promise<ReportInput[]> => Promise.all((await Promise.all(paths.map(expandRuns))).flat().map(readReportInput));

export async function makeReport(o: MakeReportOptions): Promise<{ report: Report; files: { markdown: string; html: string } }> {
  const inputs = await readAll(o.runs);
  const baseline = o.baseline === undefined ? undefined : await readAll([o.baseline]);
  const profile = o.noiseProfile && o.noiseProfile !== 'none' ? await loadNoiseProfile(o.noiseProfile) : undefined;
  const report = buildReport(inputs, o.registry, {
    thresholdPct: o.thresholdPct,
    tolerancePct: o.tolerancePct,
    groupBy: o.groupBy,
    baseline,
    profile,
    expectScenarios: o.expectScenarios,
  });
  await mkdir(o.out, { recursive: true });
  const files = { markdown: join(o.out, 'report.md'), html: join(o.out, 'report.html') };
  await writeFile(files.markdown, renderReportMarkdown(report));
  await writeFile(files.html, renderReportHtml(report, await uplotAssets()));
  return { report, files };
}
