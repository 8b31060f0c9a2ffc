import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';

/**
 * The rule of the house (docs/architecture.md, "The folders, and the stages in them"): each folder of lab/ may
 * import only from folders below it in this list; the top-level files (the
 * pipeline, exec, artifacts, doctor) sit above every folder but cli.
 */
const LAYERS = ['core', 'expr', 'observe', 'metrics', 'host', 'kernel', 'image', 'guest', 'observers', 'prepare', 'judge', 'scenario', 'report', 'run', 'interactive', 'bisect', 'doctor', 'docs', '.', 'cli'];

/** Files run by a command, not imported: their exports need no user. */
const ENTRY_POINTS = ['lab/cli/main.ts', 'lab/docs/generate.ts'];

function sources(dir: string, ext = /\.ts$/): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? (name === 'node_modules' || name === 'fixtures' ? [] : sources(p, ext)) : ext.test(p) ? [p] : [];
  });
}

const lab = join(repoRoot, 'lab');
const rel = (file: string) => relative(repoRoot, file);
const folderOf = (file: string) => {
  const r = relative(lab, file);
  return r.includes('/') ? r.split('/')[0]! : '.';
};

/** One import (or re-export) of a file: which names it takes ('*': all of them, e.g. a namespace). */
interface Import {
  target: string;
  names: Set<string> | '*';
  /** A re-export (`export { a as b } from`, `export * from`): the names this file gives on, exported name -> imported name. */
  reexport?: Map<string, string> | '*';
}

interface Module {
  file: string;
  imports: Import[];
  /** The names this file declares and exports itself ('default' for export default), without re-exports. */
  exports: Set<string>;
  /** The types, interfaces, classes and enums the file declares at its top level, exported or not. */
  types: string[];
}

function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const c of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return base;
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

/** The names bound by a declaration's name (a destructuring export binds several). */
function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : boundNames(e.name)));
}

