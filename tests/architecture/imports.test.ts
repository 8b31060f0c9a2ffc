import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';

/**
 * The rule of the house (docs/architecture.md, "The folders, and the stages in them"): each folder of lab/ may
 * import only from folders below it in this list; the top-level files (the
 * pipeline, exec, artifacts, doctor) sit above every folder but cli.
 */
const LAYERS = ['core', 'expr', 'observe', 'metrics', 'host', 'kernel', 'image', 'guest', 'prepare', 'judge', 'scenario', 'report', '.', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const lab = join(repoRoot, 'lab');
const folderOf = (file: string) => {
  const rel = relative(lab, file);
  return rel.includes('/') ? rel.split('/')[0]! : '.';
};

/** Every import edge between two folders of lab/, from the sources. */
function edges(): { from: string; to: string; file: string }[] {
  const out: { from: string; to: string; file: string }[] = [];
  for (const file of sources(lab)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(lab)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) out.push({ from, to, file: relative(repoRoot, file) });
    }
  }
  return out;
}

describe('the import graph of lab/', () => {
  const graph = edges();

  it('knows every folder', () => {
    const folders = new Set(sources(lab).map(folderOf));
    expect([...folders].filter((f) => !LAYERS.includes(f))).toEqual([]);
    expect(graph.length).toBeGreaterThan(50);
  });

  it('has no cycle between folders', () => {
    const adj = new Map<string, Set<string>>();
    for (const e of graph) adj.set(e.from, (adj.get(e.from) ?? new Set()).add(e.to));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'open') {
        cycles.push([...path.slice(path.indexOf(n)), n].join(' -> '));
        return;
      }
      state.set(n, 'open');
      for (const m of adj.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, 'done');
    };
    for (const n of adj.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it('only ever imports downward', () => {
    const upward = graph.filter((e) => LAYERS.indexOf(e.to) > LAYERS.indexOf(e.from)).map((e) => `${e.file}: ${e.from} -> ${e.to}`);
    expect([...new Set(upward)]).toEqual([]);
  });
});
