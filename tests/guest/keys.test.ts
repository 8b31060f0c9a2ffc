import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureKey } from '../../lab/guest/keys.ts';
import { tempDir } from '../helpers/temp.ts';

describe('the lab key pair', () => {
  it('pipelines starting together in a fresh cache all get the one pair, private key 0600', async () => {
    const cache = tempDir('lab-keys-');
    const keys = await Promise.all(Array.from({ length: 4 }, () => ensureKey(cache)));
    expect(new Set(keys.map((k) => k.publicBlob)).size).toBe(1);
    expect(new Set(keys.map((k) => k.privateKey)).size).toBe(1);
    expect(statSync(keys[0]!.path).mode & 0o777).toBe(0o600);
    expect((await ensureKey(cache)).publicBlob).toBe(keys[0]!.publicBlob);
  });
});
