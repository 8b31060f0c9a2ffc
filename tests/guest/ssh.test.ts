import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { GuestShell, MAX_COMMAND_BYTES, gzippedWithInBandStatus, inflate, sourcedCommand, splitInBandStatus, withInBandStatus } from '../../lab/guest/ssh.ts';
import { tempDir } from '../helpers/temp.ts';

/** The exit status printed in band, run through a real shell as the guest's would run it. */
const sh = (command: string) => execa('bash', ['-c', withInBandStatus(command)], { reject: false, stripFinalNewline: false });

describe('the in-band exit status', () => {
  it('carries the status of a command that exits, and leaves its stderr as it was', async () => {
    const r = await sh('echo out; echo err >&2; exit 3');
    expect(r.stdout).toBe('out\n');
    expect(r.exitCode).toBe(0);
    expect(splitInBandStatus(String(r.stderr))).toEqual({ stderr: 'err\n', code: 3 });
  });

  it('works for a command ending in a comment, without a newline, and with no stderr', async () => {
    expect(splitInBandStatus(String((await sh('true # done')).stderr))).toEqual({ stderr: '', code: 0 });
    expect(splitInBandStatus(String((await sh('printf x >&2; false')).stderr))).toEqual({ stderr: 'x', code: 1 });
  });

  it('a command too long for one exec request runs from a file the same way, and the file goes', async () => {
    const dir = tempDir('lab-ssh-');
    const file = join(dir, 'command');
    const command = `x='${'a'.repeat(MAX_COMMAND_BYTES)}'; echo \${#x}; echo err >&2; exit 4`;
    writeFileSync(file, command);
    const r = await sh(sourcedCommand(file));
    expect(r.stdout).toBe(`${MAX_COMMAND_BYTES}\n`);
    expect(splitInBandStatus(String(r.stderr))).toEqual({ stderr: 'err\n', code: 4 });
    expect(existsSync(file)).toBe(false);
  });

  it('a stderr without the marker is left alone', () => {
    expect(splitInBandStatus('__lab_exit_status=3 in the middle\n')).toEqual({ stderr: '__lab_exit_status=3 in the middle\n' });
  });
});

describe('gzip\'ed stdout (the page_owner dump)', () => {
  /** Run the wrapped command in a real shell with gzip, as the guest does, and inflate its stdout as the shell's channel would. */
  async function gz(command: string) {
    const r = await execa('bash', ['-c', gzippedWithInBandStatus(command)], { reject: false, encoding: 'buffer', stripFinalNewline: false });
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    const done = inflate(stream, (d) => chunks.push(d));
    stream.end(r.stdout);
    await done;
    return { stdout: Buffer.concat(chunks).toString(), compressed: r.stdout.length, ...splitInBandStatus(Buffer.from(r.stderr).toString()) };
  }

  it('inflates to exactly what the command wrote, and the status and stderr stay in band', async () => {
    const r = await gz("for i in $(seq 2000); do printf 'Page allocated via order 0, mask 0x%x\\n PFN %d\\n\\n' $i $i; done; echo err >&2; exit 5");
    const expected = Array.from({ length: 2000 }, (_, k) => `Page allocated via order 0, mask 0x${(k + 1).toString(16)}\n PFN ${k + 1}\n\n`).join('');
    expect(r.stdout).toBe(expected);
    expect(r.compressed).toBeLessThan(expected.length / 4);
    expect(r).toMatchObject({ stderr: 'err\n', code: 5 });
  });

  it('an empty stdout inflates to nothing', async () => {
    expect(await gz('true')).toMatchObject({ stdout: '', stderr: '', code: 0 });
  });

  it('a stream that is not gzip (no gzip in the guest) rejects instead of passing garbage on', async () => {
    const stream = new PassThrough();
    const done = inflate(stream, () => undefined);
    stream.end('sh: 1: gzip: not found\n');
    await expect(done).rejects.toThrow(/incorrect header/);
  });
});

describe('connecting to a guest that drops the connection', () => {
  // QEMU's user-mode forward accepts a TCP connection before the guest can answer and resets it when QEMU
  // dies (Ctrl-C during a restore): ssh2 then emits a socket error and, on close, a second error
  // ("Connection lost before handshake"). A second error without a listener ended the whole process (CI, session 4).
  async function resettingServer(how: 'reset' | 'banner-then-close' = 'reset'): Promise<{ server: Server; port: number; accepted: () => number }> {
    let n = 0;
    const server = createServer((sock: Socket) => {
      n++;
      sock.on('error', () => undefined);
      if (how === 'reset') setTimeout(() => sock.resetAndDestroy(), 20);
      else {
        // an SSH server that dies after its identification line: ssh2 then emits no error at all, only a close
        sock.write('SSH-2.0-lab_test\r\n');
        setTimeout(() => sock.end(), 50);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as { port: number }).port, accepted: () => n };
  }
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

  it('gives SSH_CONNECT_FAILED after its retries, and no error escapes as an unhandled event', async () => {
    const { server, port, accepted } = await resettingServer();
    const escaped: unknown[] = [];
    const onUncaught = (e: unknown) => escaped.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const err = await GuestShell.connect({ port, privateKey, token: 't', timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SSH_CONNECT_FAILED' });
      expect(accepted()).toBeGreaterThan(1);
      // the second error of the last attempt comes on the socket's close
      await new Promise((r) => setTimeout(r, 200));
      expect(escaped).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      server.close();
    }
  });

  it('stops retrying at once when the run is interrupted', async () => {
    const { server, port } = await resettingServer();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    try {
      const err = await GuestShell.connect({ port, privateKey, token: 't', timeoutMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SSH_CONNECT_FAILED' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.close();
    }
  });

  it("a connection that closes after the server's banner fails the attempt instead of waiting forever", async () => {
    // seen when Ctrl-C stopped a restored guest during the key exchange: the attempt never settled, nothing
    // kept node's event loop alive, and the run ended with exit 13 (an unsettled top-level await), not 130
    const { server, port, accepted } = await resettingServer('banner-then-close');
    try {
      const err = await GuestShell.connect({ port, privateKey, token: 't', timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SSH_CONNECT_FAILED' });
      expect(accepted()).toBeGreaterThan(1);
    } finally {
      server.close();
    }
  });
});
