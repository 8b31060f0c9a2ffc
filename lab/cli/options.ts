/** Options shared by several commands, their parsers, and how the CLI turns them into the library's inputs. */
import { Command, Option } from 'commander';
import { CONFIG_KEYS, resolveConfig, type LabConfig } from '../core/config.ts';
import { ExitCode, InputError } from '../core/errors.ts';
import { defaultKernel } from '../host/requirements.ts';
import { DEFAULT_FLAVOR, type KernelInput } from '../kernel/inputs.ts';

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function wholeNumber(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InputError('BAD_OPTION', `${flag} ${JSON.stringify(v)}: expected a whole number`);
    return n;
  };
}

export function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InputError('BAD_OPTION', `${flag} ${JSON.stringify(v)}: expected a positive whole number`);
    return n;
  };
}

/** The options that choose and configure a kernel, shared by run, exec and build. */
export function kernelOptions(cmd: Command): Command {
  return cmd
    .option('-k, --kernel <version>', 'kernel series (6.12) or exact release (6.6.58)', defaultKernel)
    .option('--kernel-src <path>', 'a local kernel tree (git checkout or extracted) instead of --kernel')
    .option('--kernel-tarball <file>', 'a local linux-*.tar.xz instead of --kernel')
    .option('--flavor <name>', 'kernel flavor: kernels/flavors/<name>.config (lab, debug)', DEFAULT_FLAVOR)
    .option('--config-fragment <file>', "extra kconfig fragment merged after the lab's (repeatable)", collect)
    .option('--kconfig <CONFIG_X=y>', 'extra kconfig option (repeatable)', collect);
}

/** The options that shape the guest, shared by run and exec. */
export function guestOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--memory <MiB>', `guest memory (env ${CONFIG_KEYS.memoryMb.env}, default ${CONFIG_KEYS.memoryMb.default})`).argParser(positiveInt('--memory')))
    .addOption(new Option('--cpus <n>', `guest CPUs (env ${CONFIG_KEYS.cpus.env}, default ${CONFIG_KEYS.cpus.default})`).argParser(positiveInt('--cpus')))
    .option('--append <word>', "extra kernel command line word, after the lab's (repeatable)", collect);
}

export type KernelFlags = { kernel: string; kernelSrc?: string; kernelTarball?: string; configFragment?: string[]; kconfig?: string[]; flavor: string };
export type GuestFlags = { memory?: number; cpus?: number; append?: string[] };

export const kernelInput = (o: KernelFlags): KernelInput => ({
  kernel: o.kernel,
  kernelSrc: o.kernelSrc,
  kernelTarball: o.kernelTarball,
  configFragments: o.configFragment,
  kconfig: o.kconfig,
  flavor: o.flavor,
});

/** Flags, then environment, then lab.config.json/yaml, then defaults. */
export const configFrom = (o: Partial<GuestFlags> = {}): LabConfig => resolveConfig({ flags: { memoryMb: o.memory, cpus: o.cpus } });

/** Ctrl-C once: stop the guest and still write results; twice: quit at once. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  let first = 0;
  process.on('SIGINT', () => {
    // one press can arrive twice: from the terminal (to the process group) and relayed by tsx,
    // which re-sends it when this process is slow to acknowledge
    if (first && Date.now() - first < 1000) return;
    if (!first) {
      first = Date.now();
      process.stderr.write('\ninterrupted: stopping the guest and writing results (Ctrl-C again to quit at once)\n');
      controller.abort();
    } else process.exit(ExitCode.interrupted);
  });
  process.on('SIGTERM', () => controller.abort());
  return controller.signal;
}

/** The environment variables every command reads, for help texts. */
export function environmentHelp(): string {
  return Object.values(CONFIG_KEYS)
    .map((k) => `  ${k.env.padEnd(20)} ${k.help} (default: ${k.default})`)
    .join('\n');
}
