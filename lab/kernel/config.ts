/**
 * Kernel configuration: parse fragments, merge them onto the base with the
 * kernel's own merge_config.sh + olddefconfig, and verify that every option
 * asked for survived (olddefconfig drops unmet options silently).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError } from '../core/errors.ts';
import { KERNEL_CONDITION, kernelMatches } from '../expr/expr.ts';

/** CONFIG_NAME -> value as written in .config ("y", "m", "\"str\"", "42"); "n" for "is not set". */
type ConfigMap = Map<string, string>;

export interface FragmentEntry {
  name: string;
  value: string;
  file: string;
  line: number;
}

const setLine = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const unsetLine = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** `# lab: when kernel < 7.3` ... `# lab: end`: the lines between apply to the kernels the condition holds for. */
const WHEN = /^# lab: when (.*)$/;
const END = /^# lab: end\s*$/;

/**
 * Parse a fragment strictly: anything that is not an option, a comment or blank is an error.
 * With `release`, the lines of a `# lab: when kernel ...` block that does not hold for it are
 * left out (and listed in `skipped`, for lab build --explain); without, every line counts.
 */
export function parseFragment(text: string, file: string, release?: string, skipped?: (FragmentEntry & { when: string })[]): FragmentEntry[] {
  const out: FragmentEntry[] = [];
  let when: { condition: string; holds: boolean; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const set = setLine.exec(line);
    const unset = unsetLine.exec(line);
    const w = WHEN.exec(line);
    if (w) {
      const condition = w[1]!.trim();
      if (when) throw new InputError('BAD_CONFIG_FRAGMENT', `${file}:${i + 1}: "# lab: when" inside the block of line ${when.line}; close it with "# lab: end" first`, { file, line: i + 1 });
      if (!KERNEL_CONDITION.test(condition.replace(/^kernel\s*/, ''))) {
        throw new InputError('BAD_CONFIG_FRAGMENT', `${file}:${i + 1}: "${condition}" is not a kernel condition; accepted: kernel >= 7.3, kernel < 7.3, kernel == 6.12.117 (>=, <=, ==, !=, >, <)`, { file, line: i + 1 });
      }
      when = { condition, holds: release === undefined || kernelMatches(condition, release), line: i + 1 };
      return;
    }
    if (END.test(line)) {
      if (!when) throw new InputError('BAD_CONFIG_FRAGMENT', `${file}:${i + 1}: "# lab: end" without a "# lab: when" before it`, { file, line: i + 1 });
      when = undefined;
      return;
    }
    const entry = set ? { name: set[1]!, value: set[2]!, file, line: i + 1 } : unset ? { name: unset[1]!, value: 'n', file, line: i + 1 } : undefined;
    if (entry) {
      if (!when || when.holds) out.push(entry);
      else skipped?.push({ ...entry, when: when.condition });
    } else if (line !== '' && !line.startsWith('#')) {
      throw new InputError(
        'BAD_CONFIG_FRAGMENT',
        `${file}:${i + 1}: ${JSON.stringify(line)} is not a kconfig line; accepted: CONFIG_NAME=value or "# CONFIG_NAME is not set"`,
        { file, line: i + 1 },
      );
    }
  });
  if (when) throw new InputError('BAD_CONFIG_FRAGMENT', `${file}:${when.line}: "# lab: when ${when.condition}" is never closed with "# lab: end"`, { file, line: when.line });
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

interface DroppedOption {
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

interface KconfigFacts {
  /** "depends on" expressions of each option, with the Kconfig file. */
  dependsOn: Map<string, string[]>;
  /** Options whose "select" forces each option on, with the Kconfig file. */
  selectedBy: Map<string, string[]>;
}

/** Read the tree's Kconfig files for what explains a drop: depends on, and who selects an option. */
async function kconfigFacts(tree: string, names: readonly string[]): Promise<KconfigFacts> {
  const wanted = new Set(names.map((n) => n.replace(/^CONFIG_/, '')));
  const facts: KconfigFacts = { dependsOn: new Map(), selectedBy: new Map() };
  const add = (m: Map<string, string[]>, key: string, v: string) => m.set(key, [...(m.get(key) ?? []), v]);
  for (const file of await kconfigFiles(tree)) {
    const text = await readFile(file, 'utf8');
    let current: string | undefined;
    for (const line of text.split('\n')) {
      const start = /^\s*(?:menu)?config\s+(\w+)\s*$/.exec(line);
      if (start) {
        current = start[1];
        continue;
      }
      if (/^\s*(?:endmenu|endif|choice|endchoice|menu|if)\b/.test(line)) current = undefined;
      if (!current) continue;
      const dep = /^\s*depends on\s+(.+)$/.exec(line);
      if (dep && wanted.has(current)) add(facts.dependsOn, `CONFIG_${current}`, `${dep[1]!.trim()} (${relative(tree, file)})`);
      const sel = /^\s*select\s+(\w+)/.exec(line);
      if (sel && wanted.has(sel[1]!)) add(facts.selectedBy, `CONFIG_${sel[1]}`, `CONFIG_${current} (${relative(tree, file)})`);
    }
  }
  return facts;
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

export async function droppedOptionsError(tree: string, dropped: DroppedOption[], configPath: string, final: ConfigMap): Promise<InputError> {
  const facts = await kconfigFacts(tree, dropped.map((d) => d.name));
  const lines = dropped.map((d) => {
    const why: string[] = [];
    const deps = facts.dependsOn.get(d.name);
    if (deps && d.got === 'n') why.push(`depends on ${deps.join(' and ')}`);
    // forced on: name the selectors that are on in the final config
    const selectors = (facts.selectedBy.get(d.name) ?? []).filter((s) => final.get(s.split(' ')[0]!) === 'y');
    if (selectors.length && d.got !== 'n') why.push(`selected by ${selectors.join(', ')}`);
    return `  ${d.name}: asked ${d.wanted} (${d.from}), final .config has ${d.got}${why.length ? `; ${why.join('; ')}` : ''}`;
  });
  return new InputError(
    'CONFIG_OPTIONS_DROPPED',
    `olddefconfig dropped ${dropped.length} requested option(s):\n${lines.join('\n')}`,
    { config: configPath, dropped: dropped.map((d) => d.name).join(',') },
  );
}
