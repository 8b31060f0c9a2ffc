import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { program, allCommands } from '../lab/cli/program.ts';
import { repoRoot } from '../lab/core/paths.ts';
import { DOCUMENTS, regenerate, section } from '../lab/docs/generate.ts';
import { compare, comparisonRefs, evaluate, parseComparison, SYNTAX } from '../lab/expr/expr.ts';
import { parseScenario } from '../lab/scenario/load.ts';
import { LAB_CLI } from './helpers/cli.ts';
import { registry } from './helpers/registry.ts';

/** Every document: the README and docs/*.md. */
const ALL_DOCS = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
/** docs/ci.md's sh block is a synopsis with [optional] arguments, not a command line: its examples are not run. */
const NOT_RUN = ['docs/ci.md'];
/** The documents whose examples run. */
const DOCS = ALL_DOCS.filter((f) => !NOT_RUN.includes(f));
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const README_MAX_LINES = 300;

/** The text outside fenced blocks (each fenced line made empty): where headings are. */
function unfenced(text: string): string {
  let fenced = false;
  const lines = text.split('\n').map((l) => {
    if (/^\s*```/.test(l)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : l;
  });
  return lines.join('\n');
}
/** The text outside fenced blocks and inline code: where links are. */
const prose = (text: string) => unfenced(text).replace(/`[^`]*`/g, '');

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of unfenced(text).split('\n')) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1]?.replace(/`/g, '');
    if (heading === undefined) continue;
    const base = heading.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Each relative link of a document (file is its path in the repository) that names no file, or no heading of it. */
function brokenLinks(file: string, text: string): string[] {
  const targets = [...prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => (m[1] ?? m[2])!);
  const broken: string[] = [];
  for (const target of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [path = '', anchor] = target.split('#');
    const linked = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
    if (path !== '' && (linked.startsWith('..') || !existsSync(join(repoRoot, linked)))) {
      broken.push(`${file}: ${target}: no file ${linked}`);
      continue;
    }
    if (anchor === undefined || !linked.endsWith('.md')) continue;
    const headings = anchors(linked === file ? text : read(linked));
    if (!headings.has(anchor)) broken.push(`${file}: ${target}: ${linked} has no heading #${anchor}`);
  }
  return broken;
}

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
    for (const doc of ALL_DOCS.slice(1)) expect(read('README.md')).toContain(`](${doc})`);
  });

  it(`is at most ${README_MAX_LINES} lines: the rest is in docs/`, () => {
    const lines = read('README.md').split('\n').length - 1;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('keeps "The two commands" with the main command first and the test command second', () => {
    const section = read('README.md').split(/^## The two commands$/m)[1] ?? '';
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const commands = block.split('\n').filter((l) => l.trim()).map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(commands).toEqual(['npm ci && npm run lab -- --kernel 6.12', 'npm ci && npm test']);
    expect(read('.ci/run')).toMatch(/^npm ci && npm test$/m);
  });
});

describe('links', () => {
  it('every relative link of README.md and docs/*.md names a file that exists and, with #, a heading of it', () => {
    expect(ALL_DOCS.flatMap((file) => brokenLinks(file, read(file)))).toEqual([]);
  });

  it('the check finds a missing file, a missing heading and a link out of the repository, and reads no code', () => {
    const text = [
      '# A page',
      '[ok](scenarios.md#keys), [ok](../README.md#the-two-commands), [ok](#a-page), [ok](https://example.org/x.md)',
      '[gone](no-such-file.md), [gone](scenarios.md#no-such-heading), [gone](#nowhere), [gone](../../outside.md)',
      '`[in code](not-checked.md)`',
      '```',
      '[in a block](not-checked.md)',
      '```',
    ].join('\n');
    expect(brokenLinks('docs/page.md', text)).toEqual([
      'docs/page.md: no-such-file.md: no file docs/no-such-file.md',
      'docs/page.md: scenarios.md#no-such-heading: docs/scenarios.md has no heading #no-such-heading',
      'docs/page.md: #nowhere: docs/page.md has no heading #nowhere',
      'docs/page.md: ../../outside.md: no file ../outside.md',
    ]);
  });

  it('anchors are GitHub\'s: punctuation dropped, code kept as text, repeats numbered', () => {
    expect([...anchors('# Regression reports (lab report)\n## `lab exec`, and more\n## Keys\n## Keys\n```\n# not a heading\n```')]).toEqual([
      'regression-reports-lab-report',
      'lab-exec-and-more',
      'keys',
      'keys-1',
    ]);
  });
});
