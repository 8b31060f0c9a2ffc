/**
 * Judge a scenario's observations against its expectations. A failed
 * expectation explains itself with the numbers behind it; a metric that the
 * kernel did not provide makes that expectation an error, not a failure.
 */
import type { Observations } from '../observe/observations.ts';
import { compare, evaluate, parseComparison, references, UnknownReferenceError, type Lookup } from './expr.ts';

export type Verdict = 'pass' | 'fail' | 'error';

export interface ExpectationResult {
  expect: string;
  verdict: Verdict;
  left?: number;
  right?: number;
  /** Every metric and variable the expectation used, with its value. */
  values: Record<string, number>;
  message: string;
}

export interface Judgement {
  verdict: Verdict;
  variables: Record<string, number>;
  expectations: ExpectationResult[];
}

/** Metric names -> values from the observers. Counters absent from a per-order table are 0. */
export function metricLookup(obs: Observations): Lookup {
  return (name) => {
    let m: RegExpExecArray | null;
    if ((m = /^module\.(seen|recorded|participation)\[(\d+)\]$/.exec(name))) {
      const row = obs.module?.rows.find((r) => r.order === Number(m![2]));
      return row ? row[m[1] as 'seen' | 'recorded' | 'participation'] : undefined;
    }
    if (name === 'module.nmissed') return obs.module?.nmissed;
    if (name === 'module.other') return obs.module?.otherSeen;
    if ((m = /^bpf\.(set|reset)\[(\d+)\]$/.exec(name))) return obs.bpf ? (obs.bpf.maps[m[1]!]?.[m[2]!] ?? 0) : undefined;
    if (name === 'bpf.lost') return obs.bpf?.lostEvents;
    if ((m = /^vmstat\.(\w+)\.(delta|before|after)$/.exec(name))) {
      const before = obs.vmstatBefore?.[m[1]!];
      const after = obs.vmstatAfter?.[m[1]!];
      if (before === undefined || after === undefined) return undefined;
      return m[2] === 'before' ? before : m[2] === 'after' ? after : after - before;
    }
    return undefined;
  };
}

export function judge(
  spec: { vars: Record<string, string>; expect: string[] },
  obs: Observations,
  captured: Record<string, number>,
): Judgement {
  const metrics = metricLookup(obs);
  const variables: Record<string, number> = { ...captured };
  const lookup: Lookup = (name) => (name in variables ? variables[name] : metrics(name));
  const expectations: ExpectationResult[] = [];
  const varErrors: string[] = [];
  for (const [name, src] of Object.entries(spec.vars)) {
    try {
      variables[name] = evaluate(parseComparison(`${src} == 0`).left, lookup);
    } catch (e) {
      varErrors.push(`${name}: ${(e as Error).message}`);
    }
  }
  for (const src of spec.expect) {
    const c = parseComparison(src);
    const values: Record<string, number> = {};
    for (const ref of [...references(c.left), ...references(c.right)]) {
      const v = lookup(ref);
      if (v !== undefined) values[ref] = v;
    }
    try {
      const left = evaluate(c.left, lookup);
      const right = evaluate(c.right, lookup);
      const ok = compare(left, c.op, right, c.tolerance);
      const tol = c.tolerance ? ` +- ${c.tolerance.value}${c.tolerance.percent ? '%' : ''}` : '';
      const detail = Object.entries(values)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      expectations.push({
        expect: src,
        verdict: ok ? 'pass' : 'fail',
        left,
        right,
        values,
        message: `${src}: ${left} ${c.op} ${right}${tol} is ${ok}${detail ? ` (${detail})` : ''}`,
      });
    } catch (e) {
      const why =
        e instanceof UnknownReferenceError
          ? `${e.ref} was not observed${varErrors.length ? ` (${varErrors.join('; ')})` : ' (absent from this kernel or its observer failed)'}`
          : (e as Error).message;
      expectations.push({ expect: src, verdict: 'error', values, message: `${src}: cannot evaluate: ${why}` });
    }
  }
  const verdict: Verdict = expectations.some((e) => e.verdict === 'error')
    ? 'error'
    : expectations.every((e) => e.verdict === 'pass')
      ? 'pass'
      : 'fail';
  return { verdict, variables, expectations };
}
