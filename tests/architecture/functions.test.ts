import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';

/** The longest a function of lab/ may be: a longer one is several stages in one body (#26). */
const MAX_LINES = 100;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every function (declarations, methods, arrows, function expressions) of a file, with its name and length in lines. */
function functionLengths(file: string, text: string): { name: string; line: number; lines: number }[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; line: number; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = src.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = src.getLineAndCharacterOfPosition(node.end).line;
      const parent = node.parent;
      const name =
        (node.name && node.name.getText()) ||
        (parent && ts.isVariableDeclaration(parent) ? parent.name.getText() : parent && ts.isPropertyAssignment(parent) ? parent.name.getText() : '(anonymous)');
      out.push({ name, line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

describe('the functions of lab/', () => {
  it(`are at most ${MAX_LINES} lines each`, () => {
    const long = sources(join(repoRoot, 'lab')).flatMap((f) =>
      functionLengths(f, readFileSync(f, 'utf8'))
        .filter((fn) => fn.lines > MAX_LINES)
        .map((fn) => `${relative(repoRoot, f)}:${fn.line} ${fn.name} (${fn.lines} lines)`),
    );
    expect(long).toEqual([]);
  });

  it('the measure counts a long function, an arrow in a variable and a method', () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  x += ${i};`).join('\n');
    const text = `function long() {\n  let x = 0;\n${body}\n}\nconst arrow = () => 1;\nclass C {\n  m() {\n    return 2;\n  }\n}\n`;
    const found = functionLengths('t.ts', text);
    expect(found.map((f) => f.name)).toEqual(['long', 'arrow', 'm']);
    expect(found[0]!.lines).toBe(MAX_LINES + 3);
  });
});
