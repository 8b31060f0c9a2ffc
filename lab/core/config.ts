/**
 * The lab's configuration, resolved once and passed down: command-line flags,
 * then the environment, then an optional lab.config.json or lab.config.yaml
 * in the working directory, then defaults. Every value is validated here and
 * an error names the key and where it came from; stages never read
 * process.env themselves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { z } from 'zod';
import { InputError } from './errors.ts';
import { repoRoot, type LabPaths } from './paths.ts';

const ACCEL_SETTINGS = ['auto', 'tcg', 'kvm'] as const;
const TCG_THREADS = ['auto', 'single', 'multi'] as const;
type AccelSetting = (typeof ACCEL_SETTINGS)[number];
type TcgThreadsSetting = (typeof TCG_THREADS)[number];
/** How QEMU runs the vCPUs under TCG: one host thread for all, or one each. */
export type TcgThreads = Exclude<TcgThreadsSetting, 'auto'>;
type Source = 'flag' | 'env' | 'file' | 'default';

const DEFAULT_KERNEL_MIRROR = 'https://cdn.kernel.org/pub/linux/kernel';

export interface LabConfig {
  paths: LabPaths;
  /** Folders searched for linux-<version>.tar.xz besides /usr/src. */
  tarballDirs: string[];
  /** A kernel.org-layout mirror; '' disables downloads. */
  kernelMirror: string;
  /** linux-source-<series> from every Debian suite the lab knows, through its own apt state (lab/kernel/debian.ts). */
  debianArchive: boolean;
  /** mmdebstrap mirror argument; undefined: the host's own apt sources when the suite matches. */
  imageMirror?: string;
  accel: AccelSetting;
  /**
   * Under TCG: one host thread runs every vCPU (single), or one thread per vCPU (multi). With a
   * thread per vCPU, QEMU 7.2 kept running translations of kernel code that another vCPU had
   * just patched (kprobes armed or removed), so probes went blind or a removed int3 kept firing
   * (docs/reliability.md). auto (the default): multi for the guests of `lab run`, which patch
   * kernel text only once, with the other vCPUs offline (lab/prepare/resident.ts), when their
   * vCPU threads fit the host's cores; single for `lab exec` and `lab shell`, where the user's own
   * probes may patch it at any time (tcgThreadsFor).
   */
  tcgThreads: TcgThreadsSetting;
  /** How long a boot may take to print its readiness marker (undefined: 60 s with KVM, 180 s under TCG). */
  readyTimeoutS?: number;
  memoryMb: number;
  cpus: number;
  /** Restore a saved ready guest instead of booting, and save one when there is none. */
  snapshots: boolean;
  /** Where each key's value came from, for `lab doctor` and error messages. */
  sources: Record<ConfigKey, Source>;
}

/** The keys, their environment variables and defaults: one table that help, doctor and the docs read. */
export const CONFIG_KEYS = {
  cacheDir: { env: 'LAB_CACHE_DIR', flag: undefined, help: 'kernel sources, builds, ccache, images, modules, SSH key', default: '~/.cache/page-owner-lab' },
  resultsDir: { env: 'LAB_RESULTS_DIR', flag: undefined, help: 'where results/<run-id>/ folders go', default: './results' },
  tarballDirs: { env: 'LAB_TARBALL_DIR', flag: undefined, help: 'folders (":"-separated) searched for linux-<version>.tar.xz', default: '(none)' },
  kernelMirror: { env: 'LAB_KERNEL_MIRROR', flag: undefined, help: 'kernel.org-layout mirror for source downloads ("" disables)', default: DEFAULT_KERNEL_MIRROR },
  debianArchive: { env: 'LAB_DEBIAN_ARCHIVE', flag: undefined, help: "linux-source-<series> from every Debian suite the lab knows, through the host's Debian mirror and the lab's own apt state (on, off)", default: 'on' },
  imageMirror: { env: 'LAB_IMAGE_MIRROR', flag: undefined, help: 'mmdebstrap mirror argument for the guest image', default: "the host's apt sources" },
  accel: { env: 'LAB_ACCEL', flag: undefined, help: 'auto, tcg or kvm', default: 'auto' },
  tcgThreads: { env: 'LAB_TCG_THREADS', flag: undefined, help: 'under TCG: auto (multi for lab run, whose guests patch kernel text once with the other vCPUs offline, when the vCPUs of the guests running at once fit the host cores; single for exec and shell), single (one host thread for all vCPUs: code patched by one vCPU is seen by all) or multi (a thread per vCPU)', default: 'auto' },
  readyTimeoutS: { env: 'LAB_READY_TIMEOUT_S', flag: undefined, help: 'seconds a boot may take to reach readiness', default: '60 (KVM) / 180 (TCG)' },
  memoryMb: { env: 'LAB_MEMORY_MB', flag: '--memory', help: 'guest memory in MiB', default: '1024' },
  cpus: { env: 'LAB_CPUS', flag: '--cpus', help: 'guest CPUs', default: '2' },
  snapshots: { env: 'LAB_SNAPSHOTS', flag: '--no-snapshot', help: 'restore a saved ready guest instead of booting (on, off)', default: 'on' },
} as const;
type ConfigKey = keyof typeof CONFIG_KEYS;

