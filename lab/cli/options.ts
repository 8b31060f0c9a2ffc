/** Options shared by several commands, their parsers, and how the CLI turns them into the library's inputs. */
import { Command, Option } from 'commander';
import { CONFIG_KEYS, DEFAULT_FLAVOR, defaultKernel, ExitCode, InputError, isKernelAlias, type KernelInput, type LabConfig, parseKernelSpec, progressReporter, type ProgressReporter, resolveConfig } from '../api.ts';
export const collect = (value: string, previous: string[] = []) => [...previous, value];
/** A comma-separated list (--kernels 6.1,6.6): any text is a list, its items are checked where they are used. */
export const commaList = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

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

/** One of a fixed set of words; help lists them as commander's choices would. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]) {
  return (v: string): T => {
    if (!choices.includes(v as T)) throw new InputError('BAD_OPTION', `${flag} ${JSON.stringify(v)}: accepted: ${choices.join(', ')}`);
    return v as T;
  };
}

/** --kernel's default as lab run holds it: a list, told apart from the user's first value by identity. */
const DEFAULT_KERNELS: readonly string[] = [defaultKernel];

/** lab run's --kernel: repeatable and comma-separated (--kernel 6.1,6.12), every item a kernel version. */
export function kernelList(v: string, previous: readonly string[] = DEFAULT_KERNELS): string[] {
  const items = commaList(v);
  if (!items.length) throw new InputError('BAD_KERNEL_SPEC', `--kernel ${JSON.stringify(v)}: no kernel version in it; accepted: 6.12, 6.6.58, or several: 6.1,6.12`);
  for (const item of items) if (!isKernelAlias(item)) parseKernelSpec(item);
  return [...(previous === DEFAULT_KERNELS ? [] : previous), ...items];
}

/**
 * The options that choose and configure a kernel, shared by run, exec and
 * build; `several` (lab run) takes --kernel more than once or as a comma list.
 */
export function kernelOptions(cmd: Command, opts: { several?: boolean } = {}): Command {
  const kernel = opts.several
    ? new Option('-k, --kernel <version>', 'kernel series (6.12), exact release (6.6.58), lts (every LTS series) or newest (the newest series the sources offer); several: repeat it or a comma list (6.1,6.12), each its own pipeline')
        .default(DEFAULT_KERNELS, defaultKernel)
        .argParser(kernelList)
    : new Option('-k, --kernel <version>', 'kernel series (6.12) or exact release (6.6.58)').default(defaultKernel);
  return cmd
    .addOption(kernel)
    .option('--kernel-src <path>', 'a local kernel tree (git checkout or extracted) instead of --kernel')
    .option('--kernel-tarball <file>', 'a local linux-*.tar.xz instead of --kernel')
    .option('--flavor <name>', 'kernel flavor: kernels/flavors/<name>.config (lab, debug)', DEFAULT_FLAVOR)
    .option('--config-fragment <file>', "extra kconfig fragment merged after the lab's (repeatable)", collect)
    .option('--kconfig <CONFIG_X=y>', 'extra kconfig option (repeatable)', collect);
}

/**
 * An option that is also a configuration key: its help names the environment
 * variable and the default from CONFIG_KEYS (the value itself is resolved by
 * resolveConfig, so a flag, the environment and lab.config.* keep their order).
 */
function configOption(key: 'memoryMb' | 'cpus', flags: string, description: string): Option {
  const k = CONFIG_KEYS[key];
  return new Option(flags, `${description} (env: ${k.env}, default: ${k.default})`).argParser(positiveInt(k.flag));
}

/** The options that shape the guest, shared by run, exec and shell. */
export function guestOptions(cmd: Command): Command {
  return cmd
    .addOption(configOption('memoryMb', '--memory <MiB>', 'guest memory'))
    .addOption(configOption('cpus', '--cpus <n>', 'guest CPUs'))
    .option('--append <word>', "extra kernel command line word, after the lab's (repeatable)", collect)
    .option('--no-snapshot', `boot from scratch: neither restore nor save a ready guest (env: ${CONFIG_KEYS.snapshots.env}, default: ${CONFIG_KEYS.snapshots.default})`);
}

/** -q and -v, shared by the commands that report progress. */
export function progressOptions(cmd: Command, quietHelp = 'no progress lines'): Command {
  return cmd
    .option('-q, --quiet', quietHelp)
    .option('-v, --verbose', 'also stream the build log and the guest console');
}

export type ProgressFlags = { quiet?: boolean; verbose?: boolean };

/** A live view on a terminal, plain timestamped lines otherwise (CI, pipes). */
export const reporterFrom = (o: ProgressFlags): ProgressReporter =>
  progressReporter({ quiet: o.quiet, verbose: o.verbose }, { stdout: process.stdout, stderr: process.stderr }, process.env);

export type KernelFlags = { kernel: string; kernelSrc?: string; kernelTarball?: string; configFragment?: string[]; kconfig?: string[]; flavor: string; build?: boolean };
export type GuestFlags = { memory?: number; cpus?: number; append?: string[]; snapshot?: boolean };

export const kernelInput = (o: KernelFlags): KernelInput => ({
  kernel: o.kernel,
  kernelSrc: o.kernelSrc,
  kernelTarball: o.kernelTarball,
  configFragments: o.configFragment,
  kconfig: o.kconfig,
  flavor: o.flavor,
  ...(o.build === false ? { noBuild: true } : {}),
});

/** Flags, then environment, then lab.config.json/yaml, then defaults. */
export const configFrom = (o: Partial<GuestFlags> = {}): LabConfig => resolveConfig({ flags: { memoryMb: o.memory, cpus: o.cpus, snapshots: o.snapshot === false ? false : undefined } });

/** What run, exec and shell hand the library from the kernel and guest flags: the kernel, the resolved configuration, the extra command line. */
export const guestRunInput = (o: KernelFlags & GuestFlags) => ({ ...kernelInput(o), config: configFrom(o), append: o.append });

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
