/**
 * The QEMU command line and the boot of a disposable guest: a pristine image
 * in snapshot mode, user networking restricted to the guest with one SSH
 * forward on 127.0.0.1, the serial console watched for readiness and for
 * kernel errors, and QEMU torn down by whoever booted it.
 */
import { createServer } from 'node:net';
import type { TcgThreads } from '../core/config.ts';
import { InfraError, type InfraErrorCode } from '../core/errors.ts';
import { start, tailLines, type LongProcess } from '../core/proc.ts';
import { KERNEL_ERROR_PATTERNS } from '../observe/kernel-errors.ts';

export type Accel = 'kvm' | 'tcg';

export interface QemuConfig {
  kernel: string;
  image: string;
  accel: Accel;
  /** TCG's threading (ignored under KVM); undefined: QEMU's default, a thread per vCPU. */
  tcgThreads?: TcgThreads;
  sshPort: number;
  memoryMb: number;
  cpus: number;
  /** Extra kernel command line words (lab.token=, lab.sshkey=). */
  append: string[];
  /**
   * The disk when it is not the pristine image in snapshot mode: a qcow2
   * overlay of the image (a guest that is to be saved), or a saved guest's
   * disk in snapshot mode (a restored one).
   */
  disk?: { file: string; format: 'raw' | 'qcow2'; snapshot: boolean };
  /** A QMP socket (to save the guest). */
  qmp?: string;
  /** Restore from a saved guest's migration stream instead of booting. */
  incoming?: string;
}

/**
 * q35 rather than pc: the same kernel reached userspace about a second sooner
 * under TCG (no PIIX interrupt link routing through ACPI at boot).
 */
const MACHINE = 'q35';

/**
 * The kernel command line before the run's words. i8042.noaux/nokbd: the guest has no use for
 * the PS/2 ports q35 emulates, and probing them held userspace back by about 0.9 s under TCG
 * (the mouse probe is awaited before init runs).
 */
const BASE_CMDLINE = ['console=ttyS0', 'root=/dev/vda', 'rw', 'init=/sbin/lab-init', 'page_owner=on', 'panic=-1', 'oops=panic', 'i8042.noaux', 'i8042.nokbd'];

/** The -accel option: KVM, or TCG with its threading when one is asked for. */
function accelOption(c: Pick<QemuConfig, 'accel' | 'tcgThreads'>): string {
  return c.accel === 'tcg' && c.tcgThreads ? `tcg,thread=${c.tcgThreads}` : c.accel;
}

/** A path inside a QEMU option list: a comma ends the value unless doubled ("a,b" -> "a,,b"). */
const qemuOptionValue = (path: string): string => path.replace(/,/g, ',,');

export function qemuArgs(c: QemuConfig): string[] {
  const disk = c.disk ?? { file: c.image, format: 'raw', snapshot: true };
  return [
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-machine', MACHINE,
    '-accel', accelOption(c),
    '-cpu', c.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(c.cpus),
    '-m', `${c.memoryMb}M`,
    '-kernel', c.kernel,
    '-append', [...BASE_CMDLINE, ...c.append].join(' '),
    // snapshot=on: writes go to a throw-away overlay, the cached image stays pristine
    '-drive', `file=${qemuOptionValue(disk.file)},if=virtio,format=${disk.format},snapshot=${disk.snapshot ? 'on' : 'off'}`,
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${c.sshPort}-:22`,
    '-device', 'virtio-net-pci,netdev=n0,romfile=',
    '-serial', 'stdio',
    '-monitor', 'none',
    ...(c.qmp ? ['-qmp', `unix:${qemuOptionValue(c.qmp)},server=on,wait=off`] : []),
    ...(c.incoming ? ['-incoming', `exec:cat '${c.incoming.replace(/'/g, `'\\''`)}'`] : []),
    '-no-reboot',
  ];
}

/** Ports this process handed out: concurrent pipelines (lab run --jobs) never get one another's before QEMU binds it. */
const handedOut = new Set<number>();

/** A free port on 127.0.0.1 for a guest's SSH forward, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface ConsoleEvent {
  kind: 'kernel-error';
  line: string;
}

export interface Guest {
  qemu: LongProcess;
  config: QemuConfig;
  token: string;
  readyMs: number;
  console: string[];
  kernelErrors: ConsoleEvent[];
  stop(): Promise<void>;
}

interface BootOptions {
  config: QemuConfig;
  token: string;
  consoleLog: string;
  readyTimeoutMs: number;
  signal?: AbortSignal;
  /** Every console line as it arrives (--verbose shows them). */
  onConsole?: (line: string) => void;
  /** Called once QEMU has started, with a way to write to the guest's serial console (a restored guest's handshake). */
  onStarted?: (qemu: LongProcess) => void;
}

/** Boot and wait for the readiness marker carrying this boot's token. */
export async function boot(opts: BootOptions): Promise<Guest> {
  const consoleLines: string[] = [];
  const kernelErrors: ConsoleEvent[] = [];
  const started = Date.now();
  let onReady: () => void = () => {};
  let onFatal: (e: InfraError) => void = () => {};
  const readiness = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFatal = reject;
  });
  const marker = `LAB-READY token=${opts.token}`;
  const qemu = start('qemu-system-x86_64', qemuArgs(opts.config), {
    // QEMU dies with the lab, even a lab killed with -9
    dieWithParent: true,
    log: opts.consoleLog,
    input: opts.onStarted !== undefined,
    onLine: (line) => {
      opts.onConsole?.(line);
      consoleLines.push(line);
      if (consoleLines.length > 5000) consoleLines.splice(0, 1000);
      if (line.includes(marker)) onReady();
      if (/Could not set up host forwarding rule/.test(line)) {
        onFatal(bootError('HOST_FORWARD_FAILED', `QEMU could not forward 127.0.0.1:${opts.config.sshPort} (port taken?)`));
      }
      if (KERNEL_ERROR_PATTERNS.some((p) => p.test(line))) kernelErrors.push({ kind: 'kernel-error', line });
    },
  });
  opts.onStarted?.(qemu);
  const bootError = (code: InfraErrorCode, message: string) =>
    new InfraError(code, message, { consoleLog: opts.consoleLog, consoleTail: tailLines(consoleLines.join('\n'), 40) });
  const guest: Guest = {
    qemu,
    config: opts.config,
    token: opts.token,
    readyMs: 0,
    console: consoleLines,
    kernelErrors,
    async stop() {
      qemu.kill('SIGTERM');
      const t = setTimeout(() => qemu.kill('SIGKILL'), 5000);
      await qemu.exited;
      clearTimeout(t);
    },
  };
  void qemu.exited.then((r) =>
    onFatal(
      bootError(
        kernelErrors.length ? 'GUEST_PANIC' : 'QEMU_EXITED',
        `QEMU exited during boot (${r.signal ?? `exit ${r.exitCode}`})${kernelErrors.length ? `: ${kernelErrors[0]!.line.trim()}` : ''}`,
      ),
    ),
  );
  const timer = setTimeout(
    () => onFatal(bootError('BOOT_TIMEOUT', `no readiness marker on the console after ${opts.readyTimeoutMs / 1000} s`)),
    opts.readyTimeoutMs,
  );
  const abort = () => onFatal(bootError('INTERRUPTED', 'boot interrupted'));
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    await readiness;
    guest.readyMs = Date.now() - started;
    return guest;
  } catch (e) {
    await guest.stop();
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abort);
  }
}
