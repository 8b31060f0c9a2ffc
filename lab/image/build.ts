/**
 * Build the guest root filesystem from a recipe: mmdebstrap into a folder,
 * the lab init copied in, mkfs.ext4 -d into a raw image. Cached by a hash of
 * the recipe, the init script and the mirror setting; built in a temporary
 * folder and renamed into place when complete.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';
import { formatDuration, throttle, type ProgressReporter } from '../core/reporter.ts';
import { z } from 'zod';
import type { ImageRecipe } from './recipe.ts';
import { scratch } from '../core/scratch.ts';

const IMAGE_REVISION = 1;
/** A fixed epoch and filesystem UUID keep the image as reproducible as Debian's archive allows. */
const SOURCE_DATE_EPOCH = '1700000000';
const FS_UUID = '5f0c6b2a-1d3e-4c7a-9b8e-0a1b2c3d4e5f';

/** image.json, read back with this schema: an entry that fails it is built again. */
const GuestImageSchema = z.object({
  schemaVersion: z.literal(1).default(1),
  key: z.string(),
  path: z.string(),
  name: z.string(),
  suite: z.string(),
  /** Package=version lines of the built tree, for reproducers and reports. */
  packages: z.array(z.string()),
  buildSeconds: z.number(),
  mirror: z.string(),
  builtAt: z.string(),
});
export type GuestImage = z.infer<typeof GuestImageSchema>;

interface ImageOptions {
  cacheDir: string;
  reporter: ProgressReporter;
  log: string;
  signal?: AbortSignal;
  /** mmdebstrap mirror argument; default: the host's own apt sources when the suite matches, else mmdebstrap's default. */
  mirror?: string;
}

const HOST_SOURCES = '/etc/apt/sources.list.d/debian.sources';

/** The host's own apt sources when the host runs the recipe's suite, else mmdebstrap's default (''). */
export async function defaultMirror(suite: string): Promise<string> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const codename = /^VERSION_CODENAME=(\w+)/m.exec(osRelease)?.[1];
  return codename === suite && existsSync(HOST_SOURCES) ? HOST_SOURCES : '';
}

export async function imageKey(recipe: ImageRecipe, mirror: string): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ recipe: { ...recipe, file: undefined, dir: undefined }, mirror, rev: IMAGE_REVISION }));
  h.update(await readFile(join(recipe.dir, recipe.init)));
  // The mirror argument may be a sources file: its content is what matters.
  if (mirror.startsWith('/')) h.update(await readFile(mirror).catch(() => Buffer.from('')));
  return h.digest('hex');
}

/** An image's cache entry: <cache>/images/<name>-<key prefix>, its rootfs.ext4 inside. */
export const imageEntry = (cacheDir: string, name: string, key: string): string => join(cacheDir, 'images', `${name}-${key.slice(0, 16)}`);

export async function buildImage(recipe: ImageRecipe, opts: ImageOptions): Promise<{ image: GuestImage; cacheHit: boolean }> {
  const mirror = opts.mirror ?? (await defaultMirror(recipe.suite));
  const key = await imageKey(recipe, mirror);
  const entry = imageEntry(opts.cacheDir, recipe.name, key);
  return withLock(join(opts.cacheDir, 'locks', `image-${key}.lock`), async () => {
    const meta = await readFile(join(entry, 'image.json'), 'utf8')
      .then((t) => GuestImageSchema.safeParse(JSON.parse(t)).data)
      .catch(() => undefined);
    if (meta && existsSync(join(entry, 'rootfs.ext4'))) return { image: meta, cacheHit: true };
    const scratchDir = await scratch(join(opts.cacheDir, 'tmp'), 'image');
    const tmp = scratchDir.path;
    const tree = join(tmp, 'tree');
    try {
      opts.reporter.stage('image', `building ${recipe.name} (${recipe.suite}, ${recipe.packages.length} packages) with mmdebstrap (log: ${opts.log})`);
      const started = Date.now();
      const progress = throttle(20_000, () => opts.reporter.stage('image', `still building, ${formatDuration(Date.now() - started)}`));
      await run(
        'mmdebstrap',
        [
          `--variant=${recipe.variant}`,
          `--include=${recipe.packages.join(',')}`,
          '--skip=cleanup/reproducible/machine-id',
          recipe.suite,
          tree,
          ...(mirror ? [mirror] : []),
        ],
        { log: opts.log, env: { SOURCE_DATE_EPOCH }, signal: opts.signal, errorCode: 'IMAGE_BUILD_FAILED', onLine: (line) => {
          opts.reporter.detail('image', line);
          progress();
        } },
      );
      const init = join(tree, 'sbin', 'lab-init');
      await copyFile(join(recipe.dir, recipe.init), init);
      await chmod(init, 0o755);
      const pkgs = await run('chroot', [tree, 'dpkg-query', '-W', '-f=${Package}=${Version}\n']);
      const path = join(tmp, 'rootfs.ext4');
      await run(
        'mkfs.ext4',
        ['-q', '-F', '-L', 'labroot', '-U', FS_UUID, '-E', `root_owner=0:0,hash_seed=${FS_UUID}`, '-d', tree, path, `${recipe.size_mb}M`],
        { log: opts.log, env: { E2FSPROGS_FAKE_TIME: SOURCE_DATE_EPOCH }, errorCode: 'IMAGE_BUILD_FAILED' },
      );
      await rm(tree, { recursive: true, force: true });
      const image: GuestImage = {
        schemaVersion: 1,
        key,
        path: join(entry, 'rootfs.ext4'),
        name: recipe.name,
        suite: recipe.suite,
        packages: pkgs.stdout.split('\n').filter(Boolean),
        buildSeconds: (Date.now() - started) / 1000,
        mirror: mirror || '(mmdebstrap default)',
        builtAt: new Date().toISOString(),
      };
      await writeFile(join(tmp, 'image.json'), JSON.stringify(image, null, 2));
      await rm(entry, { recursive: true, force: true });
      await mkdir(join(opts.cacheDir, 'images'), { recursive: true });
      await rename(tmp, entry);
      opts.reporter.stage('image', `built in ${formatDuration(image.buildSeconds * 1000)} -> ${image.path}`);
      return { image, cacheHit: false };
    } finally {
      await scratchDir.remove();
    }
  });
}