/** Imports and exports of a file, from its syntax tree: static, type-only, dynamic (`await import()`), `import('x').T` types. */
function parse(file: string): Module {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const imports: Import[] = [];
  const exports = new Set<string>();
  const namespaces = new Map<string, Import>();
  const add = (spec: string, names: Set<string> | '*', reexport?: Import['reexport']) => {
    const target = resolveSpecifier(file, spec);
    if (!target) return undefined;
    const i: Import = { target, names, reexport };
    imports.push(i);
    return i;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const names = new Set<string>();
      const clause = node.importClause;
      if (clause?.name) names.add('default');
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) names.add((e.propertyName ?? e.name).text);
      const i = add(node.moduleSpecifier.text, names);
      // `import * as ns`: the names read as ns.X count; any other use of ns takes them all
      if (i && bindings && ts.isNamespaceImport(bindings)) namespaces.set(bindings.name.text, i);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      if (node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        if (!clause) add(node.moduleSpecifier.text, new Set(), '*');
        else if (ts.isNamespaceExport(clause)) {
          exports.add(clause.name.text);
          add(node.moduleSpecifier.text, '*');
        } else {
          const map = new Map(clause.elements.map((e) => [e.name.text, (e.propertyName ?? e.name).text] as const));
          add(node.moduleSpecifier.text, new Set(), map);
        }
      } else if (clause && ts.isNamedExports(clause)) {
        for (const e of clause.elements) exports.add(e.name.text);
      }
    } else if (ts.isExportAssignment(node)) {
      exports.add('default');
    } else if (hasModifier(node, ts.SyntaxKind.ExportKeyword)) {
      if (hasModifier(node, ts.SyntaxKind.DefaultKeyword)) exports.add('default');
      else if (ts.isVariableStatement(node)) for (const d of node.declarationList.declarations) for (const n of boundNames(d.name)) exports.add(n);
      else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isEnumDeclaration(node) || ts.isModuleDeclaration(node)) && node.name && ts.isIdentifier(node.name)) {
        exports.add(node.name.text);
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      // `const { a, b } = await import('x')` takes a and b; `(await import('x')).a` takes a; anything else, all
      let outer: ts.Node = node.parent;
      while (ts.isAwaitExpression(outer) || ts.isParenthesizedExpression(outer)) outer = outer.parent;
      let names: Set<string> | '*' = '*';
      if (ts.isVariableDeclaration(outer) && ts.isObjectBindingPattern(outer.name) && outer.name.elements.every((e) => !e.dotDotDotToken)) {
        names = new Set(outer.name.elements.map((e) => (e.propertyName && ts.isIdentifier(e.propertyName) ? e.propertyName : (e.name as ts.Identifier)).text));
      } else if (ts.isPropertyAccessExpression(outer)) names = new Set([outer.name.text]);
      add(node.arguments[0].text, names);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const q = node.qualifier;
      add(node.argument.literal.text, q ? new Set([ts.isIdentifier(q) ? q.text : (q.left as ts.Identifier).text]) : '*');
    } else if (ts.isIdentifier(node) && namespaces.has(node.text) && !ts.isNamespaceImport(node.parent)) {
      const i = namespaces.get(node.text)!;
      const p = node.parent;
      const member = ts.isPropertyAccessExpression(p) && p.expression === node ? p.name.text : ts.isQualifiedName(p) && p.left === node ? p.right.text : undefined;
      if (member === undefined) i.names = '*';
      else if (i.names !== '*') i.names.add(member);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const types = sf.statements.flatMap((st) =>
    (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name ? [st.name.text] : [],
  );
  return { file, imports, exports, types };
}

/** Every file that may use the lab's code: the lab itself, its tests, the bench, the CI scripts. */
const modules = new Map(
  [...sources(lab, /\.(ts|mjs)$/), ...sources(join(repoRoot, 'tests')), ...sources(join(repoRoot, 'bench')), ...sources(join(repoRoot, '.ci'), /\.(ts|mjs)$/), ...sources(join(repoRoot, 'scripts'), /\.(ts|mjs)$/)].map((f) => [f, parse(f)] as const),
);
const labModules = [...modules.values()].filter((m) => m.file.startsWith(lab + '/') && m.file.endsWith('.ts'));

/** Every import edge between two folders of lab/. */
function edges(): { from: string; to: string; file: string }[] {
  return labModules.flatMap((m) =>
    m.imports.filter((i) => i.target.startsWith(lab + '/') && folderOf(m.file) !== folderOf(i.target)).map((i) => ({ from: folderOf(m.file), to: folderOf(i.target), file: rel(m.file) })),
  );
}

/** The cycles of a directed graph, one path each (a -> b -> a), found by depth-first search. */
function cyclesOf(adj: Map<string, Set<string>>): string[] {
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
  for (const n of [...adj.keys()].sort()) visit(n, []);
  return cycles;
}

/**
 * The exports of lab/ files that nothing imports: `file: name`. A use through
 * a re-export (`export { a } from`, `export * from`) is a use of the original;
 * a re-export nobody imports is itself unused.
 */
function unusedExports(all: Map<string, Module>, checked: Module[], entryPoints: string[]): string[] {
  const used = new Map<string, Set<string>>();
  const usedAll = new Set<string>();
  const mark = (file: string, name: string) => {
    const s = used.get(file) ?? new Set<string>();
    if (s.has(name)) return false;
    used.set(file, s.add(name));
    return true;
  };
  for (const m of all.values()) {
    for (const i of m.imports) {
      if (i.reexport) continue;
      if (i.names === '*') usedAll.add(i.target);
      else for (const n of i.names) mark(i.target, n);
    }
  }
  // uses flow through re-exports to the file that declares the name, until nothing changes
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of all.values()) {
      for (const i of m.imports) {
        if (!i.reexport) continue;
        const names = usedAll.has(m.file) ? (i.reexport === '*' ? ['*'] : [...i.reexport.keys()]) : [...(used.get(m.file) ?? [])];
        for (const n of names) {
          if (n === '*') {
            if (!usedAll.has(i.target)) changed = usedAll.add(i.target) !== undefined;
          } else if (i.reexport === '*') {
            if (!all.get(m.file)?.exports.has(n) && n !== 'default') changed = mark(i.target, n) || changed;
          } else if (i.reexport.has(n)) changed = mark(i.target, i.reexport.get(n)!) || changed;
        }
      }
    }
  }
  return checked
    .filter((m) => !entryPoints.includes(rel(m.file)) && !usedAll.has(m.file))
    .flatMap((m) => {
      const given = [...m.exports, ...m.imports.flatMap((i) => (i.reexport && i.reexport !== '*' ? [...i.reexport.keys()] : []))];
      return given.filter((n) => !used.get(m.file)?.has(n)).map((n) => `${rel(m.file)}: ${n}`);
    })
    .sort();
}

