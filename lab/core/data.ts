/**
 * Loading the lab's data files (YAML) against a zod schema, with errors that
 * name the file, the line and the key, and what is accepted.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError, didYouMean } from './errors.ts';
import { repoRoot } from './paths.ts';

export async function loadYaml<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InputError('FILE_NOT_FOUND', `${displayPath(file)}: cannot read file`, { file });
  });
  return parseYaml(text, file, schema);
}

export function displayPath(file: string): string {
  const rel = relative(repoRoot, file);
  return rel.startsWith('..') ? file : rel;
}

function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  return parseYamlWithLines(text, file, schema).data;
}

interface Located<T> {
  data: T;
  /** 1-based line of the value at a key path (0 when unknown), for errors found after the schema. */
  lineOf(path: (string | number)[]): number;
}

/** How far YAML aliases may multiply a document (the yaml library's default). */
const MAX_ALIAS_COUNT = 100;

export function parseYamlWithLines<S extends z.ZodType>(text: string, file: string, schema: S): Located<z.infer<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const shown = displayPath(file);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = lineCounter.linePos(e.pos[0]).line;
    throw new InputError('BAD_YAML', `${shown}:${line}: ${e.message.split('\n')[0]}`, { file, line });
  }
  let value: unknown;
  try {
    // aliases are expanded with a bound (the yaml library's maxAliasCount): an alias bomb is bad input, not a crash
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new InputError('BAD_YAML', `${shown}: ${(e as Error).message} (aliases that expand to more than ${MAX_ALIAS_COUNT} times their own size are refused)`, { file });
  }
  const result = schema.safeParse(value);
  if (result.success) {
    return {
      data: result.data,
      lineOf: (path) => {
        const node = nodeAt(doc.contents as Node | null, path.map(String));
        return node?.range ? lineCounter.linePos(node.range[0]).line : 0;
      },
    };
  }
  // A typo'd key also makes the real key "missing": report the typo, it is the cause.
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0]!;
  const path = issue.path.map(String);
  const keyPath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
  const node = nodeAt(doc.contents as Node | null, keyPath, issue.code === 'unrecognized_keys');
  const line = node?.range ? lineCounter.linePos(node.range[0]).line : 0;
  throw new InputError('BAD_DATA_FILE', `${shown}:${line}: ${formatKey(keyPath)}: ${describeIssue(issue, schema)}`, {
    file,
    line,
    key: formatKey(keyPath),
  });
}

function formatKey(path: string[]): string {
  return path.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(top level)';
}

type Issue = z.core.$ZodIssue;
function describeIssue(issue: Issue, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, issue.path.map(String));
    return issue.keys
      .map((k) => {
        const hint = didYouMean(k, known);
        return `unknown key "${k}"${hint ? `; did you mean "${hint}"?` : ''}${known.length ? ` (accepted: ${known.join(', ')})` : ''}`;
      })
      .join('; ');
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `missing required key (${issue.expected})`;
  return issue.message;
}

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
}

/** zod reports unknown keys without the accepted ones: walk the schema to the object at `path`. */
function knownKeys(schema: z.ZodType, path: string[]): string[] {
  const objectKeys = (def: Def | undefined, rest: string[]): string[] => {
    if (!def) return [];
    const inner = def.innerType ?? def.in;
    if (inner) return objectKeys(inner._zod.def, rest);
    if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((o) => objectKeys(o._zod.def, rest)))];
    if (rest.length === 0) return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
    const [head, ...tail] = rest;
    if (def.type === 'object') return objectKeys(def.shape?.[head!]?._zod.def, tail);
    if (def.type === 'array') return objectKeys(def.element?._zod.def, tail);
    if (def.type === 'record') return objectKeys((def as { valueType?: { _zod: { def: Def } } }).valueType?._zod.def, tail);
    return [];
  };
  return objectKeys((schema as unknown as { _zod: { def: Def } })._zod.def, path);
}

/** The YAML node at a key path (for line numbers); falls back to the deepest existing parent. */
function nodeAt(node: Node | null, path: string[], atKey = false): Node | null {
  let cur: Node | null = node;
  for (const [i, key] of path.entries()) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key);
      if (!pair) return cur;
      // an unknown key: point at the key itself, not at its value
      cur = atKey && i === path.length - 1 ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
    } else if (isSeq(cur)) {
      const next = cur.items[Number(key)] as Node | undefined;
      if (!next) return cur;
      cur = next;
    } else return cur;
  }
  return cur;
}

/**
 * An object for keys that come from a guest (task names, cgroup names, map keys): no prototype,
 * so a task named `__proto__` or `constructor` is a key like any other and can never reach
 * Object.prototype or read an inherited member.
 */
export const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
