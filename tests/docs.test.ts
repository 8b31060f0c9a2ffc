import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { program, allCommands } from '../lab/cli/program.ts';
import { repoRoot } from '../lab/core/paths.ts';
import { DOCUMENTS, regenerate, section } from '../lab/docs.ts';
import { compare, comparisonRefs, evaluate, parseComparison, SYNTAX } from '../lab/expr/expr.ts';
import { parseScenario } from '../lab/scenario/load.ts';
import { LAB_CLI } from './helpers/cli.ts';
import { registry } from './helpers/registry.ts';

const DOCS = ['README.md', 'docs/scenarios.md', 'docs/reliability.md', 'docs/architecture.md'];
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

/** Fenced blocks with their info string and the line their text starts on. */
function blocks(file: string): { info: string; text: string; line: number }[] {
  const out: { info: string; text: string; line: number }[] = [];
  const lines = read(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && l === '```');
    out.push({ info: open[1]!.trim(), text: lines.slice(i + 1, close).join('\n'), line: i + 2 });
    i = close;
  }
  return out;
}
const examples = (kind: string) => DOCS.flatMap((file) => blocks(file).filter((b) => b.info === kind).map((b) => ({ file, ...b })));

describe('generated sections', () => {
  it.each(Object.keys(DOCUMENTS))('%s: its generated sections are what the code says (npm run docs)', (file) => {
    const text = read(file);
    expect(regenerate(file, text, registry)).toBe(text);
  });

  it('the metric list names every family with its example, the syntax table every example', () => {
    for (const f of registry.families) expect(section('metrics', registry)).toContain(`\`${f.example}\``);
    for (const s of SYNTAX) expect(section('syntax', registry)).toContain(`\`${s.example}\``);
  });

  it("every syntax row's example holds", () => {
    const known = { module_seen_9: 32, grown: 32 };
    for (const s of SYNTAX) {
      const c = parseComparison(s.example);
      const lookup = (n: string) => (n === 'module.seen[9]' ? known.module_seen_9 : n === 'grown' ? known.grown : undefined);
      expect(compare(evaluate(c.left, lookup), c.op, evaluate(c.right, lookup), c.tolerance), s.example).toBe(true);
    }
  });
});

describe('the examples in the docs run', () => {
  it('every yaml scenario block loads through the scenario loader', () => {
    const found = examples('yaml scenario');
    expect(found.length).toBeGreaterThan(0);
    for (const b of found) expect(() => parseScenario(b.text, `${b.file}:${b.line}`, registry), `${b.file}:${b.line}`).not.toThrow();
  });

  it('every yaml scenario-error block fails with the message its first line gives', () => {
    const found = examples('yaml scenario-error');
    expect(found.length).toBeGreaterThan(0);
    for (const b of found) {
      const wanted = /^# error: (.+)$/.exec(b.text.split('\n')[0]!)?.[1];
      expect(wanted, `${b.file}:${b.line}: first line "# error: ..."`).toBeDefined();
      expect(() => parseScenario(b.text, `${b.file}:${b.line}`, registry)).toThrow(wanted);
    }
  });

  it('every expect block line evaluates to the verdict after ->, with the values in its comment', () => {
    const found = examples('expect');
    expect(found.length).toBeGreaterThan(0);
    for (const b of found) {
      for (const line of b.text.split('\n').filter(Boolean)) {
        const m = /^(.+?)\s+#\s+(.*?)\s*->\s*(true|false)$/.exec(line);
        expect(m, `${b.file}: "${line}": expected "EXPR   # name=value ... -> true|false"`).not.toBeNull();
        const values = new Map(m![2]!.split(/\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string]));
        const c = parseComparison(m![1]!);
        for (const ref of comparisonRefs(c)) {
          expect(values.has(ref), `${line}: a value for ${ref}`).toBe(true);
          // a name with a dot is a metric: it must be one the registry knows
          if (ref.includes('.')) expect(registry.isKnown(ref), `${line}: ${ref} is a metric`).toBe(true);
        }
        const lookup = (n: string) => (values.has(n) ? Number(values.get(n)) : undefined);
        expect(compare(evaluate(c.left, lookup), c.op, evaluate(c.right, lookup), c.tolerance), line).toBe(m![3] === 'true');
      }
    }
  });

  it('every npm run lab line of a sh block is a valid command line (parsed, not run: they boot guests)', async () => {
    const found = examples('sh');
    const lines = found.flatMap((b) => b.text.split('\n').filter((l) => l.startsWith('npm run lab -- ')).map((l) => ({ where: `${b.file}:${b.line}`, l })));
    expect(lines.length).toBeGreaterThan(0);
    for (const { where, l } of lines) {
      const root = program();
      const ran: string[] = [];
      const quiet = (c: Command) => c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      quiet(root);
      for (const { path, cmd } of allCommands(root)) quiet(cmd).action(() => void ran.push(path));
      const argv = l.replace(/#.*$/, '').replace('npm run lab -- ', '').trim().match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'|'$/g, ''));
      const parsed = await root.parseAsync(argv, { from: 'user' }).then(
        () => 'ok',
        (e: unknown) => (e instanceof CommanderError ? e.message : String(e)),
      );
      expect(parsed, `${where}: ${l}`).toBe('ok');
      expect(ran, `${where}: ${l}`).toHaveLength(1);
    }
  });

  it.each(examples('console').map((b) => [`${b.file}:${b.line}`, b] as const))('console block %s: run, its output as shown', async (_where, b) => {
    const [first, ...rest] = b.text.split('\n');
    const args = /^\$ lab (.*)$/.exec(first!)![1]!.match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'|'$/g, ''));
    const exit = Number(/^\[exit (\d+)\]$/.exec(rest.at(-1)!)?.[1]);
    expect(Number.isInteger(exit), 'the block ends with [exit N]').toBe(true);
    const r = await execa(LAB_CLI[0], [LAB_CLI[1], ...args], { cwd: repoRoot, reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(exit);
    const output = `${r.stdout}${r.stdout && r.stderr ? '\n' : ''}${r.stderr}`.split('\n');
    // the shown lines in order, "..." standing for any number of lines
    let at = 0;
    let skipping = false;
    for (const want of rest.slice(0, -1)) {
      if (want === '...') {
        skipping = true;
        continue;
      }
      const found = skipping ? output.indexOf(want, at) : output[at] === want ? at : -1;
      expect(found, `"${want}" at line ${at + 1} of the output${skipping ? ' or later' : ''}:\n${output.join('\n')}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
      skipping = false;
    }
    if (!skipping) expect(output.length, 'no more output than shown').toBe(at);
  });
});

describe('docs/reliability.md', () => {
  it('every test it names exists, with the test names it quotes', () => {
    const rows = read('docs/reliability.md').split('\n').filter((l) => l.startsWith('| ') && l.includes('`tests/'));
    expect(rows.length).toBeGreaterThan(10);
    let named = 0;
    for (const row of rows) {
      // a path, then the quoted test names up to the next path
      for (const [, path, names] of row.matchAll(/`(tests\/[\w/.-]+\.ts)`([^`|]*)/g)) {
        const text = read(path!);
        for (const [, name] of names!.matchAll(/"([^"]+)"/g)) {
          expect(text, `${path} has a test "${name}"`).toContain(`'${name}`);
          named++;
        }
      }
    }
    expect(named).toBeGreaterThan(10);
  });
});

describe('the README', () => {
  it('links every document', () => {
    for (const doc of DOCS.slice(1)) expect(read('README.md')).toContain(`](${doc})`);
  });
});
