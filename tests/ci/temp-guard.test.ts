import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

describe('the temporary-folder guard (tests/helpers/temp.ts)', () => {
  it('fails a test that leaves a folder in TMPDIR, naming it; passes one that used tempDir; leaves nothing', async () => {
    const tmp = tempDir('lab-guard-');
    const dir = join(repoRoot, 'tests/fixtures/temp-guard');
    const r = await execa(join(repoRoot, 'node_modules/.bin/vitest'), ['run', '--config', join(dir, 'vitest.config.ts'), '--root', dir], {
      reject: false,
      env: { TMPDIR: tmp, NO_COLOR: '1', CI: 'true' },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, out).toBe(1);
    expect(out).toMatch(/the test left 1 temporary file\(s\) or folder\(s\) behind: lab-leaked-\w+/);
    expect(out).toMatch(/1 failed \| 1 passed/);
    // the guard's own folder, and what the tests made, are gone
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);
});
