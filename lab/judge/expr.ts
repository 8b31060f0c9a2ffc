/**
 * The expectations language: comparisons between metrics, captured variables
 * and numbers, with + - * / and parentheses. A parser of its own: scenario
 * text is never handed to eval or Function, so it can only ever compute.
 *
 *   module.seen[9] >= grown
 *   vmstat.htlb_buddy_alloc_success.delta == pool_after - pool_before
 */
export type CompareOp = '>=' | '<=' | '==' | '!=' | '>' | '<';

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'ref'; name: string }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

export interface Comparison {
  left: Expr;
  op: CompareOp;
  right: Expr;
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
    if (['>=', '<=', '==', '!='].includes(two)) {
      out.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if ('<>+-*/()'.includes(c)) {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    throw new ExprError(`unexpected character ${JSON.stringify(c)}`, i + 1);
  }
  return out;
}

export function parseComparison(src: string): Comparison {
  const tokens = tokenize(src);
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
  if (pos < tokens.length) fail(`unexpected ${JSON.stringify(tokens[pos]!.v)} after the comparison`);
  return { left, op: opTok.v as CompareOp, right, source: src };
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
  }
}

export function compare(l: number, op: CompareOp, r: number): boolean {
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
