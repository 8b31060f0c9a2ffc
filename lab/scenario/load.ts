/**
 * Find and validate scenarios: the YAML schema, then what the schema cannot
 * see (expressions parse, every name they use is a known metric or a
 * variable, capture patterns have one group). All before any VM boots.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError, didYouMean } from '../core/errors.ts';
import { displayPath, parseYamlWithLines } from '../core/data.ts';
import { ExprError, parseArithmetic, parseComparison, references, type Expr } from '../judge/expr.ts';
import { isKnownMetric, metricSuggestions } from './metrics.ts';
import { ScenarioSchema, type Scenario } from './schema.ts';

export async function listScenarios(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort();
}

export async function loadScenario(dir: string, name: string): Promise<Scenario> {
  const file = name.includes('/') || name.endsWith('.yaml') ? name : join(dir, `${name}.yaml`);
  if (!existsSync(file)) {
    const known = await listScenarios(dir);
    const hint = didYouMean(name, known);
    throw new InputError(
      'UNKNOWN_SCENARIO',
      `--scenario ${JSON.stringify(name)}: no such scenario${hint ? `; did you mean "${hint}"?` : ''} (available: ${known.join(', ')})`,
      { value: name },
    );
  }
  return parseScenario(await readFile(file, 'utf8'), file);
}

export function parseScenario(text: string, file: string): Scenario {
  const { data, lineOf } = parseYamlWithLines(text, file, ScenarioSchema);
  const shown = displayPath(file);
  const fail = (path: (string | number)[], key: string, message: string): never => {
    throw new InputError('BAD_SCENARIO', `${shown}:${lineOf(path)}: ${key}: ${message}`, { file, key, line: lineOf(path) });
  };

  const captured = new Set<string>();
  data.steps.forEach((step, i) => {
    for (const [name, pattern] of Object.entries(step.capture)) {
      const key = `steps[${i}].capture.${name}`;
      let re: RegExp;
      try {
        re = new RegExp(pattern, 'm');
      } catch (e) {
        return fail(['steps', i, 'capture', name], key, `bad regular expression: ${(e as Error).message}`);
      }
      const groups = new RegExp(`${re.source}|`).exec('')!.length - 1;
      if (groups !== 1) fail(['steps', i, 'capture', name], key, `the pattern needs exactly one (group), it has ${groups}`);
      captured.add(name);
    }
  });

  const checkRefs = (expr: Expr, path: (string | number)[], key: string, known: Set<string>) => {
    for (const ref of references(expr)) {
      if (known.has(ref) || isKnownMetric(ref)) continue;
      const hint = didYouMean(ref, [...known, ...metricSuggestions(ref)]);
      fail(path, key, `unknown metric "${ref}"${hint ? `; did you mean "${hint}"?` : ''}`);
    }
  };
  const parse = <T>(parser: (src: string) => T, src: string, path: (string | number)[], key: string): T => {
    try {
      return parser(src);
    } catch (e) {
      if (e instanceof ExprError) return fail(path, key, `${e.message} at column ${e.column} of ${JSON.stringify(src)}`);
      throw e;
    }
  };

  const variables = new Set(captured);
  for (const [name, src] of Object.entries(data.vars)) {
    const key = `vars.${name}`;
    if (variables.has(name)) fail(['vars', name], key, `"${name}" is already a captured variable`);
    const expr = parse(parseArithmetic, src, ['vars', name], key);
    checkRefs(expr, ['vars', name], key, variables);
    variables.add(name);
  }
  const expectations = data.expect.map((e) => (typeof e === 'string' ? { expect: e } : e));
  expectations.forEach((e, i) => {
    const path = typeof data.expect[i] === 'string' ? ['expect', i] : ['expect', i, 'expect'];
    const c = parse(parseComparison, e.expect, path, `expect[${i}]`);
    checkRefs(c.left, path, `expect[${i}]`, variables);
    checkRefs(c.right, path, `expect[${i}]`, variables);
  });
  return { ...data, expect: expectations, name: basename(file, '.yaml'), file };
}
