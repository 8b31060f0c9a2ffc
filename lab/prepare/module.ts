/**
 * The page_order module: built on the host against the cached kernel build
 * (make -C <build> M=<copy of kmod/page_order> MO=<the same> W=1 modules: since
 * 6.13 kbuild writes an external module's output to MO, which an O= build dir's
 * wrapper Makefile otherwise points at the build dir itself, the cache entry),
 * cached per kernel and module source, then copied into the guest (loading it
 * there is lab/observers/module.ts).
 * A build that writes into the cached kernel entry anyway is an error naming
 * the file: the entry is immutable, shared by every run. Any
 * out-of-tree module folder builds the same way (<folder name>.ko): the
 * tests build their test-only modules with it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InfraError } from '../core/errors.ts';
import { withLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';
import type { KernelBuild } from '../kernel/build.ts';
import { scratch } from '../core/scratch.ts';

export interface ModuleArtifact {
  path: string;
  /** Compiler warnings from the W=1 build (the module must have none). */
  warnings: string[];
  cacheHit: boolean;
}

async function sourceHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.c') || n === 'Makefile' || n.endsWith('.h')).sort()) {
    h.update(f);
    h.update(await readFile(join(dir, f)));
  }
  return h.digest('hex');
}

/** Every file of a kernel entry with its size and mtime (about 5,000 for a lab kernel: a fraction of a second). */
export async function entryFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await lstat(p);
        out.set(p.slice(dir.length + 1), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  await walk(dir);
  return out;
}

/** Files added, changed or removed between two listings. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const out = [...after].filter(([f, v]) => before.get(f) !== v).map(([f]) => f);
  for (const f of before.keys()) if (!after.has(f)) out.push(f);
  return out.sort();
}

export async function buildModule(srcDir: string, kernel: KernelBuild, cacheDir: string, log: string): Promise<ModuleArtifact> {
  const key = createHash('sha256').update(`${kernel.key}:${await sourceHash(srcDir)}`).digest('hex').slice(0, 16);
  // two runs of the same kernel build the module once
  return withLock(join(cacheDir, 'locks', `module-${key}`), () => buildModuleUnlocked(srcDir, kernel, cacheDir, log, key));
}

async function buildModuleUnlocked(srcDir: string, kernel: KernelBuild, cacheDir: string, log: string, key: string): Promise<ModuleArtifact> {
  const name = basename(srcDir);
  const ko = `${name}.ko`;
  const entry = join(cacheDir, 'modules', `${name}-${kernel.release}-${key}`);
  if (existsSync(join(entry, ko))) {
    const warnings = JSON.parse(await readFile(join(entry, 'warnings.json'), 'utf8')) as string[];
    return { path: join(entry, ko), warnings, cacheHit: true };
  }
  const scratchDir = await scratch(join(cacheDir, 'tmp'), 'kmod');
  const tmp = scratchDir.path;
  try {
    await cp(srcDir, tmp, { recursive: true, filter: (s) => !/\.(o|ko|mod|cmd)$|\.mod\.c$/.test(s) });
    const before = await entryFiles(kernel.buildDir);
    await run('make', ['-C', kernel.buildDir, `M=${tmp}`, `MO=${tmp}`, 'W=1', 'modules'], {
      log,
      errorCode: 'MODULE_BUILD_FAILED',
    });
    const written = changedFiles(before, await entryFiles(kernel.buildDir));
    if (written.length) {
      throw new InfraError(
        'MODULE_BUILD_FAILED',
        `the module build wrote into the cached kernel entry ${kernel.buildDir}: ${written.slice(0, 5).join(', ')}${written.length > 5 ? ` and ${written.length - 5} more` : ''}; the entry must stay as built (a kbuild that ignores M= and MO=?)`,
        { log },
      );
    }
    const warnings = (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes(tmp) && /warning:/.test(l));
    await writeFile(join(tmp, 'warnings.json'), JSON.stringify(warnings));
    // a make that succeeds without the module (a tree whose kbuild ignores M=) is a failed build too
    if (!existsSync(join(tmp, ko))) {
      throw new InfraError('MODULE_BUILD_FAILED', `make -C ${kernel.buildDir} M=${tmp} modules exited 0 but produced no ${ko}`, { log });
    }
    const out = join(tmp, 'out');
    await mkdir(out);
    await copyFile(join(tmp, ko), join(out, ko));
    await copyFile(join(tmp, 'warnings.json'), join(out, 'warnings.json'));
    await mkdir(join(cacheDir, 'modules'), { recursive: true });
    await rm(entry, { recursive: true, force: true });
    await rename(out, entry);
    return { path: join(entry, ko), warnings, cacheHit: false };
  } finally {
    await scratchDir.remove();
  }
}
