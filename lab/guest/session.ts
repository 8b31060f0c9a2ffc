/**
 * A guest session: boot a disposable guest from a kernel and an image, wait
 * for its readiness marker, connect over SSH and check it is the guest just
 * booted. Shared by the scenario runs and by `lab exec`.
 */
import { randomBytes } from 'node:crypto';
import { InterruptedError, isLabError } from '../core/errors.ts';
import { formatCommand } from '../core/proc.ts';
import type { Reporter } from '../core/reporter.ts';
import { formatDuration } from '../core/reporter.ts';
import type { LabKey } from './keys.ts';
import { boot, freePort, qemuArgs, type Accel, type Guest } from './qemu.ts';
import { GuestShell } from './ssh.ts';

export interface SessionOptions {
  bzImage: string;
  image: string;
  accel: { accel: Accel; reason: string };
  key: LabKey;
  consoleLog: string;
  memoryMb: number;
  cpus: number;
  /** Extra kernel command line words, after the lab's. */
  append: string[];
  /** Readiness timeout in seconds (the config's readyTimeoutS). */
  readyTimeoutS?: number;
  /** The default timeout times this (a slow kernel flavor); a configured timeout is taken as it is. */
  readyTimeoutFactor?: number;
  reporter: Reporter;
  signal?: AbortSignal;
  /** Wraps the boot and ssh steps, e.g. to time them as pipeline stages. */
  stage?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

export interface GuestSession {
  guest: Guest;
  shell: GuestShell;
  token: string;
  sshPort: number;
  /** uname -r of the guest. */
  release: string;
  readyMs: number;
  sshReadyMs: number;
  /** Stop the guest; returns the kernel error lines its console showed. */
  close(): Promise<string[]>;
}

/** How long a boot may take to print its readiness marker: as configured, else 60 s with KVM, 180 s under TCG. */
export function readyTimeoutMs(accel: Accel, configuredS?: number, factor = 1): number {
  if (configuredS !== undefined) return configuredS * 1000;
  return (accel === 'kvm' ? 60_000 : 180_000) * factor;
}

export async function startSession(o: SessionOptions): Promise<GuestSession> {
  const stage = o.stage ?? (<T>(_name: string, fn: () => Promise<T>) => fn());
  const token = randomBytes(8).toString('hex');
  const sshPort = await freePort();
  const config = {
    kernel: o.bzImage,
    image: o.image,
    accel: o.accel.accel,
    sshPort,
    memoryMb: o.memoryMb,
    cpus: o.cpus,
    append: [`lab.token=${token}`, `lab.sshkey=${o.key.publicBlob}`, ...o.append],
  };
  o.reporter.stage('boot', `under ${o.accel.accel.toUpperCase()} (${o.accel.reason}), ${o.memoryMb} MiB, ssh on 127.0.0.1:${sshPort}`);
  const started = Date.now();
  // a guest that fails to boot is still on record: its errors carry what identifies it
  const identify = (e: unknown) => {
    if (isLabError(e)) Object.assign(e.context, { token, sshPort, qemu: formatCommand('qemu-system-x86_64', qemuArgs(config)) });
    return e;
  };
  const guest = await stage('boot', () =>
    boot({ config, token, consoleLog: o.consoleLog, readyTimeoutMs: readyTimeoutMs(o.accel.accel, o.readyTimeoutS, o.readyTimeoutFactor),
      signal: o.signal,
      onConsole: (line) => o.reporter.detail('console', line),
    }),
  ).catch((e: unknown) => {
    throw identify(e);
  });
  // Ctrl-C between the readiness marker and the first command: stop the guest here, the caller has none to stop yet
  const stop = () => void guest.stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const shell = await stage('ssh', () => GuestShell.connect({ port: sshPort, privateKey: o.key.privateKey, token, timeoutMs: 60_000, signal: o.signal }));
    const release = (await shell.exec('uname -r')).stdout.trim();
    const sshReadyMs = Date.now() - started;
    o.reporter.stage('boot', `guest ready in ${formatDuration(guest.readyMs)}, ssh in ${formatDuration(sshReadyMs)}: uname -r = ${release}`);
    return {
      guest,
      shell,
      token,
      sshPort,
      release,
      readyMs: guest.readyMs,
      sshReadyMs,
      async close() {
        shell.close();
        await guest.stop();
        return guest.kernelErrors.map((k) => k.line);
      },
    };
  } catch (e) {
    await guest.stop();
    throw identify(o.signal?.aborted ? new InterruptedError('SIGINT') : e);
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}
