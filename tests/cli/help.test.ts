import { execa } from 'execa';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../lab/core/config.ts';
import { isLabError } from '../../lab/core/errors.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { collect, commaList } from '../../lab/cli/options.ts';
import { allCommands, program } from '../../lab/cli/program.ts';
import { LAB_CLI } from '../helpers/cli.ts';

/** A command's help exactly as `lab <command> --help` prints it (with the texts added after). */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out.replace(/\n {20,}/g, ' ');
}

const root = program();
const commands = allCommands(root);
const options = commands.flatMap(({ path, cmd }) => cmd.options.map((o) => ({ path, o })));
const configKeyOf = (o: Option) => Object.values(CONFIG_KEYS).find((k) => k.flag && k.flag === o.long);

describe('help lists every option with its default and environment variable', () => {
  it.each(commands.map((c) => [c.path, c.cmd] as const))('lab %s --help', (_path, cmd) => {
    const help = helpOf(cmd);
    for (const o of cmd.options) {
      const line = help.split('\n').find((l) => l.trimStart().startsWith(o.flags));
      expect(line, `${o.flags} in the help`).toBeDefined();
      if (o.defaultValue !== undefined) expect(line).toContain(`default: ${o.defaultValueDescription ?? JSON.stringify(o.defaultValue)}`);
      const key = configKeyOf(o);
      if (key) expect(line).toContain(`(env: ${key.env}, default: ${key.default})`);
    }
    for (const k of Object.values(CONFIG_KEYS)) expect(help).toContain(`${k.env.padEnd(20)} ${k.help} (default: ${k.default})`);
  });

  it('lab --help lists every command and every option of each', () => {
    const help = helpOf(root);
    for (const { path, o } of options) {
      const section = help.slice(help.indexOf(`\nlab ${path}:\n`));
      expect(section, `lab ${path} ${o.flags}`).toMatch(new RegExp(`\\n  ${o.flags.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\S`));
    }
    for (const { path } of commands) expect(help).toContain(path.split(' ')[0]);
  });
});

describe('errors name options as help does', () => {
  it('a bad value for an option with a parser names that option', () => {
    const parsed = options.filter(({ o }) => o.parseArg && o.parseArg !== collect && o.parseArg !== commaList);
    expect(parsed.map(({ path, o }) => `${path} ${o.long}`)).toEqual(expect.arrayContaining(['run --memory', 'run --repeat', 'compare --threshold', 'cache prune --keep']));
    for (const { o } of parsed) {
      let error: unknown;
      try {
        o.parseArg!('not-a-number', undefined);
      } catch (e) {
        error = e;
      }
      expect(isLabError(error) && error.message.startsWith(`${o.long} "not-a-number": `), `${o.long}: ${String(error)}`).toBe(true);
    }
  });

  it("every --option in the lab's messages is an option of a command", () => {
    const known = new Set(['--help', ...options.map(({ o }) => o.long)]);
    // flags of other programs that the lab's messages quote as commands to run
    const foreign = new Set(['--no-install-recommends']);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
    const named = new Map<string, string>();
    for (const file of files(join(repoRoot, 'lab'))) {
      for (const [i, raw] of readFileSync(file, 'utf8').split('\n').entries()) {
        const line = raw.replace(/ \/\/ .*$/, '');
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
        // --name inside a longer text, not a whole argument of a program ('--verify') nor --name=value
        for (const m of line.matchAll(/[ `'"(]--([a-z][a-z-]*[a-z])(?![\w=-])/g)) {
          if (m[0][0] === "'" && line[m.index + m[0].length] === "'") continue;
          named.set(`--${m[1]}`, `${file.slice(repoRoot.length + 1)}:${i + 1}`);
        }
      }
    }
    const unknown = [...named].filter(([flag]) => !known.has(flag) && !foreign.has(flag));
    expect(unknown, JSON.stringify(unknown)).toEqual([]);
    expect([...named.keys()]).toEqual(expect.arrayContaining(['--kernel', '--kernel-src', '--kconfig', '--scenario', '--memory', '--older-than', '--keep']));
  });
});

describe('output piped into a reader that stops early', () => {
  it('lab --help | head -1: one line, no EPIPE stack on stderr', async () => {
    const r = await execa('bash', ['-c', `${LAB_CLI.map((a) => `'${a}'`).join(' ')} --help | head -1`], { reject: false, cwd: repoRoot });
    expect(String(r.stdout)).toMatch(/^Usage: lab /);
    expect(String(r.stderr)).toBe('');
  });
});
