/**
 * Kernel configuration: parse fragments, merge them onto the base with the
 * kernel's own merge_config.sh + olddefconfig, and verify that every option
 * asked for survived (olddefconfig drops unmet options silently).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError } from '../core/errors.ts';

/** CONFIG_NAME -> value as written in .config ("y", "m", "\"str\"", "42"); "n" for "is not set". */
export type ConfigMap = Map<string, string>;

export interface FragmentEntry {
  name: string;
  value: string;
  file: string;
  line: number;
}

const setLine = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const unsetLine = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** Parse a fragment strictly: anything that is not an option, a comment or blank is an error. */
export function parseFragment(text: string, file: string): FragmentEntry[] {
  const out: FragmentEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const set = setLine.exec(line);
    const unset = unsetLine.exec(line);
    if (set) out.push({ name: set[1]!, value: set[2]!, file, line: i + 1 });
    else if (unset) out.push({ name: unset[1]!, value: 'n', file, line: i + 1 });
    else if (line !== '' && !line.startsWith('#')) {
      throw new InputError(
        'BAD_CONFIG_FRAGMENT',
        `${file}:${i + 1}: ${JSON.stringify(line)} is not a kconfig line; accepted: CONFIG_NAME=value or "# CONFIG_NAME is not set"`,
        { file, line: i + 1 },
      );
    }
  });
  return out;
}

export function parseDotConfig(text: string): ConfigMap {
  const map: ConfigMap = new Map();
  for (const raw of text.split('\n')) {
    const set = setLine.exec(raw.trim());
    const unset = unsetLine.exec(raw.trim());
    if (set) map.set(set[1]!, set[2]!);
    else if (unset) map.set(unset[1]!, 'n');
  }
  return map;
}

/** `--kconfig CONFIG_X=y` values become a fragment of their own. */
export function parseKconfigArg(arg: string): FragmentEntry {
  const m = /^(CONFIG_[A-Za-z0-9_]+)=(.+)$/.exec(arg.trim());
  if (!m) {
    throw new InputError('BAD_KCONFIG_ARG', `--kconfig ${JSON.stringify(arg)}: expected CONFIG_NAME=value (y, m, n, a number or a "string")`, {
      value: arg,
    });
  }
  return { name: m[1]!, value: m[2]!, file: '--kconfig', line: 0 };
}

export interface DroppedOption {
  name: string;
  wanted: string;
  got: string;
  from: string;
}

/** Later entries override earlier ones, as merge_config.sh does. */
export function mergeRequests(entries: readonly FragmentEntry[]): Map<string, FragmentEntry> {
  const wanted = new Map<string, FragmentEntry>();
  for (const e of entries) wanted.set(e.name, e);
  return wanted;
}

export function verifyConfig(requested: readonly FragmentEntry[], final: ConfigMap): DroppedOption[] {
  const dropped: DroppedOption[] = [];
  for (const e of mergeRequests(requested).values()) {
    const got = final.get(e.name) ?? 'n';
    if (got !== e.value) dropped.push({ name: e.name, wanted: e.value, got, from: `${e.file}:${e.line}` });
  }
  return dropped;
}

export function renderFragment(entries: readonly FragmentEntry[]): string {
  return [...mergeRequests(entries).values()]
    .map((e) => (e.value === 'n' ? `# ${e.name} is not set` : `${e.name}=${e.value}`))
    .join('\n')
    .concat('\n');
}

/** "depends on" lines of each option, read from the tree's Kconfig files, to explain a drop. */
export async function kconfigDependencies(tree: string, names: readonly string[]): Promise<Map<string, string[]>> {
  const wanted = new Set(names.map((n) => n.replace(/^CONFIG_/, '')));
  const deps = new Map<string, string[]>();
  for (const file of await kconfigFiles(tree)) {
    const text = await readFile(file, 'utf8');
    let current: string | undefined;
    for (const line of text.split('\n')) {
      const start = /^\s*(?:menu)?config\s+(\w+)\s*$/.exec(line);
      if (start) {
        current = wanted.has(start[1]!) ? start[1] : undefined;
        continue;
      }
      if (/^\s*(?:endmenu|endif|choice|endchoice|menu|if)\b/.test(line)) current = undefined;
      const dep = /^\s*depends on\s+(.+)$/.exec(line);
      if (current && dep) {
        const key = `CONFIG_${current}`;
        deps.set(key, [...(deps.get(key) ?? []), `${dep[1]!.trim()} (${relative(tree, file)})`]);
      }
    }
  }
  return deps;
}

async function kconfigFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    if (ent.name.startsWith('.')) continue;
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (!['Documentation', 'tools', 'samples'].includes(ent.name) || dir.endsWith('tools')) out.push(...(await kconfigFiles(p)));
    } else if (ent.name.startsWith('Kconfig')) out.push(p);
  }
  return out;
}

export async function droppedOptionsError(tree: string, dropped: DroppedOption[], configPath: string): Promise<InputError> {
  const deps = await kconfigDependencies(tree, dropped.map((d) => d.name));
  const lines = dropped.map((d) => {
    const why = deps.get(d.name);
    return `  ${d.name}: asked ${d.wanted} (${d.from}), final .config has ${d.got}${why ? `; depends on ${why.join(' and ')}` : ''}`;
  });
  return new InputError(
    'CONFIG_OPTIONS_DROPPED',
    `olddefconfig dropped ${dropped.length} requested option(s):\n${lines.join('\n')}`,
    { config: configPath, dropped: dropped.map((d) => d.name).join(',') },
  );
}
