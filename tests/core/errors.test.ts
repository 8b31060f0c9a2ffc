import { describe, expect, it } from 'vitest';
import { INFRA_ERROR_CODES, INPUT_ERROR_CODES } from '../../lab/core/errors.ts';

describe('error codes', () => {
  it('belong to exactly one class: bad input (exit 2) or infrastructure (exit 3)', () => {
    const input = new Set<string>(INPUT_ERROR_CODES);
    expect(INFRA_ERROR_CODES.filter((c) => input.has(c))).toEqual([]);
    expect(new Set(INPUT_ERROR_CODES).size).toBe(INPUT_ERROR_CODES.length);
    expect(new Set(INFRA_ERROR_CODES).size).toBe(INFRA_ERROR_CODES.length);
  });
});
