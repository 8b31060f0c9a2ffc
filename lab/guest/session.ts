/**
 * A guest session: boot a disposable guest from a kernel and an image, wait
 * for its readiness marker, connect over SSH and check it is the guest just
 * booted. Shared by the scenario runs and by `lab exec`.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TcgThreads } from '../core/config.ts';
import { InfraError, InterruptedError, isLabError } from '../core/errors.ts';
import type { LongProcess } from '../core/proc.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatCommand } from '../core/proc.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { formatDuration } from '../core/reporter.ts';
import type { LabKey } from './keys.ts';
import { boot, freePort, qemuArgs, type Accel, type Guest, type QemuConfig } from './qemu.ts';
import { Qmp } from './qmp.ts';
import { createOverlay, dropSaved, findSaved, handshakeLine, saveGuest, snapshotKey, type SavedGuest } from './snapshot.ts';
import { GuestShell } from './ssh.ts';
import { GUEST_SCRATCH, hostScratchDir, scratch } from '../core/scratch.ts';

interface SessionOptions {
  bzImage: string;
  image: string;
  accel: { accel: Accel; reason: string };
  /** Under TCG: one host thread for every vCPU, or one each (the config's tcgThreads). */
  tcgThreads?: TcgThreads;
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
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** Where saved ready guests live (the cache's snapshots/); undefined: always boot, never save. */
  snapshots?: string;
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
  /** The key of the saved guest this one was restored from; undefined when it booted. */
  restoredFrom?: string;
  /** The key this guest was saved under for later runs (a cold boot that saved). */
  savedAs?: string;
  /** Stop the guest; returns the kernel error lines its console showed. */
  close(): Promise<string[]>;
}

/** Where saved ready guests live, or undefined when they are off (LAB_SNAPSHOTS=off, --no-snapshot). */
export const snapshotsDir = (config: { snapshots: boolean; paths: { cache: string } }) => (config.snapshots ? join(config.paths.cache, 'snapshots') : undefined);

/** How long a boot may take to print its readiness marker: as configured, else 60 s with KVM, 180 s under TCG. */
export function readyTimeoutMs(accel: Accel, configuredS?: number, factor = 1): number {
  if (configuredS !== undefined) return configuredS * 1000;
  return (accel === 'kvm' ? 60_000 : 180_000) * factor;
}

