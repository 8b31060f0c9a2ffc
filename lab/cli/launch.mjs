#!/usr/bin/env node
/**
 * `npm run lab` starts here. The CLI is TypeScript; run through a loader
 * (tsx) every one of the few hundred modules it loads, its own and its
 * packages', went through the loader's hooks, which cost about a second and
 * a half before the first line of the lab ran. So lab/ is bundled by esbuild
 * (packages stay external, loaded by Node itself) into .build/cli/main.mjs,
 * the same depth below the repository as lab/cli/main.ts, so paths found
 * from import.meta.url hold. The bundle is rebuilt whenever a file under
 * lab/ is newer than it, written to a temporary file and renamed, so runs
 * started side by side never read half a bundle.
 */
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import process from 'node:process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(repo, 'lab');
const out = join(repo, '.build', 'cli', 'main.mjs');

/** The newest change under dir: files, and folders (a file removed or renamed changes its folder). */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

let built = 0;
try {
  built = statSync(out).mtimeMs;
} catch {
  // not built yet
}
if (built < newest(src)) {
  const { build } = await import('esbuild');
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(src, 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  renameSync(tmp, out);
}
await import(pathToFileURL(out).href);
