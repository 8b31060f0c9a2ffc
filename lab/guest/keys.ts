/**
 * The lab's SSH key pair, generated once per cache (private key mode 0600,
 * never in the repository) under a lock, then shared read-only by every run
 * and every concurrent pipeline: what proves a session reached its own guest
 * is the per-boot token on the guest's command line (lab/guest/ssh.ts), not
 * the key.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { withLock } from '../core/lock.ts';

export interface LabKey {
  privateKey: string;
  /** The base64 blob of the ed25519 public key, as passed to the guest on its command line. */
  publicBlob: string;
  path: string;
}

export async function ensureKey(cacheDir: string): Promise<LabKey> {
  const dir = join(cacheDir, 'ssh');
  const path = join(dir, 'id_ed25519');
  const exists = () => existsSync(path) && existsSync(`${path}.pub`);
  if (!exists()) {
    // two pipelines starting together would otherwise each write a pair, and one would boot with the other's public key
    await withLock(join(cacheDir, 'locks', 'ssh-key'), async () => {
      if (exists()) return;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'page-owner-lab' });
      await writeFile(`${path}.tmp`, pair.private, { mode: 0o600 });
      await writeFile(`${path}.pub`, `${pair.public}\n`);
      await rename(`${path}.tmp`, path);
    });
  }
  await chmod(path, 0o600);
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/);
  return { privateKey: await readFile(path, 'utf8'), publicBlob: pub[1]!, path };
}
