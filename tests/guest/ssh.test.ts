import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GuestShell } from '../../lab/guest/ssh.ts';

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
