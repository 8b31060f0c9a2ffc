/**
 * `lab report --bug RUN`: bug-report.txt and bug-reproducer.sh in the run's
 * results folder, for the scenario that failed or took the kernel down
 * (report/bug.ts has the forms). The reproducer boots what the run booted:
 * the bzImage and the lab's image from the cache, the run's kernel command
 * line, its memory and CPUs. Frames are decoded to file:line with the
 * kernel's scripts/decode_stacktrace.sh where the build has debug info.
 */
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { LabConfig } from '../core/config.ts';
import { InputError } from '../core/errors.ts';
import { run } from '../core/proc.ts';
import { imageEntry } from '../image/build.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import { loadHooks } from '../observe/hooks.ts';
import { bugTitle, faultingFunction, guestScript, renderBugReport, reproducerScript, splat, type BugReportInput } from '../report/bug.ts';
import type { ReleaseBisectResult } from '../report/release-bisect.ts';
import { infrastructureError } from '../report/report.ts';
import { readRunResult, type RunResult } from '../report/result.ts';
import { loadScenario, parseScenario, type Scenario } from '../scenario/load.ts';

interface BugReportFiles {
  title: string;
  report: string;
  reproducer: string;
  scenario: string;
}

/** The scenario a bug report is about: the one named, else the first that failed or took the kernel down. */
function pickScenario(result: RunResult, dir: string, name?: string): RunResult['scenarios'][number] {
  const bad = result.scenarios.filter((s) => s.status === 'FAIL' || (s.status === 'ERROR' && !infrastructureError(s)));
  const picked = name ? bad.find((s) => s.name === name) : bad[0];
  if (picked) return picked;
  const statuses = result.scenarios.map((s) => `${s.name} ${s.status}`).join(', ') || 'no scenario';
  throw new InputError('NO_BUG_TO_REPORT', `${dir}: ${name ? `scenario ${name} did not fail there` : 'no scenario failed or took the kernel down'} (${statuses}); a bug report needs a FAIL or a kernel error`, { value: dir });
}

async function scenarioOf(s: RunResult['scenarios'][number], config: LabConfig): Promise<Scenario> {
  const registry = new MetricRegistry(await loadHooks(config.paths.repo));
  if (s.file && existsSync(s.file)) return parseScenario(await readFile(s.file, 'utf8'), s.file, registry);
  return loadScenario(join(config.paths.repo, 'scenarios'), s.name, registry).catch(() => {
    throw new InputError('UNKNOWN_SCENARIO', `scenario ${s.name}: its file ${s.file ?? '(not recorded)'} is gone and scenarios/ has no such scenario; the reproducer needs its set-up and steps`, {
      value: s.name,
    });
  });
}

/** What the run's guest was booted with: its kernel, memory, CPUs and command line (the lab's own words removed). */
export function bootOf(result: RunResult): { bzImage: string; memoryMb: number; cpus: number; cmdline: string } {
  const qemu = result.boots?.at(-1)?.qemu?.[0] ?? '';
  const bzImage = /-kernel (\S+)/.exec(qemu)?.[1];
  const append = /-append '([^']*)'/.exec(qemu)?.[1];
  if (!bzImage || !append) throw new InputError('BAD_RESULT_FILE', `result ${result.runId}: no recorded QEMU command line with -kernel and -append; the reproducer boots what the run booted`, { value: result.runId });
  const cmdline = append
    .split(/\s+/)
    .filter((w) => w && !w.startsWith('lab.') && !w.startsWith('init='))
    .join(' ');
  return { bzImage, memoryMb: Number(/ -m (\d+)M/.exec(qemu)?.[1] ?? 1024), cpus: Number(/ -smp (\d+)/.exec(qemu)?.[1] ?? 2), cmdline };
}

