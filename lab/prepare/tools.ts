/**
 * Workload helpers (scenarios/tools/*.c): small static programs compiled on
 * the host, cached by source hash, and copied to /usr/local/bin in the guest,
 * so scenarios can call them by name without a compiler in the image.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { withLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';

export interface Tool {
  name: string;
  path: string;
}

export async function buildTools(srcDir: string, cacheDir: string, log: string): Promise<Tool[]> {
  const tools: Tool[] = [];
  const compiler = (await run('gcc', ['--version'])).stdout.split('\n')[0];
  for (const file of (await readdir(srcDir)).filter((f) => f.endsWith('.c')).sort()) {
    const name = basename(file, '.c');
    const src = join(srcDir, file);
    const key = createHash('sha256').update(`${compiler}\n`).update(await readFile(src)).digest('hex').slice(0, 16);
    const out = join(cacheDir, 'tools', `${name}-${key}`);
    await withLock(join(cacheDir, 'locks', `tool-${name}-${key}`), async () => {
      if (existsSync(out)) return;
      await mkdir(join(cacheDir, 'tools'), { recursive: true });
      const tmp = `${out}.tmp-${process.pid}`;
      await run('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src], { log, errorCode: 'TOOL_BUILD_FAILED' });
      await rename(tmp, out);
    });
    tools.push({ name, path: out });
  }
  return tools;
}

/** Where a tool goes in the guest: /usr/local/bin, by its name (lab/prepare/upload.ts copies it). */
export const toolUpload = (t: Tool) => ({ guestPath: `/usr/local/bin/${t.name}`, hostPath: t.path });
