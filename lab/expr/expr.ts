/**
 * The expectations language: comparisons between metrics, captured variables
 * and numbers, with + - * / and parentheses. A parser of its own: scenario
 * text is never handed to eval or Function, so it can only ever compute.
 *
 *   module.seen[9] >= grown
 *   vmstat.htlb_buddy_alloc_success.delta == pool_after - pool_before
 *   module.seen[0] == bpf.set[0] +- 2%        (a tolerance: absolute, or % of the right side)
 *   abs(a - b) <= max(64, b / 50)             (functions: abs, min, max, floor)
 */
import { compareVersions } from '../core/version.ts';

const COMPARE_OPS = ['>=', '<=', '==', '!=', '>', '<'] as const;
type CompareOp = (typeof COMPARE_OPS)[number];

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'ref'; name: string }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr }
  | { kind: 'call'; fn: FunctionName; args: Expr[] };

const FUNCTIONS = {
  abs: { arity: [1, 1], fn: (a: number[]) => Math.abs(a[0]!), syntax: 'abs(x)', meaning: 'absolute value', example: 'abs(3 - 5) == 2' },
  min: { arity: [2, Infinity], fn: (a: number[]) => Math.min(...a), syntax: 'min(a, b, ...)', meaning: 'smallest of two or more', example: 'min(4, 2, 9) == 2' },
  max: { arity: [2, Infinity], fn: (a: number[]) => Math.max(...a), syntax: 'max(a, b, ...)', meaning: 'largest of two or more', example: 'max(1024, 5 * 300) == 1500' },
  floor: { arity: [1, 1], fn: (a: number[]) => Math.floor(a[0]!), syntax: 'floor(x)', meaning: 'round down (division gives fractions)', example: 'floor(33 * 50 / 100) == 16' },
} as const;

/**
 * The language for people: every operator and function with an example that
 * holds. docs/scenarios.md is generated from this list and a test evaluates
 * every example, so the documentation cannot promise what the parser refuses.
 */
export const SYNTAX: readonly { syntax: string; meaning: string; example: string }[] = [
  { syntax: COMPARE_OPS.map((op) => `a ${op} b`).join(', '), meaning: 'the comparison: exactly one per expectation', example: '32 >= 32' },
  { syntax: 'a + b, a - b, a * b, a / b, -a, (a)', meaning: 'arithmetic, usual precedence; numbers are decimal (`0.5`)', example: '(1 + 2) * 4 / 2 - -1 == 7' },
  { syntax: 'a == b +- N', meaning: 'tolerance: abs(a - b) <= N (only with ==)', example: '103 == 100 +- 5' },
  { syntax: 'a == b +- N%', meaning: 'tolerance in percent of abs(b)', example: '95 == 100 +- 5%' },
  ...Object.values(FUNCTIONS).map((f) => ({ syntax: f.syntax, meaning: f.meaning, example: f.example })),
  { syntax: 'module.seen[9], grown', meaning: 'a metric (see the list below) or a variable (`capture`, `vars`)', example: 'module.seen[9] >= grown' },
];
type FunctionName = keyof typeof FUNCTIONS;

export interface Comparison {
  left: Expr;
  op: CompareOp;
  right: Expr;
  /** `+- N` or `+- N%`: |left - right| may be this much (percent of |right|). */
  tolerance?: { value: number; percent: boolean };
  source: string;
}

export class ExprError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

