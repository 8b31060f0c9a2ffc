/**
 * Find, validate and compile scenarios: the YAML schema, then what the schema
 * cannot see (expressions parse, every name they use is a known metric or a
 * variable, capture patterns have one group). The result is a compiled
 * scenario: parsed expressions, every metric they reference (expectations,
 * variables and conditions alike) and the observers those need. All before
 * any VM boots.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError, didYouMean } from '../core/errors.ts';
import { displayPath, parseYamlWithLines } from '../core/data.ts';
import { compileExpectation, compileVar, ExprError, type CompiledExpectation, type CompiledVar } from '../judge/judge.ts';
import type { MetricRegistry, Observer } from '../metrics/registry.ts';
import { ScenarioSchema, type ScenarioData } from './schema.ts';

export interface Scenario extends Omit<ScenarioData, 'vars' | 'expect'> {
  name: string;
  file: string;
  vars: CompiledVar[];
  expect: CompiledExpectation[];
  /** Every metric named anywhere (expect, vars), for the observers and the reports. */
  metrics: string[];
  /** The observers the runner must read for this scenario. */
  observers: Observer[];
}

/** The default suite: scenarios/*.yaml. */
export async function listScenarios(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort();
}

/**
 * Opt-in scenarios: scenarios/<group>/*.yaml (kernel-bugs/, gigantic/), run by
 * name but never part of the default suite: they take a kernel down on purpose
 * or need a bigger guest. Name -> file.
 */
export async function optInScenarios(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    for (const f of (await readdir(join(dir, e.name))).filter((f) => f.endsWith('.yaml')).sort()) out.set(basename(f, '.yaml'), join(dir, e.name, f));
  }
  return out;
}

export async function loadScenario(dir: string, name: string, registry: MetricRegistry): Promise<Scenario> {
  const optIn = await optInScenarios(dir);
  const file = name.includes('/') || name.endsWith('.yaml') ? name : existsSync(join(dir, `${name}.yaml`)) ? join(dir, `${name}.yaml`) : (optIn.get(name) ?? join(dir, `${name}.yaml`));
  if (!existsSync(file)) {
    const suite = await listScenarios(dir);
    const extra = [...optIn.keys()].sort();
    const hint = didYouMean(name, [...suite, ...extra]);
    throw new InputError(
      'UNKNOWN_SCENARIO',
      `--scenario ${JSON.stringify(name)}: no such scenario${hint ? `; did you mean "${hint}"?` : ''} (available: ${suite.join(', ')}; opt-in: ${extra.join(', ')})`,
      { value: name },
    );
  }
  if (statSync(file).isDirectory()) throw new InputError('BAD_SCENARIO', `--scenario ${name}: a folder; expected a scenario file (.yaml) or a scenario's name`, { value: name });
  // the name becomes the scenario's results folder: "...yaml" once wrote into the run's own folder
  const base = basename(file, '.yaml');
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(base) || base.includes('..')) {
    throw new InputError('BAD_SCENARIO', `--scenario ${name}: the file's name ${JSON.stringify(base)} names the scenario and its results folder: letters, digits and . _ + - (not first), no ".."`, { value: name });
  }
  return parseScenario(await readFile(file, 'utf8'), file, registry);
}

export function parseScenario(text: string, file: string, registry: MetricRegistry): Scenario {
  const { data, lineOf } = parseYamlWithLines(text, file, ScenarioSchema);
  const shown = displayPath(file);
  const fail = (path: (string | number)[], key: string, message: string): never => {
    throw new InputError('BAD_SCENARIO', `${shown}:${lineOf(path)}: ${key}: ${message}`, { file, key, line: lineOf(path) });
  };

  data.known_issues.forEach((k, i) => {
    try {
      new RegExp(k.report, 'm');
    } catch (e) {
      fail(['known_issues', i, 'report'], `known_issues[${i}].report`, `bad regular expression: ${(e as Error).message}`);
    }
  });

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

  const metrics = new Set<string>();
  const checkRefs = (refs: string[], path: (string | number)[], key: string, known: Set<string>) => {
    for (const ref of refs) {
      if (known.has(ref)) continue;
      if (registry.isKnown(ref)) {
        metrics.add(ref);
        continue;
      }
      const hint = didYouMean(ref, [...known, ...registry.suggestions(ref)]);
      fail(path, key, `unknown metric "${ref}"${hint ? `; did you mean "${hint}"?` : ''}`);
    }
  };
  const compile = <T>(build: () => T, src: string, path: (string | number)[], key: string): T => {
    try {
      return build();
    } catch (e) {
      if (e instanceof ExprError) return fail(path, key, `${e.message} at column ${e.column} of ${JSON.stringify(src.length > 120 ? `${src.slice(0, 117)}...` : src)}`);
      throw e;
    }
  };

  const variables = new Set(captured);
  const vars: CompiledVar[] = [];
  for (const [name, src] of Object.entries(data.vars)) {
    const key = `vars.${name}`;
    if (variables.has(name)) fail(['vars', name], key, `"${name}" is already a captured variable`);
    const v = compile(() => compileVar(name, src), src, ['vars', name], key);
    checkRefs(v.refs, ['vars', name], key, variables);
    variables.add(name);
    vars.push(v);
  }
  const expect = data.expect.map((raw, i) => {
    const e = typeof raw === 'string' ? { expect: raw, when: undefined } : raw;
    const path = typeof raw === 'string' ? ['expect', i] : ['expect', i, 'expect'];
    const c = compile(() => compileExpectation(e.expect, e.when), e.expect, path, `expect[${i}]`);
    checkRefs(c.refs, path, `expect[${i}]`, variables);
    return c;
  });
  return {
    ...data,
    vars,
    expect,
    name: basename(file, '.yaml'),
    file,
    metrics: [...metrics].sort(),
    observers: registry.observersOf(metrics),
  };
}

/**
 * Expectations given on the command line (lab bisect --expect): each one
 * replaces the scenario's expectations with the same left side
 * (`records9 >= 30` replaces `records9 >= grown`) or is added. Its names are
 * checked as a scenario file's are: metrics, captured values, variables.
 */
export function withExpectations(scenario: Scenario, sources: readonly string[], registry: MetricRegistry): Scenario {
  const variables = new Set([...scenario.steps.flatMap((s) => Object.keys(s.capture)), ...scenario.vars.map((v) => v.name)]);
  const metrics = new Set(scenario.metrics);
  let expect = [...scenario.expect];
  for (const src of sources) {
    const bad = (message: string): never => {
      throw new InputError('BAD_OPTION', `--expect ${JSON.stringify(src)}: ${message}`, { value: src });
    };
    let c: CompiledExpectation;
    try {
      c = compileExpectation(src);
    } catch (e) {
      if (e instanceof ExprError) return bad(`${e.message} at column ${e.column}`);
      throw e;
    }
    for (const ref of c.refs) {
      if (variables.has(ref)) continue;
      if (!registry.isKnown(ref)) {
        const hint = didYouMean(ref, [...variables, ...registry.suggestions(ref)]);
        bad(`unknown metric "${ref}"${hint ? `; did you mean "${hint}"?` : ''} (${scenario.name}'s variables: ${[...variables].join(', ') || 'none'})`);
      }
      metrics.add(ref);
    }
    const left = JSON.stringify(c.comparison.left);
    expect = [...expect.filter((e) => JSON.stringify(e.comparison.left) !== left), c];
  }
  return { ...scenario, expect, metrics: [...metrics].sort(), observers: registry.observersOf(metrics) };
}
