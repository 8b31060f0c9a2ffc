import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { QemuConfig } from '../../lab/guest/qemu.ts';
import { Qmp } from '../../lab/guest/qmp.ts';
import { findSaved, handshakeLine, identityArgs, snapshotKey } from '../../lab/guest/snapshot.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = tempDir('lab-snapshot-test-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kernel = join(dir, 'bzImage');
const image = join(dir, 'rootfs.ext4');
writeFileSync(kernel, 'kernel');
writeFileSync(image, 'image');

const config = (over: Partial<QemuConfig> = {}): QemuConfig => ({
  kernel,
  image,
  accel: 'tcg',
  sshPort: 40000,
  memoryMb: 1024,
  cpus: 2,
  append: ['lab.token=aaaa', 'lab.sshkey=KEY'],
  ...over,
});

describe('a saved guest is content-addressed', () => {
  it('by everything but the per-run parts: token, port, disk, sockets, restore source', () => {
    const a = identityArgs(config());
    const b = identityArgs(
      config({ sshPort: 41234, append: ['lab.token=bbbb', 'lab.sshkey=KEY'], disk: { file: '/x.qcow2', format: 'qcow2', snapshot: false }, qmp: '/q.sock', incoming: '/s' }),
    );
    expect(b).toEqual(a);
    expect(a.join(' ')).toContain('lab.token=*');
    expect(a.join(' ')).toContain('hostfwd=tcp:127.0.0.1:0-:22');
    expect(a.join(' ')).not.toContain('-incoming');
  });

  it('but not by the TCG threading: lab exec (one thread) and lab run (a thread per vCPU) share a saved guest', () => {
    const single = identityArgs(config({ tcgThreads: 'single' }));
    expect(identityArgs(config({ tcgThreads: 'multi' }))).toEqual(single);
    expect(single.join(' ')).not.toContain('thread=');
  });

  it('and changes with memory, CPUs, the extra command line, the key, the accelerator', () => {
    const base = identityArgs(config());
    for (const over of [{ memoryMb: 6144 }, { cpus: 1 }, { append: ['lab.token=aaaa', 'lab.sshkey=KEY', 'hugepages=1'] }, { append: ['lab.token=aaaa', 'lab.sshkey=OTHER'] }, { accel: 'kvm' as const }]) {
      expect(identityArgs(config(over)), JSON.stringify(over)).not.toEqual(base);
    }
  });

  it('and with the kernel or image file itself (size and time)', async () => {
    const k1 = (await snapshotKey(config())).key;
    expect((await snapshotKey(config({ append: ['lab.token=other', 'lab.sshkey=KEY'], sshPort: 1 }))).key).toBe(k1);
    utimesSync(kernel, new Date(), new Date(Date.now() + 5000));
    expect((await snapshotKey(config())).key).not.toBe(k1);
    const k2 = (await snapshotKey(config())).key;
    writeFileSync(image, 'image, rebuilt');
    expect((await snapshotKey(config())).key).not.toBe(k2);
  });
});

describe('findSaved', () => {
  it('takes only a complete entry whose meta names its own key', async () => {
    const snaps = join(dir, 'snapshots');
    const entry = join(snaps, 'k1');
    mkdirSync(entry, { recursive: true });
    expect(await findSaved(snaps, 'k1')).toBeUndefined();
    writeFileSync(join(entry, 'meta.json'), JSON.stringify({ key: 'k1', bootToken: 't' }));
    writeFileSync(join(entry, 'state'), 'x');
    expect(await findSaved(snaps, 'k1')).toBeUndefined(); // no disk
    writeFileSync(join(entry, 'disk.qcow2'), 'x');
    expect((await findSaved(snaps, 'k1'))?.meta.bootToken).toBe('t');
    writeFileSync(join(entry, 'meta.json'), JSON.stringify({ key: 'k2' }));
    expect(await findSaved(snaps, 'k1')).toBeUndefined();
  });
});

describe('the handshake line a restored guest reads (images/lab-init parses it)', () => {
  it('carries the token, the time in seconds and 32 bytes of entropy, one word each', () => {
    const line = handshakeLine('0123abcd', Date.UTC(2026, 10, 26, 12, 0, 0, 900));
    const words = Object.fromEntries(line.split(' ').map((w) => w.split('=') as [string, string]));
    expect(words['lab.token']).toBe('0123abcd');
    expect(words['lab.time']).toBe(String(Date.UTC(2026, 10, 26, 12) / 1000));
    expect(words['lab.seed']).toMatch(/^[0-9a-f]{64}$/);
    expect(handshakeLine('x')).not.toBe(handshakeLine('x'));
  });
});

describe('the QMP client, against a real QEMU', () => {
  it('negotiates, runs commands, and turns an error reply into QMP_FAILED', async () => {
    const sock = join(dir, 'qmp.sock');
    const qemu = spawn('qemu-system-x86_64', ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'none', '-S', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    try {
      const qmp = await Qmp.connect(sock);
      expect(await qmp.execute<{ status: string }>('query-status')).toMatchObject({ status: 'prelaunch', running: false });
      await expect(qmp.execute('no-such-command')).rejects.toMatchObject({ code: 'QMP_FAILED', message: expect.stringMatching(/no-such-command.*CommandNotFound/) });
      // replies stay paired with their commands after an error
      expect(await qmp.execute<{ qemu: { major: number } }>('query-version')).toMatchObject({ qemu: { major: expect.any(Number) } });
      await qmp.execute('quit').catch(() => undefined);
      qmp.close();
    } finally {
      qemu.kill('SIGKILL');
    }
  });

  it('gives up with QMP_FAILED when no QEMU listens', async () => {
    await expect(Qmp.connect(join(dir, 'nobody.sock'), 200)).rejects.toMatchObject({ code: 'QMP_FAILED' });
  });
});
