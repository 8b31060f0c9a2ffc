/** `lab bisect`: the commit of a kernel tree that changed what a scenario sees. */
import type { Command } from 'commander';
import { runBisect } from '../../bisect.ts';
import { ExitCode } from '../../core/errors.ts';
import { consoleReporter } from '../../core/reporter.ts';
import { stepTable } from '../../report/bisect.ts';
import { DEFAULT_FLAVOR } from '../../kernel/inputs.ts';
import { collect, configFrom, guestOptions, interruptSignal, type GuestFlags } from '../options.ts';

type BisectFlags = GuestFlags & {
  kernelSrc: string;
  good: string;
  bad: string;
  scenario: string;
  expect?: string[];
  flavor: string;
  configFragment?: string[];
  kconfig?: string[];
  resume?: boolean;
  quiet?: boolean;
};

export function bisectCommand(program: Command): void {
  const cmd = program
    .command('bisect')
    .description('git bisect a kernel tree with a scenario: PASS is good, FAIL bad, ERROR (or a build failure) skipped; names the first bad commit')
    .requiredOption('--kernel-src <path>', 'the kernel git tree (never checked out: the lab bisects in a worktree of its own)')
    .requiredOption('--good <rev>', 'a revision where the scenario passes')
    .requiredOption('--bad <rev>', 'a later revision where it fails')
    .requiredOption('-s, --scenario <name>', 'scenario from scenarios/, or a file')
    .option('--expect <expr>', 'an expectation added to the scenario, or replacing its expectations with the same left side (repeatable)', collect)
    .option('--flavor <name>', 'kernel flavor: kernels/flavors/<name>.config (lab, debug)', DEFAULT_FLAVOR)
    .option('--config-fragment <file>', "extra kconfig fragment merged after the lab's (repeatable)", collect)
    .option('--kconfig <CONFIG_X=y>', 'extra kconfig option (repeatable)', collect)
    .option('--resume', 'continue the interrupted bisection of the same tree, range and scenario')
    .option('-q, --quiet', 'no progress lines, only the answer and the steps');
  guestOptions(cmd)
    .addHelpText(
      'after',
      '\nExit codes: 0 a first bad commit was found, 1 the range gave no answer, 2 bad input (a revision\nthat does not exist, good and bad swapped, not a git tree, unknown scenario), 3 infrastructure, 130 interrupted.',
    )
    .action(async (o: BisectFlags) => {
      const reporter = consoleReporter({ quiet: o.quiet });
      const signal = interruptSignal();
      const { result, resultsDir } = await runBisect({
        config: configFrom(o),
        tree: o.kernelSrc,
        good: o.good,
        bad: o.bad,
        scenario: o.scenario,
        expect: o.expect,
        flavor: o.flavor,
        configFragments: o.configFragment,
        kconfig: o.kconfig,
        append: o.append,
        resume: o.resume,
        reporter,
        signal,
      });
      process.stdout.write(`\n${stepTable(result)}\n\n${result.message}\n`);
      if (result.firstBad) process.stdout.write(`first bad commit: ${result.firstBad.commit}\nsubject: ${result.firstBad.subject}\nfiles: ${result.firstBad.files.join(' ')}\n`);
      process.stdout.write(`results in ${resultsDir}\n`);
      process.exitCode = {
        found: ExitCode.ok,
        'no-answer': ExitCode.expectationFailed,
        interrupted: ExitCode.interrupted,
        error: ExitCode.infrastructure,
      }[result.status];
      if (signal.aborted) process.exitCode = ExitCode.interrupted;
    });
}
