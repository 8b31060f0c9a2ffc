import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InfraError } from '../../lab/core/errors.ts';
import { hostPath, run, SYSTEM_PATH, which } from '../../lab/core/proc.ts';
import { tempDir } from '../helpers/temp.ts';

describe('the process runner', () => {
  it('writes stdout to a file without keeping it in memory, past execa\'s 100 MB buffer (a kernel tarball is 1.4 GB)', async () => {
    const out = join(tempDir('lab-proc-'), 'big');
    await run('sh', ['-c', 'head -c 150000000 /dev/zero'], { stdoutFile: out });
    expect(statSync(out).size).toBe(150_000_000);
  });

  it('a failure says what the program said last, and a program that is not there says so', async () => {
    const e = (await run('sh', ['-c', 'echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3']).catch((err: unknown) => err)) as InfraError;
    expect(e).toBeInstanceOf(InfraError);
    expect(e.message).toBe("sh -c 'echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3' exited with code 3: two / three / four");
    const missing = (await run('lab-no-such-program', ['x']).catch((err: unknown) => err)) as InfraError;
    expect(missing.message).toMatch(/^lab-no-such-program x could not start: .*ENOENT/);
  });

  it('a clean environment has only what is given, and the system PATH', async () => {
    process.env.LAB_PROC_TEST_LEAK = 'leaked';
    try {
      const r = await run('sh', ['-c', 'echo "$LAB_PROC_TEST_LEAK|$PATH|$ONLY"'], { cleanEnv: true, env: { ONLY: 'given' } });
      expect(r.stdout).toBe(`|${SYSTEM_PATH}|given`);
      expect((await run('sh', ['-c', 'echo "$LAB_PROC_TEST_LEAK"'])).stdout).toBe('leaked');
    } finally {
      delete process.env.LAB_PROC_TEST_LEAK;
    }
  });

  it("looks programs up on the user's PATH plus the system's sbin folders", async () => {
    expect(hostPath('/home/u/bin:/usr/bin:/bin')).toBe('/home/u/bin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin');
    expect(await which('sh', '/nonexistent')).toBeUndefined();
    expect(await which('sh', '/bin:/usr/bin')).toMatch(/\/sh$/);
  });
});
