import { execa } from 'execa';

/**
 * QEMU processes still running for one boot, found by its QMP socket: a path
 * made for that boot alone. (Not by the token on the kernel command line: a
 * restored guest keeps the command line of the guest that was saved, token
 * included, so every guest restored from one saved guest has the same one, and
 * the run's own token goes in on the serial line.)
 */
export async function qemuLeft(qemuCommandLine: string): Promise<number> {
  const qmp = /-qmp unix:(\S+?\.sock)/.exec(qemuCommandLine)?.[1];
  if (!qmp) throw new Error(`no QMP socket in the QEMU command line: ${qemuCommandLine.slice(0, 200)}`);
  const ps = await execa('pgrep', ['-f', qmp], { reject: false });
  return String(ps.stdout).split('\n').filter(Boolean).length;
}
