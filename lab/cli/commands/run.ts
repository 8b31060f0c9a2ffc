/** `lab run` (the default command): build, boot, trace, judge. */
import type { Command } from 'commander';
import { ExitCode } from '../../core/errors.ts';
import { runLab } from '../../pipeline.ts';
import { describeFix } from '../../scenario/known-issues.ts';
import { verdictTable } from '../../report/table.ts';
import {
  collect,
  guestOptions,
  interruptSignal,
  guestRunInput,
  kernelOptions,
  positiveInt,
  progressOptions,
  reporterFrom,
  type GuestFlags,
  type KernelFlags,
  type ProgressFlags,
} from '../options.ts';
import { Option } from 'commander';

type RunFlags = KernelFlags & GuestFlags & ProgressFlags & { scenario?: string[]; isolate?: boolean; repeat?: number };

export function runCommand(program: Command): void {
  progressOptions(guestOptions(kernelOptions(program.command('run', { isDefault: true }))), 'no progress lines, only the verdict table')
    .description('build (or reuse) a kernel and an image, boot it, run scenarios, judge them')
    .option('-s, --scenario <name>', 'scenario from scenarios/, a glob of names, or a file (repeatable; default: all)', collect)
    .option('--isolate', 'boot a fresh guest for every scenario (default: one guest per kernel)')
    .addOption(new Option('--repeat <n>', 'run the selected scenarios n times in a row, each judged on its own').default(1).argParser(positiveInt('--repeat')))
    .action(async (o: RunFlags) => {
      const reporter = reporterFrom(o);
      const signal = interruptSignal();
      const { result, resultsDir } = await runLab({
        ...guestRunInput(o),
        scenarios: o.scenario ?? [],
        isolate: o.isolate,
        repeat: o.repeat,
        reporter,
        signal,
      }).finally(() => reporter.close());
      process.stdout.write(`\n${verdictTable(result)}\n\n`);
      for (const s of result.scenarios) {
        const label = s.repetition ? `${s.name} #${s.repetition}` : s.name;
        const notPassed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail' || e.verdict === 'error');
        for (const e of notPassed) process.stdout.write(`${label}: ${e.message}\n`);
        if (s.error) process.stdout.write(`${label}: ${s.error.code}: ${s.error.message}\n`);
        if (s.kernelReport) process.stdout.write(`${label}: the kernel reported (${s.resultsDir}/kernel-report.txt):\n${s.kernelReport.slice(0, 12).map((l) => `    ${l}`).join('\n')}\n`);
        if (s.knownIssue) process.stdout.write(`${label}: known issue: ${s.knownIssue.title}\n    upstream fix: ${describeFix(s.knownIssue)}\n`);
        if (s.skipReason) process.stdout.write(`${label}: skipped: ${s.skipReason}\n`);
      }
      if (result.repeat) {
        const failed = result.scenarios.filter((s) => s.status !== 'PASS' && s.status !== 'SKIP').length;
        process.stdout.write(`repeat: ${result.scenarios.length} scenario runs, ${failed} not passed\n`);
      }
      if (result.error) process.stdout.write(`error in stage ${result.error.stage}: ${result.error.code}: ${result.error.message}\n`);
      process.stdout.write(`${result.status}: ${result.kernel?.release ?? o.kernel}, results in ${resultsDir}\n`);
      process.exitCode = result.status === 'PASS' ? ExitCode.ok : result.status === 'FAIL' ? ExitCode.expectationFailed : ExitCode.infrastructure;
      if (signal.aborted) process.exitCode = ExitCode.interrupted;
    });
}
