import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { archive } from '../../lab/prepare/upload.ts';
import { tempDir } from '../helpers/temp.ts';

describe('uploading host files as one tar archive', () => {
  it('unpacks at / (here: a folder standing for it) with the guest paths, contents and modes', async () => {
    const host = tempDir('lab-upload-host-');
    writeFileSync(join(host, 'thp_touch-1d07509d'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 255]));
    chmodSync(join(host, 'thp_touch-1d07509d'), 0o755);
    writeFileSync(join(host, 'page_order.ko'), 'module');
    chmodSync(join(host, 'page_order.ko'), 0o644);
    const tar = await archive([
      { guestPath: '/usr/local/bin/thp_touch', hostPath: join(host, 'thp_touch-1d07509d') },
      { guestPath: '/tmp/page_order.ko', hostPath: join(host, 'page_order.ko') },
    ]);
    const root = tempDir('lab-upload-root-');
    // the guest's command, with the root changed
    await execa('tar', ['-x', '-o', '-C', root, '-f', '-'], { input: tar });
    expect([...readFileSync(join(root, 'usr/local/bin/thp_touch'))]).toEqual([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 255]);
    expect(statSync(join(root, 'usr/local/bin/thp_touch')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'usr/local/bin/thp_touch')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(root, 'tmp/page_order.ko'), 'utf8')).toBe('module');
    expect(statSync(join(root, 'tmp/page_order.ko')).mode & 0o777).toBe(0o644);
    // only the files: no entry for a folder such as /tmp, whose mode the guest keeps
    const list = await execa('tar', ['-t', '-v', '-f', '-'], { input: tar });
    expect(list.stdout.split('\n').map((l) => l[0])).toEqual(['-', '-']);
  });

  it('refuses a relative guest path', async () => {
    await expect(archive([{ guestPath: 'tmp/x', hostPath: '/etc/hostname' }])).rejects.toThrow(/must be absolute: tmp\/x/);
  });
});