const FileSchema = z.strictObject({
  cacheDir: z.string().min(1).optional(),
  resultsDir: z.string().min(1).optional(),
  tarballDirs: z.array(z.string().min(1)).optional(),
  kernelMirror: z.string().optional(),
  debianArchive: z.boolean().optional(),
  imageMirror: z.string().optional(),
  accel: z.enum(ACCEL_SETTINGS).optional(),
  tcgThreads: z.enum(TCG_THREADS).optional(),
  readyTimeoutS: z.number().positive().optional(),
  memoryMb: z.number().int().positive().optional(),
  cpus: z.number().int().positive().optional(),
  snapshots: z.boolean().optional(),
});
type FileConfig = z.infer<typeof FileSchema>;

const CONFIG_FILES = ['lab.config.json', 'lab.config.yaml'];

/** setTimeout's limit is 2^31 - 1 ms; a longer timeout fires at once. */
const MAX_READY_TIMEOUT_S = Math.floor((2 ** 31 - 1) / 1000);
/** vCPUs of QEMU's q35 machine without an IOMMU (x2APIC beyond 255 needs one). */
const MAX_CPUS = 255;
const hostMemoryMb = () => Math.floor(totalmem() / 2 ** 20);

function readConfigFile(cwd: string): { data: FileConfig; file?: string } {
  const found = CONFIG_FILES.map((f) => join(cwd, f)).filter((f) => existsSync(f));
  if (found.length > 1) throw new InputError('BAD_CONFIG_FILE', `${found.join(' and ')}: two config files; keep one (the other would be ignored)`, { file: found[1]! });
  const file = found[0];
  if (!file) return { data: {} };
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYamlText(text);
  } catch (e) {
    throw new InputError('BAD_CONFIG_FILE', `${file}: cannot parse: ${(e as Error).message}`, { file });
  }
  const r = FileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.');
    const accepted = issue.code === 'unrecognized_keys' ? `; keys: ${Object.keys(CONFIG_KEYS).join(', ')}` : '';
    throw new InputError('BAD_CONFIG_FILE', `${file}: ${key}: ${issue.message}${accepted}`, { file, key });
  }
  return { data: r.data, file };
}