describe('the import graph of lab/', () => {
  const graph = edges();

  it('knows every folder', () => {
    const folders = new Set(labModules.map((m) => folderOf(m.file)));
    expect([...folders].filter((f) => !LAYERS.includes(f))).toEqual([]);
    expect(graph.length).toBeGreaterThan(50);
  });

  it('has no cycle between folders', () => {
    const adj = new Map<string, Set<string>>();
    for (const e of graph) adj.set(e.from, (adj.get(e.from) ?? new Set()).add(e.to));
    expect(cyclesOf(adj)).toEqual([]);
  });

  it('only ever imports downward', () => {
    const upward = graph.filter((e) => LAYERS.indexOf(e.to) > LAYERS.indexOf(e.from)).map((e) => `${e.file}: ${e.from} -> ${e.to}`);
    expect([...new Set(upward)]).toEqual([]);
  });

  it('the command line calls one API module (lab/api.ts), no internals', () => {
    const reach = graph.filter((e) => e.from === 'cli' && e.to !== '.').map((e) => e.file);
    expect([...new Set(reach)]).toEqual([]);
    const topLevel = sources(lab).filter((f) => folderOf(f) === '.').map((f) => relative(repoRoot, f));
    expect(topLevel).toEqual(['lab/api.ts']);
  });

  it('a scenario runs without climbing back into prepare/: preparing a guest is done before, observing is observers/', () => {
    expect(graph.filter((e) => e.from === 'scenario' && e.to === 'prepare').map((e) => e.file)).toEqual([]);
  });

  it('has no cycle between files, within a folder or across folders', () => {
    const adj = new Map<string, Set<string>>();
    for (const m of labModules) adj.set(rel(m.file), new Set(m.imports.filter((i) => i.target.startsWith(lab + '/')).map((i) => rel(i.target))));
    expect(cyclesOf(adj)).toEqual([]);
  });

  it('imports only files that exist', () => {
    const missing = [...modules.values()].flatMap((m) => m.imports.filter((i) => !modules.has(i.target) && !existsSync(i.target)).map((i) => `${rel(m.file)} -> ${rel(i.target)}`));
    expect(missing).toEqual([]);
  });

  it('exports only what the lab, its tests, the bench or the CI scripts import', () => {
    expect(unusedExports(modules, labModules, ENTRY_POINTS)).toEqual([]);
  });

  it('gives each type name to one type: no two files declare the same name', () => {
    const where = new Map<string, string[]>();
    for (const m of labModules) for (const t of new Set(m.types)) where.set(t, [...(where.get(t) ?? []), rel(m.file)]);
    const shared = [...where].filter(([, files]) => files.length > 1).map(([t, files]) => `${t}: ${files.join(', ')}`);
    expect(shared).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const mod = (file: string, exports: string[], imports: Import[] = []): Module => ({ file: join(lab, file), exports: new Set(exports), imports, types: [] });
  const imp = (target: string, names: string[] | '*', reexport?: Import['reexport']): Import => ({ target: join(lab, target), names: names === '*' ? '*' : new Set(names), reexport });

  it('find a cycle between two files of one folder', () => {
    expect(cyclesOf(new Map([['a', new Set(['b'])], ['b', new Set(['a'])], ['c', new Set(['a'])]]))).toEqual(['a -> b -> a']);
  });

  it('find an export nothing imports, and follow re-exports', () => {
    const files = [
      mod('core/a.ts', ['used', 'unused', 'onlyReexported', 'viaStar']),
      mod('core/b.ts', [], [imp('core/a.ts', [], new Map([['renamed', 'onlyReexported'], ['given', 'used']]))]),
      mod('core/c.ts', [], [imp('core/a.ts', [], '*')]),
      mod('cli/main.ts', ['entry'], [imp('core/a.ts', ['used']), imp('core/c.ts', ['viaStar'])]),
    ];
    const all = new Map(files.map((m) => [m.file, m]));
    expect(unusedExports(all, files, ['lab/cli/main.ts'])).toEqual(['lab/core/a.ts: onlyReexported', 'lab/core/a.ts: unused', 'lab/core/b.ts: given', 'lab/core/b.ts: renamed']);
  });
});
