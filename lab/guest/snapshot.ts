/**
 * Saved ready guests. The first boot of a (kernel, image, QEMU, command line,
 * memory) is saved right after its readiness marker: QEMU's migration stream
 * to a file, plus a copy of the disk overlay the guest had written by then.
 * Later runs restore it (`-incoming`) instead of booting, and keep the lab's
 * guarantees:
 *  - a per-run token: the restored guest is told it on its serial line and
 *    answers with the readiness marker; SSH then checks /run/lab.token;
 *  - a fresh overlay: the saved disk is opened in snapshot mode, so the run's
 *    writes go to a throw-away overlay and the saved guest stays as saved;
 *  - a new SSH forward port: host forwards are QEMU command line, not guest
 *    state.
 * Content-addressed: the key hashes QEMU's version, its whole command line
 * with the per-run parts (token, port, disk, sockets) blanked out, and the
 * size and time of the kernel and image files, so any change saves anew.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from '../core/errors.ts';
import { run } from '../core/proc.ts';
import { qemuArgs, type QemuConfig } from './qemu.ts';
import type { Qmp } from './qmp.ts';
import { scratch } from '../core/scratch.ts';

export interface SnapshotMeta {
  key: string;
  savedAt: string;
  qemuVersion: string;
  /** The token the saved guest was booted with (still on its kernel command line). */
  bootToken: string;
  /** The command line the saved guest was booted with, per-run parts blanked. */
  identity: string[];
  stateBytes: number;
  diskBytes: number;
  saveMs: number;
  /** Boot to readiness of the saved guest. */
  bootReadyMs: number;
}

export interface SavedGuest {
  dir: string;
  state: string;
  disk: string;
  bootConsole: string;
  meta: SnapshotMeta;
}

let qemuVersionCache: Promise<string> | undefined;
export function qemuVersion(): Promise<string> {
  qemuVersionCache ??= run('qemu-system-x86_64', ['--version'], { errorCode: 'SNAPSHOT_FAILED' }).then((r) => r.stdout.split('\n')[0] ?? '');
  return qemuVersionCache;
}

const TOKEN = /^lab\.token=.*/;

/**
 * The guest's command line with what differs from run to run blanked out, and the TCG threading:
 * it is how the host runs the vCPUs, not guest state, so a guest saved by a single-threaded
 * `lab exec` restores under a thread per vCPU for `lab run` and back.
 */
export function identityArgs(c: QemuConfig): string[] {
  return qemuArgs({
    ...c,
    tcgThreads: undefined,
    sshPort: 0,
    append: c.append.map((w) => (TOKEN.test(w) ? 'lab.token=*' : w)),
    disk: undefined,
    qmp: undefined,
    incoming: undefined,
  });
}

export async function snapshotKey(c: QemuConfig): Promise<{ key: string; identity: string[]; qemu: string }> {
  const identity = identityArgs(c);
  const qemu = await qemuVersion();
  const h = createHash('sha256');
  h.update(JSON.stringify({ qemu, identity }));
  for (const f of [c.kernel, c.image]) {
    const s = await stat(f);
    h.update(`${f}\0${s.size}\0${s.mtimeMs}\0`);
  }
  if (c.accel === 'kvm') {
    // -cpu host: a guest saved on one CPU model must not restore on another
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
    h.update(/^model name\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '');
  }
  return { key: h.digest('hex').slice(0, 24), identity, qemu };
}

export async function findSaved(dir: string, key: string): Promise<SavedGuest | undefined> {
  const d = join(dir, key);
  const meta = await readFile(join(d, 'meta.json'), 'utf8')
    .then((t) => JSON.parse(t) as SnapshotMeta)
    .catch(() => undefined);
  const saved = { dir: d, state: join(d, 'state'), disk: join(d, 'disk.qcow2'), bootConsole: join(d, 'boot-console.log') };
  if (!meta || meta.key !== key || !existsSync(saved.state) || !existsSync(saved.disk)) return undefined;
  return { ...saved, meta };
}

/** A disk overlay for a guest that is to be saved: qcow2 over the pristine image. */
export async function createOverlay(image: string, path: string): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image, path], { errorCode: 'SNAPSHOT_FAILED' });
}

/**
 * Save the running guest: stream its state to a file (QEMU stops it for the
 * last pass), copy its disk overlay (consistent: migration flushed and
 * released it), publish the entry
 * with one rename, and let the guest go on. Whoever publishes a key first
 * wins; a later save of the same key is discarded.
 */
export async function saveGuest(
  qmp: Qmp,
  o: { dir: string; key: string; identity: string[]; qemu: string; overlay: string; token: string; bootConsole: string[]; bootReadyMs: number },
): Promise<SnapshotMeta> {
  const started = Date.now();
  const scratchDir = await scratch(o.dir, `.tmp-${o.key}`);
  const tmp = scratchDir.path;
  let migrating = false;
  try {
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 ** 3 });
    const state = join(tmp, 'state');
    // a live migration (the guest idles: it converges at once), so the stream records a running
    // guest and a restore starts running by itself; QEMU stops the guest for the last pass
    migrating = true;
    await qmp.execute('migrate', { uri: `exec:cat > '${state.replace(/'/g, `'\\''`)}'` });
    for (;;) {
      const q = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
      if (q.status === 'completed') break;
      if (q.status === 'failed' || q.status === 'cancelled') throw new InfraError('SNAPSHOT_FAILED', `saving the guest failed: ${q['error-desc'] ?? q.status}`);
      await sleep(20);
    }
    await copyFile(o.overlay, join(tmp, 'disk.qcow2'));
    await writeFile(join(tmp, 'boot-console.log'), `${o.bootConsole.join('\n')}\n`);
    const meta: SnapshotMeta = {
      key: o.key,
      savedAt: new Date().toISOString(),
      qemuVersion: o.qemu,
      bootToken: o.token,
      identity: o.identity,
      stateBytes: (await stat(state)).size,
      diskBytes: (await stat(join(tmp, 'disk.qcow2'))).size,
      saveMs: Date.now() - started,
      bootReadyMs: o.bootReadyMs,
    };
    await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    // another run saved the same guest first: this one goes (remove, below)
    await rename(tmp, join(o.dir, o.key)).catch(() => undefined);
    return meta;
  } finally {
    try {
      // the guest stays stopped after a migration until told to go on
      if (migrating) await qmp.execute('cont');
    } finally {
      await scratchDir.remove();
    }
  }
}

/** A saved guest that failed to restore goes, so the next run boots and saves anew. */
export async function dropSaved(saved: SavedGuest): Promise<void> {
  await rm(saved.dir, { recursive: true, force: true });
}

/** The line a restored guest reads on its serial console: its token, the time, fresh entropy. */
export function handshakeLine(token: string, now = Date.now()): string {
  return `lab.token=${token} lab.time=${Math.floor(now / 1000)} lab.seed=${randomBytes(32).toString('hex')}`;
}