type Token = { t: 'num'; v: number; at: number } | { t: 'ref'; v: string; at: number } | { t: 'op'; v: string; at: number };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /\d+(?:\.\d+)?/y;
    num.lastIndex = i;
    const n = num.exec(src);
    if (n) {
      out.push({ t: 'num', v: Number(n[0]), at: i });
      i += n[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    if (IDENT.test(src)) {
      // a reference: identifiers joined by dots, with [index] parts
      const ref = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[A-Za-z0-9_]+\])*/y;
      ref.lastIndex = i;
      const r = ref.exec(src)!;
      out.push({ t: 'ref', v: r[0], at: i });
      i += r[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if ([...COMPARE_OPS, '+-'].includes(two)) {
      out.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if ('<>+-*/(),%'.includes(c)) {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    throw new ExprError(`unexpected character ${JSON.stringify(c)}`, i + 1);
  }
  return out;
}

/** The longest expression the lab parses: a bound on the parser's and the evaluator's recursion. */
const MAX_EXPRESSION_TOKENS = 1000;

export function parseComparison(src: string): Comparison {
  const tokens = tokenize(src);
  if (tokens.length > MAX_EXPRESSION_TOKENS) {
    throw new ExprError(`an expression of ${tokens.length} tokens; at most ${MAX_EXPRESSION_TOKENS} are accepted`, tokens[MAX_EXPRESSION_TOKENS]!.at + 1);
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (msg: string): never => {
    throw new ExprError(msg, (peek()?.at ?? src.length) + 1);
  };
  const isOp = (v: string) => peek()?.t === 'op' && peek()!.v === v;

  const primary = (): Expr => {
    const tok = peek();
    if (!tok) return fail('expression ends too early');
    if (tok.t === 'num') {
      pos++;
      return { kind: 'num', value: tok.v };
    }
    if (tok.t === 'ref') {
      pos++;
      if (isOp('(')) {
        if (!(tok.v in FUNCTIONS)) fail(`unknown function "${tok.v}" (functions: ${Object.keys(FUNCTIONS).join(', ')})`);
        pos++;
        const args = [sum()];
        while (isOp(',')) {
          pos++;
          args.push(sum());
        }
        if (!isOp(')')) fail('missing ")"');
        pos++;
        const fn = tok.v as FunctionName;
        const [lo, hi] = FUNCTIONS[fn].arity;
        if (args.length < lo || args.length > hi) fail(`${fn}() takes ${lo === hi ? lo : `at least ${lo}`} argument(s), got ${args.length}`);
        return { kind: 'call', fn, args };
      }
      return { kind: 'ref', name: tok.v };
    }
    if (tok.v === '(') {
      pos++;
      const e = sum();
      if (!isOp(')')) fail('missing ")"');
      pos++;
      return e;
    }
    if (tok.v === '-') {
      pos++;
      return { kind: 'neg', arg: primary() };
    }
    return fail(`unexpected ${JSON.stringify(tok.v)}`);
  };
  const product = (): Expr => {
    let e = primary();
    while (isOp('*') || isOp('/')) {
      const op = tokens[pos++]!.v as '*' | '/';
      e = { kind: 'bin', op, left: e, right: primary() };
    }
    return e;
  };
  const sum = (): Expr => {
    let e = product();
    while (isOp('+') || isOp('-')) {
      const op = tokens[pos++]!.v as '+' | '-';
      e = { kind: 'bin', op, left: e, right: product() };
    }
    return e;
  };

  const left = sum();
  const opTok = peek();
  if (!opTok || opTok.t !== 'op' || !['>=', '<=', '==', '!=', '>', '<'].includes(opTok.v)) {
    return fail('expected a comparison (>=, <=, ==, !=, >, <)');
  }
  pos++;
  const right = sum();
  let tolerance: Comparison['tolerance'];
  if (isOp('+-')) {
    pos++;
    const n = peek();
    if (n?.t !== 'num') fail('expected a number after +-');
    pos++;
    const percent = isOp('%');
    if (percent) pos++;
    tolerance = { value: (n as { v: number }).v, percent };
    if (opTok.v !== '==') fail('a tolerance (+-) goes with ==');
  }
  if (pos < tokens.length) fail(`unexpected ${JSON.stringify(tokens[pos]!.v)} after the comparison`);
  return { left, op: opTok.v as CompareOp, right, tolerance, source: src };
}

/** An arithmetic expression on its own (a scenario's vars), parsed by the same grammar. */
export function parseArithmetic(src: string): Expr {
  return parseComparison(`${src} == 0`).left;
}

/** Every metric and variable a comparison names, left side first. */
export function comparisonRefs(c: Comparison): string[] {
  return [...references(c.left), ...references(c.right)];
}

export function references(e: Expr): string[] {
  switch (e.kind) {
    case 'num':
      return [];
    case 'ref':
      return [e.name];
    case 'neg':
      return references(e.arg);
    case 'bin':
      return [...references(e.left), ...references(e.right)];
    case 'call':
      return e.args.flatMap(references);
  }
}

export type Lookup = (name: string) => number | undefined;

export class UnknownReferenceError extends Error {
  constructor(readonly ref: string) {
    super(`unknown metric or variable "${ref}"`);
  }
}

export function evaluate(e: Expr, lookup: Lookup): number {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'ref': {
      const v = lookup(e.name);
      if (v === undefined) throw new UnknownReferenceError(e.name);
      return v;
    }
    case 'neg':
      return -evaluate(e.arg, lookup);
    case 'bin': {
      const l = evaluate(e.left, lookup);
      const r = evaluate(e.right, lookup);
      return e.op === '+' ? l + r : e.op === '-' ? l - r : e.op === '*' ? l * r : l / r;
    }
    case 'call':
      return FUNCTIONS[e.fn].fn(e.args.map((a) => evaluate(a, lookup)));
  }
}

export function compare(l: number, op: CompareOp, r: number, tolerance?: Comparison['tolerance']): boolean {
  if (tolerance) return Math.abs(l - r) <= (tolerance.percent ? (Math.abs(r) * tolerance.value) / 100 : tolerance.value);
  switch (op) {
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
  }
}

/** ">= 6.9", "< 6.12.5": a condition on the guest's kernel release. */
export const KERNEL_CONDITION = /^(>=|<=|==|!=|>|<)\s*(\d+\.\d+(?:\.\d+)?)$/;

/** Does `release` satisfy a condition such as ">= 6.9" (or "kernel >= 6.9")? */
export function kernelMatches(condition: string, release: string): boolean {
  const m = KERNEL_CONDITION.exec(condition.replace(/^kernel\s*/, '').trim());
  return m ? compare(compareVersions(release, m[2]!), m[1] as CompareOp, 0) : false;
}