interface ConfigInput {
  flags?: { memoryMb?: number; cpus?: number; snapshots?: boolean };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function resolveConfig(input: ConfigInput = {}): LabConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const { data: file } = readConfigFile(cwd);
  const sources = {} as Record<ConfigKey, Source>;
  const pick = <T>(key: ConfigKey, fromFlag: T | undefined, fromEnv: (v: string) => T, fallback: T): T => {
    const envName = CONFIG_KEYS[key].env;
    const envValue = env[envName];
    if (fromFlag !== undefined) {
      sources[key] = 'flag';
      return fromFlag;
    }
    if (envValue !== undefined && (envValue !== '' || key === 'kernelMirror')) {
      sources[key] = 'env';
      return fromEnv(envValue);
    }
    const fromFile = file[key as keyof FileConfig] as T | undefined;
    if (fromFile !== undefined) {
      sources[key] = 'file';
      return fromFile;
    }
    sources[key] = 'default';
    return fallback;
  };
  const positive = (key: ConfigKey, integer: boolean) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new InputError('BAD_CONFIG', `${CONFIG_KEYS[key].env}=${JSON.stringify(v)}: expected a positive ${integer ? 'whole ' : ''}number`, { key });
    }
    return n;
  };
  const oneOf = <T extends string>(key: ConfigKey, accepted: readonly T[]) => (v: string): T => {
    if (!(accepted as readonly string[]).includes(v)) throw new InputError('BAD_CONFIG', `${CONFIG_KEYS[key].env}=${JSON.stringify(v)}: accepted: ${accepted.join(', ')}`, { key });
    return v as T;
  };
  /** A value beyond what the host, QEMU or Node can do fails here, before anything is built, naming where it came from. */
  const atMost = <T extends number | undefined>(key: ConfigKey, v: T, max: number, why: string): T => {
    if (v === undefined || v <= max) return v;
    const where = { flag: `${CONFIG_KEYS[key].flag} ${v}`, env: `${CONFIG_KEYS[key].env}=${v}`, file: `${key} in the config file (${v})`, default: `${key} ${v}` }[sources[key]];
    throw new InputError('BAD_CONFIG', `${where}: at most ${max} (${why})`, { key });
  };
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const cacheDir = pick('cacheDir', undefined, (v) => v, join(xdg, 'page-owner-lab'));
  const resultsDir = pick('resultsDir', undefined, (v) => v, join(repoRoot, 'results'));
  const accel = pick<AccelSetting>('accel', undefined, oneOf('accel', ACCEL_SETTINGS), 'auto');
  const tcgThreads = pick<TcgThreadsSetting>('tcgThreads', undefined, oneOf('tcgThreads', TCG_THREADS), 'auto');
  const imageMirror = pick<string | undefined>('imageMirror', undefined, (v) => v, undefined);
  return {
    paths: { repo: repoRoot, cache: resolve(cwd, cacheDir), results: resolve(cwd, resultsDir) },
    tarballDirs: pick('tarballDirs', undefined, (v) => v.split(':').filter(Boolean), [] as string[]).map((d) => resolve(cwd, d)),
    kernelMirror: pick('kernelMirror', undefined, (v) => v, DEFAULT_KERNEL_MIRROR).replace(/\/+$/, ''),
    debianArchive: pick('debianArchive', undefined, (v) => oneOf('debianArchive', ['on', 'off'])(v) === 'on', true),
    imageMirror,
    accel,
    tcgThreads,
    readyTimeoutS: atMost('readyTimeoutS', pick<number | undefined>('readyTimeoutS', undefined, positive('readyTimeoutS', false), undefined), MAX_READY_TIMEOUT_S, "Node's timer limit, about 24 days: beyond it a timer fires at once"),
    memoryMb: atMost('memoryMb', pick('memoryMb', input.flags?.memoryMb, positive('memoryMb', true), 1024), hostMemoryMb(), "this host's memory"),
    cpus: atMost('cpus', pick('cpus', input.flags?.cpus, positive('cpus', true), 2), MAX_CPUS, "QEMU's q35 machine without an IOMMU"),
    snapshots: pick('snapshots', input.flags?.snapshots, (v) => oneOf('snapshots', ['on', 'off'])(v) === 'on', true),
    sources,
  };
}

/**
 * The TCG threading a guest gets. auto: a thread per vCPU for the guests of `lab run` (they
 * patch kernel text once, with the other vCPUs offline: lab/prepare/resident.ts) as long as
 * the vCPU threads of the guests running at once fit the host's cores; else one thread per
 * guest (several kernels side by side). `lab exec` and `lab shell` run single-threaded: the
 * user's own probes may patch kernel text while every vCPU runs.
 */
export function tcgThreadsFor(
  setting: TcgThreadsSetting,
  use: { interactive?: boolean; vcpus: number; guestsAtOnce?: number; hostCores?: number },
): TcgThreads {
  if (setting !== 'auto') return setting;
  if (use.interactive) return 'single';
  return use.vcpus * (use.guestsAtOnce ?? 1) <= (use.hostCores ?? availableParallelism()) ? 'multi' : 'single';
}

/** The resolved configuration as lines for `lab doctor`: key, value, where it came from. */
export function describeConfig(c: LabConfig): string[] {
  const value: Record<ConfigKey, string> = {
    cacheDir: c.paths.cache,
    resultsDir: c.paths.results,
    tarballDirs: c.tarballDirs.join(':') || '(none)',
    kernelMirror: c.kernelMirror || '(disabled)',
    debianArchive: c.debianArchive ? 'on' : 'off',
    imageMirror: c.imageMirror ?? "(the host's apt sources when the suite matches)",
    accel: c.accel,
    tcgThreads:
      c.tcgThreads === 'auto'
        ? `auto: one kernel's lab run ${tcgThreadsFor('auto', { vcpus: c.cpus })}-threaded (${c.cpus} vCPUs, ${availableParallelism()} cores), exec and shell single-threaded`
        : c.tcgThreads,
    readyTimeoutS: c.readyTimeoutS === undefined ? '(60 KVM / 180 TCG)' : String(c.readyTimeoutS),
    memoryMb: String(c.memoryMb),
    cpus: String(c.cpus),
    snapshots: c.snapshots ? 'on' : 'off',
  };
  return (Object.keys(CONFIG_KEYS) as ConfigKey[]).map((k) => `${k} = ${value[k]} (${c.sources[k]}${c.sources[k] === 'env' ? ` ${CONFIG_KEYS[k].env}` : ''})`);
}
