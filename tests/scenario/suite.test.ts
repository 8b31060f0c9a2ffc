import { describe, expect, it } from 'vitest';
import { suiteMemoryMb } from '../../lab/scenario/suite.ts';

const needs = (memory_mb?: number) => ({ requires: { hooks: [], vmstat: [], files: [], ...(memory_mb ? { memory_mb } : {}) } });

describe('suiteMemoryMb', () => {
  it('raises the default to the largest requirement of the selected scenarios', () => {
    expect(suiteMemoryMb([needs(), needs(4096), needs(2048)], 1024, false)).toBe(4096);
  });
  it('keeps the default when nothing needs more', () => {
    expect(suiteMemoryMb([needs(), needs(512)], 1024, false)).toBe(1024);
    expect(suiteMemoryMb([], 1024, false)).toBe(1024);
  });
  it('keeps a size the user chose, even a smaller one: the scenario is then skipped with the reason', () => {
    expect(suiteMemoryMb([needs(4096)], 2048, true)).toBe(2048);
  });
});
