/**
 * Which accelerator the guests get, from a real probe: a device node and a VM
 * that QEMU can create are not enough. On a nested host whose KVM is of
 * another kind, /dev/kvm opens and KVM_CREATE_VM works, yet a standard kernel
 * hangs after the BIOS. So KVM is chosen only when a kernel started under it
 * printed its first console line within a few seconds; otherwise TCG, and the
 * reason says why. A probe with a kernel is kept per host boot
 * (<cache>/host/accel.json), so only the first run after a reboot pays it.
 * `accel kvm` on a host where KVM cannot work is set-up needed (exit 4).
 */
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetupNeededError } from '../core/errors.ts';
import { run, start, which } from '../core/proc.ts';
import type { Accel } from './qemu.ts';
import { qemuVersion } from './snapshot.ts';

interface AccelChoice {
  accel: Accel;
  reason: string;
}

interface ProbeOptions {
  /** The kernel to try under KVM (the one about to boot); else any kernel of the cache, else the host's own. */
  kernel?: string;
  cacheDir?: string;
  /** For tests: where the device node and the CPU flags are read. */
  devKvm?: string;
  cpuinfo?: string;
  /** How long the kernel may take to print its first line under KVM. */
  timeoutMs?: number;
}

/** What a kernel prints first on ttyS0 with earlyprintk: the banner, or the decompressor before it. */
const FIRST_LINE = /Linux version|Decompressing Linux|Booting the kernel/;
const PROBE_TIMEOUT_MS = 5000;

const memo = new Map<string, Promise<AccelChoice>>();

/** The accelerator for `setting` (auto, tcg or kvm), probed once per process and kernel. */
export function probeAccel(setting: 'auto' | 'tcg' | 'kvm' = 'auto', opts: ProbeOptions = {}): Promise<AccelChoice> {
  const key = JSON.stringify([setting, opts.kernel ?? '', opts.devKvm ?? '', opts.cpuinfo ?? '', opts.cacheDir ?? '']);
  let p = memo.get(key);
  if (!p) {
    p = choose(setting, opts);
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

async function choose(setting: 'auto' | 'tcg' | 'kvm', opts: ProbeOptions): Promise<AccelChoice> {
  if (setting === 'tcg') return { accel: 'tcg', reason: 'configured: accel tcg' };
  const verdict = await kvmVerdict(opts);
  if (verdict.usable) return { accel: 'kvm', reason: setting === 'kvm' ? `configured: accel kvm; ${verdict.why}` : verdict.why };
  if (setting === 'kvm') {
    throw new SetupNeededError(`accel kvm (LAB_ACCEL or lab.config): KVM cannot run a guest here: ${verdict.why}; use accel auto or tcg`, {
      key: 'accel',
      value: 'kvm',
    });
  }
  return { accel: 'tcg', reason: verdict.why };
}

interface KvmVerdict {
  usable: boolean;
  why: string;
}

async function kvmVerdict(opts: ProbeOptions): Promise<KvmVerdict> {
  const dev = opts.devKvm ?? '/dev/kvm';
  if (!existsSync(dev)) return { usable: false, why: `${dev} does not exist` };
  try {
    await access(dev, constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, why: `${dev} exists but this user cannot open it (add the user to the kvm group)` };
  }
  if (!(await which('qemu-system-x86_64'))) return { usable: false, why: 'qemu-system-x86_64 is not installed' };
  const flags = /^flags\s*:(.*)$/m.exec(await readFile(opts.cpuinfo ?? '/proc/cpuinfo', 'utf8').catch(() => ''))?.[1] ?? '';
  const hasFlags = /\b(vmx|svm)\b/.test(flags);
  const cpu = hasFlags ? 'the CPU has vmx/svm' : 'the CPU shows no vmx/svm flag';
  const kernel = opts.kernel ?? (await anyKernel(opts.cacheDir));
  if (!kernel) {
    // nothing to boot yet: whether QEMU can create a KVM machine, and the flags; confirmed with the first kernel
    const r = await run('qemu-system-x86_64', ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'none,accel=kvm', '-monitor', 'stdio'], {
      input: 'quit\n',
      timeoutMs: 10_000,
      okExitCodes: [1],
    }).catch((e: Error) => ({ exitCode: 1, stderr: e.message }));
    if (r.exitCode !== 0) return { usable: false, why: `QEMU cannot create a KVM machine: ${r.stderr.split('\n').find((l) => l.trim())?.trim() ?? 'no reason given'}` };
    return hasFlags
      ? { usable: true, why: `/dev/kvm usable and ${cpu} (no kernel to boot under it yet: confirmed at the first boot)` }
      : { usable: false, why: `QEMU creates a KVM machine but ${cpu}; no kernel to try under it yet` };
  }
  const stamp = await hostStamp(dev);
  const known = await readKnown(opts.cacheDir, stamp);
  if (known) return known;
  const verdict = await bootProbe(kernel, opts.timeoutMs ?? PROBE_TIMEOUT_MS, cpu);
  await writeKnown(opts.cacheDir, stamp, verdict);
  return verdict;
}

/** Start `kernel` under KVM and wait for its first console line. */
async function bootProbe(kernel: string, timeoutMs: number, cpu: string): Promise<KvmVerdict> {
  const lines: string[] = [];
  let seen: (v: boolean) => void = () => {};
  const firstLine = new Promise<boolean>((resolve) => (seen = resolve));
  const started = Date.now();
  const log = join(tmpdir(), `lab-accel-probe-${process.pid}.log`);
  const qemu = start(
    'qemu-system-x86_64',
    ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '256M', '-smp', '1',
      '-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'],
    {
      log,
      onLine: (line) => {
        lines.push(line);
        if (FIRST_LINE.test(line)) seen(true);
      },
    },
  );
  const timer = setTimeout(() => seen(false), timeoutMs);
  const exited = qemu.exited.then(() => seen(false));
  const ok = await firstLine;
  clearTimeout(timer);
  qemu.kill('SIGKILL');
  await exited;
  await rm(log, { force: true });
  const ms = Date.now() - started;
  if (ok) return { usable: true, why: `a kernel started under KVM printed its first console line in ${ms} ms (${cpu})` };
  const said = lines.map((l) => l.trim()).filter(Boolean).slice(-2).join(' / ');
  return {
    usable: false,
    why: `a kernel started under KVM printed nothing in ${Math.round(ms / 100) / 10} s (${cpu}${said ? `; QEMU said: ${said}` : ''}): a nested host of another kind, or KVM without the features a guest needs`,
  };
}

