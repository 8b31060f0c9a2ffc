/** `lab exec -- COMMAND`: one command in a fresh guest, its exit status. */
import type { Command } from 'commander';
import { runExec } from '../../api.ts';
import {
  guestOptions,
  interruptSignal,
  guestRunInput,
  kernelOptions,
  progressOptions,
  reporterFrom,
  type GuestFlags,
  type KernelFlags,
  type ProgressFlags,
} from '../options.ts';

export function execCommand(program: Command): void {
  progressOptions(guestOptions(kernelOptions(program.command('exec'))))
    .description('boot the lab kernel and image, run one command in the guest, exit with its status (255: the guest died)')
    .argument('<command...>', 'after --: one shell command line, or a program and its arguments')
    .action(async (command: string[], o: KernelFlags & GuestFlags & ProgressFlags) => {
      const reporter = reporterFrom(o);
      const { exitCode } = await runExec({
        ...guestRunInput(o),
        command,
        reporter,
        signal: interruptSignal(),
      }).finally(() => reporter.close());
      process.exitCode = exitCode;
    });
}