/** The kernel's report decoded by scripts/decode_stacktrace.sh, or why it cannot be. */
async function decode(report: string[], bzImage: string): Promise<BugReportInput['decoded']> {
  const entry = join(dirname(bzImage), '..', '..', '..');
  const config = await readFile(join(entry, '.config'), 'utf8').catch(() => '');
  if (!/^CONFIG_DEBUG_INFO=y$/m.test(config)) return { why: `the build has no debug info (${/^CONFIG_DEBUG_INFO_NONE=y$/m.test(config) ? 'CONFIG_DEBUG_INFO_NONE=y' : 'CONFIG_DEBUG_INFO is not set'}); symbol+offset as the kernel printed them` };
  const script = join(entry, 'source', 'scripts', 'decode_stacktrace.sh');
  if (!existsSync(join(entry, 'vmlinux')) || !existsSync(script)) return { why: `no vmlinux or decode_stacktrace.sh beside ${entry}` };
  const r = await run('bash', [script, join(entry, 'vmlinux'), join(entry, 'source')], { input: `${splat(report).join('\n')}\n`, okExitCodes: [1], timeoutMs: 300_000 });
  return { lines: r.stdout.trimEnd().split('\n') };
}

/** The newest release bisection of this scenario that found an answer, in the results folder. */
async function bisectOf(resultsRoot: string, scenario: string): Promise<BugReportInput['bisect']> {
  const found: { at: string; b: ReleaseBisectResult; dir: string }[] = [];
  for (const name of await readdir(resultsRoot).catch(() => [] as string[])) {
    const file = join(resultsRoot, name, 'bisect.json');
    if (!name.includes('bisect') || !existsSync(file)) continue;
    const b = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Partial<ReleaseBisectResult>;
    if (b.kind === 'releases' && b.status === 'found' && b.scenario === scenario && b.answer && b.startedAt) found.push({ at: b.startedAt, b: b as ReleaseBisectResult, dir: join(resultsRoot, name) });
  }
  const newest = found.sort((a, b) => a.at.localeCompare(b.at)).at(-1);
  if (!newest) return undefined;
  const { b, dir } = newest;
  return { ...b.answer!, mode: b.mode, dir, changelog: (b.changes?.changelog ?? []).map((c) => `${c.release}: ${c.text}`) };
}

export async function writeBugReport(runPath: string, opts: { config: LabConfig; scenario?: string }): Promise<BugReportFiles> {
  const { config } = opts;
  const result = await readRunResult(runPath);
  const dir = resolve(runPath.endsWith('.json') ? dirname(runPath) : runPath);
  const s = pickScenario(result, dir, opts.scenario);
  const scenario = await scenarioOf(s, config);
  const boot = bootOf(result);
  const release = result.kernel?.release ?? result.kernelSpec;
  const rootfs = result.image ? join(imageEntry(config.paths.cache, result.image.name, result.image.key), 'rootfs.ext4') : join(config.paths.cache, 'images', 'rootfs.ext4');
  const faulting = faultingFunction(s.kernelReport ?? []);
  const reproducer = join(dir, 'bug-reproducer.sh');
  const title = bugTitle(s, release);
  const guest = guestScript({ name: scenario.name, setup: scenario.setup, steps: scenario.steps, readsDump: scenario.observers.includes('debugfs') });
  await writeFile(reproducer, reproducerScript({ title, ...boot, rootfs, guest, ...(faulting ? { faulting } : {}) }));
  await chmod(reproducer, 0o755);
  const input: BugReportInput = {
    scenario: s,
    scenarioFile: relative(config.paths.repo, scenario.file).startsWith('..') ? scenario.file : relative(config.paths.repo, scenario.file),
    description: scenario.description.split('\n')[0]!.trim(),
    release,
    flavor: result.flavor,
    origin: result.kernel?.reproducer?.find((l) => l.includes('tar'))?.match(/xz -dc (\S+)/)?.[1] ?? result.kernelSpec,
    fragment: await readFile(join(dir, 'kernel-fragment.config'), 'utf8').catch(() => '(kernel-fragment.config is not in the results folder)\n'),
    decoded: s.kernelReport?.length ? await decode(s.kernelReport, boot.bzImage) : { why: 'no kernel report' },
    ...(await bisectOf(config.paths.results, s.name).then((b) => (b ? { bisect: b } : {}))),
    reproducer: { file: reproducer, usage: `sh ${reproducer} [${boot.bzImage}] [${rootfs}]` },
    resultsDir: dir,
  };
  const report = join(dir, 'bug-report.txt');
  await writeFile(report, renderBugReport(input));
  return { title, report, reproducer, scenario: s.name };
}
