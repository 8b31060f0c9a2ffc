import { describe, expect, it } from 'vitest';
import { compare, evaluate, ExprError, parseComparison, references, UnknownReferenceError } from '../../lab/expr/expr.ts';

const values: Record<string, number> = { 'module.seen[9]': 32, 'bpf.set[9]': 30, grown: 32, 'vmstat.htlb_buddy_alloc_success.delta': 32 };
const lookup = (n: string) => values[n];
const holds = (src: string) => {
  const c = parseComparison(src);
  return compare(evaluate(c.left, lookup), c.op, evaluate(c.right, lookup), c.tolerance);
};

describe('expectation expressions', () => {
  it('compares metrics, variables and numbers', () => {
    expect(holds('module.seen[9] >= grown')).toBe(true);
    expect(holds('bpf.set[9] >= grown')).toBe(false);
    expect(holds('vmstat.htlb_buddy_alloc_success.delta == grown')).toBe(true);
    expect(holds('bpf.set[9] != grown')).toBe(true);
  });

  it('does arithmetic with precedence and parentheses', () => {
    expect(holds('grown * 2 - 4 == 60')).toBe(true);
    expect(holds('(grown - 2) / 3 == 10')).toBe(true);
    expect(holds('-grown + 64 == 32')).toBe(true);
    expect(holds('bpf.set[9] >= grown * 90 / 100')).toBe(true);
  });

  it('lists the references it uses', () => {
    expect(references(parseComparison('module.seen[9] + bpf.set[9] >= grown * 2').left)).toEqual(['module.seen[9]', 'bpf.set[9]']);
  });

  it('reports syntax errors with a column', () => {
    expect(() => parseComparison('module.seen[9] >=')).toThrow(ExprError);
    expect(() => parseComparison('grown')).toThrow(/expected a comparison/);
    const e = (() => {
      try {
        parseComparison('grown >= 1 1');
      } catch (err) {
        return err as ExprError;
      }
    })();
    expect(e?.column).toBe(12);
    expect(() => parseComparison('grown >= $x')).toThrow(/unexpected character "\$"/);
  });

  it('cannot run code: calls, strings and property tricks are not in the language', () => {
    for (const src of [
      'process.exit(1) == 0',
      'constructor.constructor("return 1")() == 1',
      '"a" == "a"',
      'grown >= 1; require("fs")',
      'x => 1 == 1',
      '`${1}` == 1',
    ]) {
      expect(() => parseComparison(src), src).toThrow(ExprError);
    }
  });

  it('an unknown name is an error at evaluation, not a zero', () => {
    const c = parseComparison('nope >= 1');
    expect(() => evaluate(c.left, lookup)).toThrow(UnknownReferenceError);
  });
});

describe('tolerances and functions', () => {
  it('+- N is absolute, +- N% is relative to the right side', () => {
    expect(holds('bpf.set[9] == grown +- 2')).toBe(true);
    expect(holds('bpf.set[9] == grown +- 1')).toBe(false);
    expect(holds('bpf.set[9] == grown +- 7%')).toBe(true);
    expect(holds('bpf.set[9] == grown +- 6%')).toBe(false);
    expect(() => parseComparison('bpf.set[9] >= grown +- 2')).toThrow(/a tolerance \(\+-\) goes with ==/);
  });

  it('abs, min and max, with arity checked', () => {
    expect(holds('abs(bpf.set[9] - grown) <= 2')).toBe(true);
    expect(holds('max(bpf.set[9], grown, 1) == 32')).toBe(true);
    expect(holds('min(bpf.set[9], grown) == 30')).toBe(true);
    expect(() => parseComparison('abs(1, 2) == 1')).toThrow(/abs\(\) takes 1 argument/);
    expect(() => parseComparison('eval(1) == 1')).toThrow(/unknown function "eval"/);
  });
});

describe('bounds', () => {
  it('an expression of more than 1000 tokens is refused before it is parsed or evaluated (the recursion of both is bounded)', () => {
    const terms = (n: number) => `${Array(n).fill('1').join('+')} == ${n}`;
    // 499 terms, 498 plus signs, ==, the total: 999 tokens
    const ok = parseComparison(terms(499));
    expect(compare(evaluate(ok.left, () => undefined), ok.op, evaluate(ok.right, () => undefined))).toBe(true);
    expect(() => parseComparison(terms(501))).toThrow(ExprError);
    expect(() => parseComparison(`${'('.repeat(3000)}1${')'.repeat(3000)} == 1`)).toThrow(/an expression of 6003 tokens; at most 1000 are accepted/);
  });
});
