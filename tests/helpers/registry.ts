import { repoRoot } from '../../lab/core/paths.ts';
import { compileExpectation, compileVar, type CompiledExpectation, type CompiledVar } from '../../lab/judge/judge.ts';
import { MetricRegistry } from '../../lab/metrics/registry.ts';
import { loadHooks } from '../../lab/observe/hooks.ts';

/** The lab's own hooks and metric registry, as a run builds them. */
export const hooks = await loadHooks(repoRoot);
export const registry = new MetricRegistry(hooks);

/** Expectations and vars in the form a compiled scenario holds them. */
export function spec(vars: Record<string, string>, ...expect: string[]): { vars: CompiledVar[]; expect: CompiledExpectation[] } {
  return { vars: Object.entries(vars).map(([n, s]) => compileVar(n, s)), expect: expect.map((e) => compileExpectation(e)) };
}
