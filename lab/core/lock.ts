/**
 * A cross-process lock file: concurrent runs that need the same cache entry
 * wait for the first one instead of building twice. A lock whose owner died
 * is taken over.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function withLock<T>(path: string, fn: () => Promise<T>, onWait?: (ownerPid: number) => void): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      // an empty file is a lock being written right now, unless it is old
      const justCreated = !owner && Date.now() - (await stat(path).then((s) => s.mtimeMs, () => 0)) < 5000;
      if (!justCreated && (!owner || !isAlive(owner))) {
        await rm(path, { force: true });
        continue;
      }
      if (!told && owner) onWait?.(owner);
      told = true;
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
