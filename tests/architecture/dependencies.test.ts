import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';

/** Every file of the lab itself and of its CI scripts (what a user's `npm run lab` and CI run). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|mjs)$/.test(f) ? [p] : [];
  });
}

/** The packages a file uses: imports, dynamic imports, and require.resolve of assets (uplot's script and CSS). */
const used = (text: string) =>
  [...text.matchAll(/(?:from |import\(|require\.resolve\()'((?:@[^/']+\/)?[^./'][^/']*)|'((?:@[^/']+\/)?[a-z][\w.-]*)\/dist\//g)].map((m) => (m[1] ?? m[2])!).filter((p) => !p.startsWith('node:'));

describe('dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const runtime = new Set([...sources(join(repoRoot, 'lab')), ...sources(join(repoRoot, '.ci'))].flatMap((f) => used(readFileSync(f, 'utf8'))));

  it('a runtime dependency is one the lab or its CI scripts use; what only tests use is a devDependency', () => {
    expect(Object.keys(pkg.dependencies).filter((d) => !runtime.has(d)).sort()).toEqual([]);
  });

  it('everything the lab uses is a runtime dependency', () => {
    expect([...runtime].filter((d) => !(d in pkg.dependencies)).sort()).toEqual([]);
  });
});
