import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, InfraError } from '../../lab/core/errors.ts';
import { withLock } from '../../lab/core/lock.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = tempDir('lab-lock-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withLock', () => {
  it('a lock lost while held (its folder removed) ends as LOCK_LOST, infrastructure (exit 3), not as an uncaught exception', async () => {
    const path = join(dir, 'entry.lock');
    // stale 2 s: proper-lockfile refreshes the lock every second and finds the folder gone
    const run = withLock(
      path,
      async () => {
        rmSync(`${path}.lock`, { recursive: true, force: true });
        await new Promise((r) => setTimeout(r, 2500));
        return 'done';
      },
      undefined,
      { staleMs: 2000 },
    );
    const e = await run.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(InfraError);
    expect(e).toMatchObject({ code: 'LOCK_LOST', exitCode: ExitCode.infrastructure });
    expect((e as Error).message).toMatch(/lost the lock .*entry\.lock\.lock while holding it/);
  });

  it('a lock kept to the end gives fn\'s value, and is released', async () => {
    const path = join(dir, 'kept.lock');
    expect(await withLock(path, async () => 42)).toBe(42);
    expect(await withLock(path, async () => 43)).toBe(43);
  });
});
