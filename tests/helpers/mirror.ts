import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { tempDir } from './temp.ts';

/** A tiny kernel-like tarball: linux-<version>/Makefile with the version lines. */
export async function fakeKernelTarball(version: string): Promise<Buffer> {
  const dir = tempDir('fake-kernel-');
  const [v, p, s] = version.split('.');
  mkdirSync(join(dir, `linux-${version}`));
  writeFileSync(join(dir, `linux-${version}`, 'Makefile'), `VERSION = ${v}\nPATCHLEVEL = ${p}\nSUBLEVEL = ${s ?? 0}\nEXTRAVERSION =\n`);
  await execa('tar', ['-cJf', join(dir, 'k.tar.xz'), '-C', dir, `linux-${version}`]);
  return readFileSync(join(dir, 'k.tar.xz'));
}

export interface MirrorServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export interface MirrorContent {
  /** file name -> body, served under /v<major>.x/ */
  files: Record<string, Buffer | string>;
  /** Close the connection half-way through the first N requests of this file. */
  interrupt?: { file: string; times: number };
}

/** A kernel.org-layout mirror on 127.0.0.1: an HTML listing, tarballs, sha256sums.asc. */
export async function serveMirror(major: string, content: MirrorContent): Promise<MirrorServer> {
  const requests: string[] = [];
  let interrupted = 0;
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const prefix = `/v${major}.x/`;
    if (!req.url?.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    const name = req.url.slice(prefix.length);
    if (name === '') {
      const links = Object.keys(content.files).map((f) => `<a href="${f}">${f}</a>`);
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><pre>${links.join('\n')}</pre></body></html>`);
      return;
    }
    const body = content.files[name];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const buf = Buffer.from(body);
    res.writeHead(200, { 'content-length': String(buf.length) });
    if (content.interrupt?.file === name && interrupted < content.interrupt.times) {
      interrupted++;
      res.write(buf.subarray(0, Math.floor(buf.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(buf);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function sha256sums(files: Record<string, Buffer>): string {
  const lines = Object.entries(files).map(([n, b]) => `${createHash('sha256').update(b).digest('hex')}  ${n}`);
  return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${lines.join('\n')}\n-----BEGIN PGP SIGNATURE-----\n\nnot a real signature\n-----END PGP SIGNATURE-----\n`;
}
