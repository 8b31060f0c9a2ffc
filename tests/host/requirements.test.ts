import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { hostRequirements } from '../../lab/host/requirements.ts';

/** Every call that starts a host process with a literal program name: the one runner (run, start, startDetached), which, and execa itself. */
const SPAWN = /(?<![.\w])(run|start|startDetached|which|execa|execaSync|execFile|execFileSync|spawn|spawnSync)\(\s*(['"`])([^'"`$\s]+)\2/g;

export function spawnedPrograms(source: string): string[] {
  return [...source.matchAll(SPAWN)].map((m) => m[3]!);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mjs|js)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('host requirements', () => {
  const listed = new Set(hostRequirements.flatMap((r) => (r.program ? [r.program] : [])));

  it('the scanner finds programs however the call is written', () => {
    expect(spawnedPrograms(`await run('qemu-img', ['create'])`)).toEqual(['qemu-img']);
    expect(spawnedPrograms(`await run(\n  'mkfs.ext4',\n  ['-q'],\n)`)).toEqual(['mkfs.ext4']);
    expect(spawnedPrograms(`execa("xz", ['-dc']); start(\`qemu-system-x86_64\`, args); which('ccache')`)).toEqual(['xz', 'qemu-system-x86_64', 'ccache']);
    // a guest command through the shell, a method called run, a program from a variable: not host programs of lab/
    expect(spawnedPrograms(`shell.run('uname -r'); framed.run(command); run(file, args)`)).toEqual([]);
  });

  it('lists every program lab/ runs, with the Debian package that provides it', () => {
    const found = new Map<string, string[]>();
    for (const file of sources(join(repoRoot, 'lab'))) {
      for (const program of spawnedPrograms(readFileSync(file, 'utf8'))) {
        // a script of the kernel tree (scripts/kconfig/merge_config.sh) is the source's own, not the host's
        if (program.includes('/')) continue;
        found.set(program, [...(found.get(program) ?? []), relative(repoRoot, file)]);
      }
    }
    expect(found.size).toBeGreaterThan(15);
    const unlisted = [...found].filter(([p]) => !listed.has(p)).map(([p, files]) => `${p} (run in ${files.join(', ')})`);
    expect(unlisted, 'add these to hostRequirements in lab/host/requirements.ts, with their Debian package').toEqual([]);
    // the ones a fresh Debian lacks and that a package's Recommends hid before
    for (const p of ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mkfs.ext4', 'make', 'gcc', 'ccache', 'lz4', 'xz', 'cpio']) expect(listed, p).toContain(p);
  });

  it('names each requirement once, with a package and a reason', () => {
    const names = hostRequirements.map((r) => r.program ?? r.file);
    expect(new Set(names).size).toBe(names.length);
    for (const r of hostRequirements) {
      expect(Boolean(r.program) !== Boolean(r.file), `${names.join()}: a program or a file, not both`).toBe(true);
      expect(r.pkg).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
      expect(r.why.length).toBeGreaterThan(5);
    }
  });
});
