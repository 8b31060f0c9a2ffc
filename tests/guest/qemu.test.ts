import { describe, expect, it } from 'vitest';
import { freePort, qemuArgs, type QemuConfig } from '../../lab/guest/qemu.ts';
import { KERNEL_ERROR_PATTERNS } from '../../lab/observe/kernel-errors.ts';
import { fixture } from '../helpers/fixtures.ts';

const config: QemuConfig = {
  kernel: '/k/bzImage',
  image: '/i/rootfs.ext4',
  accel: 'tcg',
  sshPort: 40022,
  memoryMb: 1024,
  cpus: 2,
  append: ['lab.token=abc'],
};
const arg = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('the QEMU command line', () => {
  const args = qemuArgs(config);

  it('restricts user networking and binds the one forward to 127.0.0.1', () => {
    expect(arg(args, '-netdev')).toBe('user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(args.filter((a) => a === '-netdev')).toHaveLength(1);
  });

  it('boots the image in snapshot mode with page_owner=on, and exits instead of rebooting', () => {
    expect(arg(args, '-drive')).toBe('file=/i/rootfs.ext4,if=virtio,format=raw,snapshot=on');
    expect(arg(args, '-append')!.split(' ')).toEqual(expect.arrayContaining(['page_owner=on', 'panic=-1', 'console=ttyS0', 'lab.token=abc']));
    expect(args).toContain('-no-reboot');
  });

  it('uses the host CPU under KVM and the richest emulated one under TCG', () => {
    expect(arg(args, '-machine')).toBe('q35');
    expect(arg(args, '-accel')).toBe('tcg');
    expect(arg(args, '-cpu')).toBe('max');
    const kvm = qemuArgs({ ...config, accel: 'kvm', tcgThreads: 'single' });
    expect(arg(kvm, '-accel')).toBe('kvm');
    expect(arg(kvm, '-cpu')).toBe('host');
  });

  it('doubles commas in the paths it puts into option lists (-drive file=, -qmp unix:), so a path cannot add options', () => {
    const c = qemuArgs({ ...config, disk: { file: '/tmp/a,format=raw,b/disk.qcow2', format: 'qcow2', snapshot: false }, qmp: '/tmp/x,server=off/qmp.sock' });
    expect(arg(c, '-drive')).toBe('file=/tmp/a,,format=raw,,b/disk.qcow2,if=virtio,format=qcow2,snapshot=off');
    expect(arg(c, '-qmp')).toBe('unix:/tmp/x,,server=off/qmp.sock,server=on,wait=off');
  });

  it('runs TCG single- or multi-threaded as configured', () => {
    expect(arg(qemuArgs({ ...config, tcgThreads: 'single' }), '-accel')).toBe('tcg,thread=single');
    expect(arg(qemuArgs({ ...config, tcgThreads: 'multi' }), '-accel')).toBe('tcg,thread=multi');
  });
});

describe('freePort', () => {
  it('concurrent pipelines get distinct ports, never one handed out before', async () => {
    const first = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    const later = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set([...first, ...later]).size).toBe(40);
  });
});

describe('kernel error patterns', () => {
  it('match nothing on a clean boot console recorded from 6.12.117', () => {
    const lines = fixture('6.12.117', 'console.log').split('\n');
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))).toEqual([]);
  });

  it('match the lines syzkaller and BPF CI watch for', () => {
    for (const l of [
      '[   12.3] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
      '[    1.0] BUG: unable to handle page fault for address: ffff',
      '[    1.0] WARNING: CPU: 1 PID: 77 at mm/page_alloc.c:4400 __alloc_pages+0x1/0x2',
      '[    1.0] Oops: 0000 [#1] SMP',
      '[   30.0] INFO: task kworker/0:1:12 blocked for more than 20 seconds.',
    ]) {
      expect(KERNEL_ERROR_PATTERNS.some((p) => p.test(l)), l).toBe(true);
    }
  });
});
