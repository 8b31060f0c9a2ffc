/** `lab shell`: an interactive shell in a lab guest. */
import type { Command } from 'commander';
import { runShell } from '../../api.ts';
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

export function shellCommand(program: Command): void {
  progressOptions(guestOptions(kernelOptions(program.command('shell'))))
    .description('boot the lab kernel and image and open an interactive shell in the guest (a real terminal over SSH)')
    .option('--observers', 'load the page_order module and the bpftrace probes first, and print the probe map')
    .action(async (o: KernelFlags & GuestFlags & ProgressFlags & { observers?: boolean }) => {
      const reporter = reporterFrom(o);
      const { stdin, stdout } = process;
      const { exitCode } = await runShell({
        ...guestRunInput(o),
        reporter,
        signal: interruptSignal(),
        observers: o.observers,
        terminal: {
          input: stdin,
          output: stdout,
          term: process.env.TERM || 'xterm-256color',
          cols: stdout.columns || 80,
          rows: stdout.rows || 24,
          setRawMode: stdin.isTTY ? (raw) => stdin.setRawMode(raw) : undefined,
          // SIGWINCH: Node re-reads the size and emits 'resize' on the terminal
          onResize: (listener) => {
            const onResize = () => listener(stdout.rows, stdout.columns);
            stdout.on('resize', onResize);
            return () => stdout.off('resize', onResize);
          },
        },
      }).finally(() => reporter.close());
      process.exitCode = exitCode;
      // stdin was read from: it would keep the process alive
      stdin.destroy();
    });
}