/** A bzImage of the lab's cache (any), else the host's own kernel when readable. */
async function anyKernel(cacheDir?: string): Promise<string | undefined> {
  if (cacheDir) {
    const kernels = join(cacheDir, 'kernels');
    for (const name of await readdir(kernels).catch(() => [] as string[])) {
      const meta = await readFile(join(kernels, name, 'lab-build.json'), 'utf8')
        .then((t) => JSON.parse(t) as { bzImage?: string })
        .catch(() => undefined);
      if (meta?.bzImage && existsSync(meta.bzImage)) return meta.bzImage;
    }
  }
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  const own = `/boot/vmlinuz-${release}`;
  return release && (await access(own, constants.R_OK).then(() => true, () => false)) ? own : undefined;
}

/** What the verdict depends on: this boot of the host, the QEMU binary, the device node. */
async function hostStamp(dev: string): Promise<string> {
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  const qemu = await qemuVersion().catch(() => '');
  return JSON.stringify([boot, qemu, dev]);
}

async function readKnown(cacheDir: string | undefined, stamp: string): Promise<KvmVerdict | undefined> {
  if (!cacheDir) return undefined;
  const known = await readFile(join(cacheDir, 'host', 'accel.json'), 'utf8')
    .then((t) => JSON.parse(t) as { stamp: string; usable: boolean; why: string })
    .catch(() => undefined);
  return known?.stamp === stamp ? { usable: known.usable, why: `${known.why} (probed earlier in this host boot)` } : undefined;
}

async function writeKnown(cacheDir: string | undefined, stamp: string, v: KvmVerdict): Promise<void> {
  if (!cacheDir) return;
  const dir = join(cacheDir, 'host');
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.accel-${process.pid}.json`);
  await writeFile(tmp, `${JSON.stringify({ stamp, ...v, probedAt: new Date().toISOString() }, null, 2)}\n`);
  await rename(tmp, join(dir, 'accel.json'));
}
