/** `lab run` (the default command): build, boot, trace, judge; several kernels side by side with --kernel A --kernel B --jobs N. */
import type { Command } from 'commander';
import { describeFix, ExitCode, exitCodeOf, expandKernelList, InputError, kernelsTables, runKernels, runLab, type RunResult, verdictTable } from '../../api.ts';
import {
  collect,
  configFrom,
  guestOptions,
  interruptSignal,
  guestRunInput,
  kernelInput,
  kernelOptions,
  positiveInt,
  progressOptions,
  reporterFrom,
  type GuestFlags,
  type KernelFlags,
  type ProgressFlags,
} from '../options.ts';
import { Option } from 'commander';

type RunFlags = Omit<KernelFlags, 'kernel'> & { kernel: string[] } & GuestFlags & ProgressFlags & { scenario?: string[]; isolate?: boolean; repeat?: number; jobs: number };

/** Each scenario that did not pass, with why: after the verdict table of one kernel, or the tables of several. */
function problems(result: RunResult, prefix = ''): string {
  let out = '';
  for (const s of result.scenarios) {
    const label = `${prefix}${s.repetition ? `${s.name} #${s.repetition}` : s.name}`;
    const notPassed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail' || e.verdict === 'error');
    for (const e of notPassed) out += `${label}: ${e.message}\n`;
    if (s.error) out += `${label}: ${s.error.code}: ${s.error.message}\n`;
    if (s.kernelReport) out += `${label}: the kernel reported (${s.resultsDir}/kernel-report.txt):\n${s.kernelReport.slice(0, 12).map((l) => `    ${l}`).join('\n')}\n`;
    if (s.knownIssue) out += `${label}: known issue: ${s.knownIssue.title}\n    upstream fix: ${describeFix(s.knownIssue)}\n`;
    if (s.regression) out += `${label}: REGRESSION: ${s.regression}\n`;
    if (s.skipReason) out += `${label}: skipped: ${s.skipReason}\n`;
  }
  if (result.repeat) {
    const failed = result.scenarios.filter((s) => s.status !== 'PASS' && s.status !== 'SKIP').length;
    out += `${prefix}repeat: ${result.scenarios.length} scenario runs, ${failed} not passed\n`;
  }
  if (result.error) out += `${prefix}error in stage ${result.error.stage}: ${result.error.code}: ${result.error.message}\n`;
  return out;
}

export function runCommand(program: Command): void {
  progressOptions(guestOptions(kernelOptions(program.command('run', { isDefault: true }), { several: true })), 'no progress lines, only the verdict table')
    .description('build (or reuse) a kernel and an image, boot it, run scenarios, judge them; several kernels side by side')
    .option('-s, --scenario <name>', 'scenario from scenarios/, a glob of names, or a file (repeatable; default: all)', collect)
    .option('--isolate', 'boot a fresh guest for every scenario (default: one guest per kernel)')
    .option('--no-build', 'take the kernel from the cache, never build it: a miss is exit 3 (a CI shard, whose build job made it)')
    .addOption(new Option('--repeat <n>', 'run the selected scenarios n times in a row, each judged on its own').default(1).argParser(positiveInt('--repeat')))
    .addOption(
      new Option('-j, --jobs <n>', 'with several kernels: how many run at once, each in its own guest (kernel builds still one at a time)')
        .default(1)
        .argParser(positiveInt('--jobs')),
    )
    .action(async (o: RunFlags) => {
      if (o.kernel.length > 1 && (o.kernelSrc || o.kernelTarball)) {
        throw new InputError('BAD_OPTION', `--kernel-src and --kernel-tarball build one kernel: give no --kernel with them (got ${o.kernel.join(', ')})`);
      }
      const reporter = reporterFrom(o);
      const signal = interruptSignal();
      const common = { scenarios: o.scenario ?? [], isolate: o.isolate, repeat: o.repeat, reporter, signal };
      // lts and newest: the series they name (newest asks the sources, Debian's archive first)
      if (o.kernel.length > 1 || o.kernel[0] === 'lts') o.kernel = await expandKernelList(o.kernel, configFrom(o), reporter);
      if (o.kernel.length > 1) {
        const { record, results, dir } = await runKernels({
          ...common,
          config: configFrom(o),
          append: o.append,
          kernels: o.kernel.map((kernel) => kernelInput({ ...o, kernel })),
          jobs: o.jobs,
        }).finally(() => reporter.close());
        for (const [i, k] of record.kernels.entries()) {
          const result = results[i];
          if (result) process.stdout.write(problems(result, `${k.label}: `));
          else if (k.error) process.stdout.write(`${k.label}: ${k.error.code}: ${k.error.message}\n`);
        }
        process.stdout.write(`\n${kernelsTables(record)}\n\n`);
        process.stdout.write(`${record.status}: ${record.kernels.length} kernels, exit ${record.exitCode}, results in ${dir} (summary.md, kernels.json)\n`);
        process.exitCode = record.exitCode;
        return;
      }
      const { result, resultsDir } = await runLab({ ...guestRunInput({ ...o, kernel: o.kernel[0]! }), ...common }).finally(() => reporter.close());
      process.stdout.write(`\n${verdictTable(result)}\n\n`);
      process.stdout.write(problems(result));
      process.stdout.write(`${result.status}: ${result.kernel?.release ?? o.kernel[0]}, results in ${resultsDir}\n`);
      process.exitCode = exitCodeOf(result.status);
      if (signal.aborted) process.exitCode = ExitCode.interrupted;
    });
}
