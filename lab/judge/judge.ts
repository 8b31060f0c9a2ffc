/**
 * Judge a scenario's observations against its compiled expectations. A failed
 * expectation explains itself with the numbers behind it; a metric that the
 * kernel did not provide makes that expectation an error, not a failure.
 */
import { compare, comparisonRefs, evaluate, ExprError, kernelMatches, parseArithmetic, parseComparison, references, UnknownReferenceError, type Comparison, type Expr, type Lookup } from '../expr/expr.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import type { Observations } from '../observe/observations.ts';

type Verdict = 'pass' | 'fail' | 'error' | 'skip';

/** An expectation parsed once, with every metric and variable it names. */
export interface CompiledExpectation {
  source: string;
  comparison: Comparison;
  /** "kernel >= 6.9": only judged on matching kernels. */
  when?: string;
  refs: string[];
}

/** A derived variable: name = arithmetic over captured values, earlier variables and metrics. */
export interface CompiledVar {
  name: string;
  source: string;
  expr: Expr;
  refs: string[];
}

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

/** Parse an expectation; throws ExprError (with a column) on bad syntax. */
export function compileExpectation(source: string, when?: string): CompiledExpectation {
  const comparison = parseComparison(source);
  return { source, comparison, when, refs: comparisonRefs(comparison) };
}

export function compileVar(name: string, source: string): CompiledVar {
  const expr = parseArithmetic(source);
  return { name, source, expr, refs: references(expr) };
}

export { ExprError };

/** Metric names -> values from the observers, through the registry. */
function metricLookup(registry: MetricRegistry, obs: Observations): Lookup {
  return (name) => registry.read(name, obs);
}

export function judge(
  spec: { vars: readonly CompiledVar[]; expect: readonly CompiledExpectation[] },
  obs: Observations,
  captured: Record<string, number>,
  ctx: { registry: MetricRegistry; release?: string },
): Judgement {
  const metrics = metricLookup(ctx.registry, obs);
  const variables: Record<string, number> = { ...captured };
  const lookup: Lookup = (name) => (name in variables ? variables[name] : metrics(name));
  const expectations: ExpectationResult[] = [];
  const varErrors: string[] = [];
  for (const v of spec.vars) {
    try {
      variables[v.name] = evaluate(v.expr, lookup);
    } catch (e) {
      varErrors.push(`${v.name}: ${(e as Error).message}`);
    }
  }
  const release = ctx.release;
  for (const { source: src, comparison: c, when, refs } of spec.expect) {
    if (when && release && !kernelMatches(when, release)) {
      expectations.push({ expect: src, verdict: 'skip', values: {}, message: `${src}: skipped: ${release} does not match "${when}"` });
      continue;
    }
    const values: Record<string, number> = {};
    for (const ref of refs) {
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
    : expectations.some((e) => e.verdict === 'fail')
      ? 'fail'
      : 'pass';
  return { verdict, variables, expectations };
}
