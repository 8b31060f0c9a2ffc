/**
 * What the user asked for, turned into a kernel source and the fragments to
 * merge: --kernel / --kernel-src / --kernel-tarball, the lab's fragments
 * (kernels/lab.config, kernels/<series>.config), --config-fragment files and
 * --kconfig options, in that order (later ones win, as in merge_config.sh).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError, isLabError } from '../core/errors.ts';
import { parseFragment, parseKconfigArg, type FragmentEntry } from './config.ts';
import { expandKernels, fromTarball, fromTree, resolveSource, type KernelSource } from './source.ts';
import { repoRoot } from '../core/paths.ts';
import { LTS_SERIES, parseKernelSpec } from './spec.ts';

export interface KernelInput {
  /** --kernel: a series or an exact release. */
  kernel: string;
  /** --kernel-src: a local tree, used instead of --kernel. */
  kernelSrc?: string;
  /** --kernel-tarball: a local .tar.xz, used instead of --kernel. */
  kernelTarball?: string;
  configFragments?: string[];
  kconfig?: string[];
  /** --flavor: kernels/flavors/<name>.config merged after the base (default: lab). */
  flavor?: string;
  /** --no-build: take the kernel from the cache or fail (a CI shard: its build job made it). */
  noBuild?: boolean;
}

export const DEFAULT_FLAVOR = 'lab';

const BASE_FRAGMENT = 'kernels/lab.config';

/** Validate everything that can be validated without touching a kernel source. */
export async function userFragments(input: KernelInput): Promise<FragmentEntry[]> {
  if (!input.kernelSrc && !input.kernelTarball) singleKernelSpec(input.kernel);
  // before any source is looked for or extracted (a typo was found only after a 1.5 GB extraction)
  if (input.flavor !== undefined) await checkFlavor(repoRoot, input.flavor);
  if (input.kernelSrc && input.kernelTarball) {
    throw new InputError('BAD_OPTION', '--kernel-src and --kernel-tarball: give one source, not both');
  }
  if (input.kernelTarball && !existsSync(input.kernelTarball)) {
    throw new InputError('FILE_NOT_FOUND', `--kernel-tarball ${input.kernelTarball}: no such file`, { value: input.kernelTarball });
  }
  const out: FragmentEntry[] = [];
  for (const f of input.configFragments ?? []) {
    const text = await readFile(f, 'utf8').catch(() => {
      throw new InputError('FILE_NOT_FOUND', `--config-fragment ${f}: cannot read file`, { value: f });
    });
    out.push(...parseFragment(text, f));
  }
  out.push(...(input.kconfig ?? []).map(parseKconfigArg));
  return out;
}

/**
 * What a flavor needs from the guest, declared in its file as comments:
 *   # lab: boot-timeout-factor N   the readiness timeout times N (unless LAB_READY_TIMEOUT_S sets one)
 *   # lab: append WORD             a kernel command line word, before the user's --append
 * The debug flavor needs both under TCG: KASAN's shadow and page poisoning touch all
 * of memory, and ACPI's _PRT method runs into the AML loop timeout (virtio then gets
 * no interrupt: pci=noacpi routes them from the BIOS table).
 */
interface FlavorBoot {
  readyTimeoutFactor: number;
  /** The flavor's words, then the user's (a later word wins). */
  append: string[];
}

export async function flavorBoot(repo: string, flavor = DEFAULT_FLAVOR, userAppend: readonly string[] = []): Promise<FlavorBoot> {
  const text = await readFile(join(repo, 'kernels', 'flavors', `${flavor}.config`), 'utf8').catch(() => '');
  const factor = /^# lab: boot-timeout-factor (\d+(?:\.\d+)?)\s*$/m.exec(text);
  const append = [...[...text.matchAll(/^# lab: append (\S+)\s*$/gm)].map((m) => m[1]!), ...userAppend];
  return { readyTimeoutFactor: factor ? Number(factor[1]) : 1, append };
}

/** The flavors there are: one file each in kernels/flavors/. */
/** A flavor the lab has (kernels/flavors/<name>.config), else exit 2 naming what it has. */
async function checkFlavor(repo: string, flavor: string): Promise<void> {
  const flavors = await listFlavors(repo);
  if (!flavors.includes(flavor)) {
    throw new InputError('UNKNOWN_FLAVOR', `--flavor ${JSON.stringify(flavor)}: no kernels/flavors/${flavor}.config; accepted: ${flavors.join(', ')}`, {
      value: flavor,
    });
  }
}

export async function listFlavors(repo: string): Promise<string[]> {
  const names = await readdir(join(repo, 'kernels', 'flavors')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.config')).map((n) => n.slice(0, -'.config'.length)).sort();
}

/**
 * Kernel fragments of the lab: the base, the flavor's (kernels/flavors/<flavor>.config,
 * which must exist), then kernels/<series>.config when present; for `release`, without the
 * lines of `# lab: when kernel ...` blocks that do not hold for it (collected in `skipped`).
 */
export async function labFragments(
  repo: string,
  release: string,
  flavor = DEFAULT_FLAVOR,
  skipped?: (FragmentEntry & { when: string })[],
): Promise<FragmentEntry[]> {
  const series = seriesOf(release);
  await checkFlavor(repo, flavor);
  const out: FragmentEntry[] = [];
  for (const f of [join(repo, BASE_FRAGMENT), join(repo, 'kernels', 'flavors', `${flavor}.config`), join(repo, 'kernels', `${series}.config`)]) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text !== undefined) out.push(...parseFragment(text, relative(repo, f), release, skipped));
  }
  return out;
}

export async function resolveKernelInput(
  input: KernelInput,
  opts: Parameters<typeof resolveSource>[1],
): Promise<{ source: KernelSource; label: string }> {
  if (input.kernelSrc) return { source: await fromTree(input.kernelSrc, opts.reporter), label: input.kernelSrc };
  if (input.kernelTarball) {
    // the user's own file: one that does not extract is bad input (exit 2), named; a download that breaks stays infrastructure
    const source = await fromTarball(input.kernelTarball, opts).catch((e: unknown) => {
      if (isLabError(e) && e.code === 'EXTRACT_FAILED') {
        throw new InputError('BAD_TARBALL', `--kernel-tarball ${input.kernelTarball}: not a kernel source tarball that extracts (${e.message.replace(/^extracting \S+ failed: /, '')})`, { value: input.kernelTarball });
      }
      throw e;
    });
    return { source, label: input.kernelTarball };
  }
  const kernel = input.kernel === 'newest' ? (await expandKernels(['newest'], opts))[0]! : input.kernel;
  return { source: await resolveSource(parseKernelSpec(kernel), opts), label: input.kernel };
}

/** One kernel: a version, or `newest`; `lts` names several (lab run, lab matrix). */
function singleKernelSpec(kernel: string): void {
  if (kernel === 'lts') throw new InputError('BAD_KERNEL_SPEC', `--kernel lts names several kernels (${LTS_SERIES.join(', ')}): use it with lab run or lab matrix, or give one series`, { value: kernel });
  if (kernel !== 'newest') parseKernelSpec(kernel);
}

export function seriesOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

