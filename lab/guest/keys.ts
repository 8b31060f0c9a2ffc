/** The lab's SSH key pair, generated once per cache (private key mode 0600, never in the repository). */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';

export interface LabKey {
  privateKey: string;
  /** The base64 blob of the ed25519 public key, as passed to the guest on its command line. */
  publicBlob: string;
  path: string;
}

export async function ensureKey(cacheDir: string): Promise<LabKey> {
  const dir = join(cacheDir, 'ssh');
  const path = join(dir, 'id_ed25519');
  if (!existsSync(path) || !existsSync(`${path}.pub`)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'page-owner-lab' });
    await writeFile(`${path}.pub`, `${pair.public}\n`);
    await writeFile(path, pair.private, { mode: 0o600 });
  }
  await chmod(path, 0o600);
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/);
  return { privateKey: await readFile(path, 'utf8'), publicBlob: pub[1]!, path };
}
