/** `--kernel` values: a series (6.12) or an exact release (6.12.117). */
import { InputError } from '../core/errors.ts';

export interface KernelSpec {
  /** As the user typed it. */
  raw: string;
  /** major.minor, e.g. "6.12". */
  series: string;
  /** Exact patch level when asked for (6.6.58), else undefined = newest known. */
  patch?: number;
}

/** The long-term series `--kernel lts` names, as data (kernel.org's LTS releases the lab follows). */
export const LTS_SERIES: readonly string[] = ['6.1', '6.6', '6.12'];

/** Names for kernels the sources decide: every LTS series, and the newest stable series the sources offer. */
const KERNEL_ALIASES = ['lts', 'newest'] as const;
type KernelAlias = (typeof KERNEL_ALIASES)[number];
export const isKernelAlias = (v: string): v is KernelAlias => (KERNEL_ALIASES as readonly string[]).includes(v.trim());

export function parseKernelSpec(raw: string): KernelSpec {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(raw.trim());
  if (!m) {
    throw new InputError(
      'BAD_KERNEL_SPEC',
      `--kernel ${JSON.stringify(raw)}: not a kernel version; accepted: a series like 6.12, an exact release like 6.6.58, lts (${LTS_SERIES.join(', ')}) or newest`,
      { value: raw },
    );
  }
  const [, major, minor, patch] = m;
  return { raw, series: `${Number(major)}.${Number(minor)}`, patch: patch === undefined ? undefined : Number(patch) };
}

export function formatSpec(spec: KernelSpec): string {
  return spec.patch === undefined ? spec.series : `${spec.series}.${spec.patch}`;
}

/** VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION from a kernel Makefile. */
export function versionFromMakefile(text: string): string {
  const field = (name: string) => new RegExp(`^${name}[ \\t]*=[ \\t]*(\\S*)[ \\t]*$`, 'm').exec(text)?.[1] ?? '';
  const v = field('VERSION');
  const p = field('PATCHLEVEL');
  if (!v || !p) throw new InputError('NOT_A_KERNEL_TREE', 'Makefile has no VERSION/PATCHLEVEL: not a kernel tree');
  const s = field('SUBLEVEL') || '0';
  const version = `${v}.${p}.${s}${field('EXTRAVERSION')}`;
  // the version names folders in the cache: "/.." in EXTRAVERSION once moved a tree out of it
  if (!SAFE_COMPONENT.test(version) || version.includes('..')) {
    throw new InputError('NOT_A_KERNEL_TREE', `Makefile: version ${JSON.stringify(version)} (VERSION.PATCHLEVEL.SUBLEVEL and EXTRAVERSION): only letters, digits and . _ + - are accepted, and no ".."`, { value: version });
  }
  return version;
}

/** What a name that comes from data (a version, an index record) may hold before it becomes a path component. */
export const SAFE_COMPONENT = /^[A-Za-z0-9._+-]+$/;

export { compareVersions } from '../core/version.ts';