export async function startSession(o: SessionOptions): Promise<GuestSession> {
  const stage = o.stage ?? (<T>(_name: string, fn: () => Promise<T>) => fn());
  const token = randomBytes(8).toString('hex');
  const sshPort = await freePort();
  const base: QemuConfig = {
    kernel: o.bzImage,
    image: o.image,
    accel: o.accel.accel,
    ...(o.accel.accel === 'tcg' && o.tcgThreads ? { tcgThreads: o.tcgThreads } : {}),
    sshPort,
    memoryMb: o.memoryMb,
    cpus: o.cpus,
    append: [`lab.token=${token}`, `lab.sshkey=${o.key.publicBlob}`, ...o.append],
  };
  const threads = base.tcgThreads ? `, ${base.tcgThreads}-threaded` : '';
  const what = `under ${o.accel.accel.toUpperCase()} (${o.accel.reason}${threads}), ${o.memoryMb} MiB, ssh on 127.0.0.1:${sshPort}`;
  const timeout = readyTimeoutMs(o.accel.accel, o.readyTimeoutS, o.readyTimeoutFactor);
  const snap = o.snapshots ? await snapshotKey(base) : undefined;
  const saved = snap && o.snapshots ? await findSaved(o.snapshots, snap.key) : undefined;
  if (saved) {
    o.reporter.stage('boot', `restoring the guest saved ${saved.meta.savedAt} (${saved.meta.key}), ${what}`);
    try {
      return await restore(o, base, saved, token, Math.min(timeout, RESTORE_TIMEOUT_MS * (o.readyTimeoutFactor ?? 1)), stage);
    } catch (e) {
      if (o.signal?.aborted || (isLabError(e) && e.code === 'INTERRUPTED')) throw e;
      // a saved guest this QEMU cannot take (or that no longer answers) goes; the boot below saves a new one
      await dropSaved(saved);
      o.reporter.stage('boot', `the saved guest did not come up (${(e as Error).message}): removed it, booting`);
    }
  }
  o.reporter.stage('boot', what);
  // the disk overlay and QMP's socket in a folder only this user can enter (0700): under umask 000 a socket
  // in /tmp let any local user reach QMP, whose `migrate exec:` runs commands as the lab's user; a scratch
  // folder (lab/core/scratch.ts), so what a killed run leaves the next run removes
  const privateDir = snap ? await scratch(hostScratchDir(), GUEST_SCRATCH, { private: true }) : undefined;
  const overlay = privateDir ? join(privateDir.path, 'disk.qcow2') : undefined;
  const qmpPath = privateDir ? join(privateDir.path, 'qmp.sock') : undefined;
  if (overlay) await createOverlay(o.image, overlay);
  const config: QemuConfig = { ...base, ...(overlay ? { disk: { file: overlay, format: 'qcow2', snapshot: false }, qmp: qmpPath } : {}) };
  const cleanup = async () => {
    await privateDir?.remove();
  };
  const started = Date.now();
  // a guest that fails to boot is still on record: its errors carry what identifies it
  const identify = (e: unknown) => {
    if (isLabError(e)) Object.assign(e.context, { token, sshPort, qemu: formatCommand('qemu-system-x86_64', qemuArgs(config)) });
    return e;
  };
  const guest = await stage('boot', () =>
    boot({ config, token, consoleLog: o.consoleLog, readyTimeoutMs: timeout,
      signal: o.signal,
      onConsole: (line) => o.reporter.detail('console', line),
    }),
  ).catch(async (e: unknown) => {
    await cleanup();
    throw identify(e);
  });
  return connectGuest(o, guest, {
    token,
    sshPort,
    started,
    stage,
    cleanup,
    identify,
    // a fresh boot is saved for later runs before the first command, unless its console showed a kernel error
    beforeConnect: async () => {
      if (!(snap && qmpPath && overlay && o.snapshots && guest.kernelErrors.length === 0)) return {};
      const dir = o.snapshots;
      const meta = await stage('save', async () => {
        await mkdir(dir, { recursive: true });
        const qmp = await Qmp.connect(qmpPath);
        try {
          return await saveGuest(qmp, { dir, ...snap, overlay, token, bootConsole: [...guest.console], bootReadyMs: guest.readyMs });
        } finally {
          qmp.close();
        }
      }).catch((e: unknown) => {
        // saving is an optimisation: a guest that could not be saved still serves this run
        o.reporter.stage('boot', `could not save the ready guest for later runs: ${(e as Error).message}`);
        return undefined;
      });
      return meta
        ? { savedAs: meta.key, note: `, saved for later runs in ${formatDuration(meta.saveMs)} (${Math.round(meta.stateBytes / 2 ** 20)} MiB)` }
        : {};
    },
    describe: (sshReadyMs, release, note) =>
      `guest ready in ${formatDuration(guest.readyMs)}, ssh in ${formatDuration(sshReadyMs)}: uname -r = ${release}${note}`,
  });
}

/**
 * The tail shared by a boot and a restore: from the readiness marker to a
 * connected, checked shell. Ctrl-C in between stops the guest here (the caller
 * has none to stop yet) and becomes INTERRUPTED; any failure stops the guest
 * and removes its files.
 */
