import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { GuestShell } from '../../lab/guest/ssh.ts';

/**
 * A stand-in guest: an ssh2 server on 127.0.0.1 that runs every exec request
 * in bash on this host, as the guest's dropbear runs it in its shell (stdin,
 * stdout, stderr and the exit status on the channel). The identity files a
 * real guest has (/run/lab.token, the release) are this server's own: the
 * command's paths to them are pointed at a folder of the stand-in.
 */
export async function standInGuest(): Promise<{ shell: GuestShell; close: () => Promise<void>; dir: string }> {
  const key = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'lab-ssh-guest-'));
  const token = 'stand-in-token';
  writeFileSync(join(dir, 'token'), `${token}\n`);
  writeFileSync(join(dir, 'osrelease'), '6.12.0-stand-in\n');
  const children = new Set<ReturnType<typeof spawn>>();
  const server = new ssh2.Server({ hostKeys: [key()] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        const channel = acceptExec();
        const command = info.command.replaceAll('/run/lab.token', join(dir, 'token')).replaceAll('/proc/sys/kernel/osrelease', join(dir, 'osrelease'));
        const child = spawn('bash', ['-c', command], { stdio: 'pipe', env: { ...process.env, SHELL: '/bin/bash' }, detached: true });
        children.add(child);
        child.stdout.pipe(channel, { end: false });
        child.stderr.pipe(channel.stderr, { end: false });
        channel.pipe(child.stdin).on('error', () => undefined);
        child.on('close', (code, signal) => {
          children.delete(child);
          if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
          else channel.exit(code ?? 0);
          channel.end();
        });
        // the client closed the channel (a timeout): the command's process group goes
        channel.on('close', () => {
          if (child.exitCode === null && child.pid) {
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const shell = await GuestShell.connect({ port, privateKey: key(), token, timeoutMs: 10_000 });
  return {
    shell,
    dir,
    close: async () => {
      shell.close();
      for (const c of children) if (c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
