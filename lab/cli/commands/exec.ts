/** `lab exec -- COMMAND`: one command in a fresh guest, its exit status. */
import type { Command } from 'commander';
import { consoleReporter } from '../../core/reporter.ts';
import { runExec } from '../../exec.ts';
import { configFrom, guestOptions, interruptSignal, kernelInput, kernelOptions, type GuestFlags, type KernelFlags } from '../options.ts';

export function execCommand(program: Command): void {
  guestOptions(kernelOptions(program.command('exec')))
    .description('boot the lab kernel and image, run one command in the guest, exit with its status (255: the guest died)')
    .argument('<command...>', 'after --: one shell command line, or a program and its arguments')
    .option('-q, --quiet', 'no progress lines')
    .action(async (command: string[], o: KernelFlags & GuestFlags & { quiet?: boolean }) => {
      const { exitCode } = await runExec({
        ...kernelInput(o),
        config: configFrom(o),
        command,
        reporter: consoleReporter({ quiet: o.quiet }),
        signal: interruptSignal(),
        append: o.append,
      });
      process.exitCode = exitCode;
    });
}