async function connectGuest(
  o: SessionOptions,
  guest: Guest,
  t: {
    token: string;
    sshPort: number;
    started: number;
    stage: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
    cleanup: () => Promise<void>;
    identify?: (e: unknown) => unknown;
    beforeConnect?: () => Promise<{ savedAs?: string; note?: string }>;
    describe: (sshReadyMs: number, release: string, note: string) => string;
    restoredFrom?: string;
  },
): Promise<GuestSession> {
  const stop = () => void guest.stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const saved = (await t.beforeConnect?.()) ?? {};
    const shell = await t.stage('ssh', () =>
      GuestShell.connect({ port: t.sshPort, privateKey: o.key.privateKey, token: t.token, timeoutMs: 60_000, signal: o.signal }),
    );
    const sshReadyMs = Date.now() - t.started;
    o.reporter.stage('boot', t.describe(sshReadyMs, shell.release, saved.note ?? ''));
    return {
      ...session(guest, shell, t.token, t.sshPort, sshReadyMs, t.cleanup),
      ...(saved.savedAs ? { savedAs: saved.savedAs } : {}),
      ...(t.restoredFrom ? { restoredFrom: t.restoredFrom } : {}),
    };
  } catch (e) {
    await guest.stop();
    await t.cleanup();
    const err = o.signal?.aborted ? new InterruptedError('SIGINT') : e;
    throw t.identify ? t.identify(err) : err;
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}

/** How long a restored guest may take to answer its handshake before the lab boots instead. */
const RESTORE_TIMEOUT_MS = 30_000;

async function restore(
  o: SessionOptions,
  base: QemuConfig,
  saved: SavedGuest,
  token: string,
  timeoutMs: number,
  stage: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
): Promise<GuestSession> {
  // the saved guest's own command line (its boot token included): the new token goes over the serial line;
  // QMP's socket in a folder only this user can enter
  const privateDir = await scratch(hostScratchDir(), GUEST_SCRATCH, { private: true });
  const config: QemuConfig = {
    ...base,
    append: base.append.map((w) => (w.startsWith('lab.token=') ? `lab.token=${saved.meta.bootToken}` : w)),
    disk: { file: saved.disk, format: 'qcow2', snapshot: true },
    incoming: saved.state,
    qmp: join(privateDir.path, 'qmp.sock'),
  };
  // The handshake goes out once the state is loaded and the guest runs: a byte the serial port
  // took before would be overwritten by the saved port's state.
  const handshake = async (qemu: LongProcess) => {
    const qmp = await Qmp.connect(config.qmp!);
    try {
      for (;;) {
        const s = await qmp.execute<{ status: string }>('query-status');
        if (s.status === 'running') break;
        if (!['inmigrate', 'prelaunch'].includes(s.status)) throw new InfraError('SNAPSHOT_FAILED', `the restored guest is ${s.status}, not running`);
        await sleep(10);
      }
      qemu.write(`${handshakeLine(token)}\n`);
    } finally {
      qmp.close();
    }
  };
  // the console log starts with the saved guest's boot, so the results hold the whole story
  const bootConsole = await readFile(saved.bootConsole, 'utf8').catch(() => '');
  await appendFile(o.consoleLog, `${bootConsole}lab: --- the guest above was saved ${saved.meta.savedAt} (${saved.meta.key}); restored for this run from here ---\n`);
  const started = Date.now();
  const guest = await stage('boot', () =>
    boot({ config, token, consoleLog: o.consoleLog, readyTimeoutMs: timeoutMs, signal: o.signal,
      onStarted: (qemu) => void handshake(qemu).catch((e: unknown) => {
        o.reporter.stage('boot', `handshake with the restored guest failed: ${(e as Error).message}`);
        qemu.kill('SIGKILL');
      }),
      onConsole: (line) => o.reporter.detail('console', line),
    }),
  ).catch(async (e: unknown) => {
    await privateDir.remove();
    throw e;
  });
  return connectGuest(o, guest, {
    token,
    sshPort: base.sshPort,
    started,
    stage,
    cleanup: () => privateDir.remove(),
    describe: (sshReadyMs, release) => `guest restored in ${formatDuration(guest.readyMs)}, ssh in ${formatDuration(sshReadyMs)}: uname -r = ${release}`,
    restoredFrom: saved.meta.key,
  });
}

function session(guest: Guest, shell: GuestShell, token: string, sshPort: number, sshReadyMs: number, cleanup: () => Promise<void>): GuestSession {
  return {
    guest,
    shell,
    token,
    sshPort,
    release: shell.release,
    readyMs: guest.readyMs,
    sshReadyMs,
    async close() {
      shell.close();
      await guest.stop();
      await cleanup();
      return guest.kernelErrors.map((k) => k.line);
    },
  };
}
