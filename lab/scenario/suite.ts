/** Which scenarios a run gets: the whole default suite, names, globs of names, or files; compiled before any boot. */
import { InputError } from '../core/errors.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { listScenarios, loadScenario, type Scenario } from './load.ts';

/** A glob of scenario names (*, ?) as a regular expression; a plain name matches only itself. */
export const globPattern = (glob: string) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** No selection: the whole default suite (every scenario in scenarios/). Globs (*, ?) match scenario names. */
async function selectScenarios(dir: string, selection: string[]): Promise<string[]> {
  const all = await listScenarios(dir);
  if (selection.length === 0) return all;
  const out: string[] = [];
  for (const sel of selection) {
    if (!/[*?]/.test(sel)) {
      out.push(sel);
      continue;
    }
    const matched = all.filter((n) => globPattern(sel).test(n));
    if (matched.length === 0) {
      throw new InputError('UNKNOWN_SCENARIO', `--scenario ${JSON.stringify(sel)}: matches no scenario (available: ${all.join(', ')})`, { value: sel });
    }
    out.push(...matched);
  }
  return [...new Set(out)];
}

export async function loadSuite(dir: string, selection: string[], registry: MetricRegistry): Promise<Scenario[]> {
  const out: Scenario[] = [];
  for (const name of await selectScenarios(dir, selection)) out.push(await loadScenario(dir, name, registry));
  return out;
}

/**
 * The guest memory a suite runs with: the configured size when the user chose one
 * (flag, environment or config file), else the default raised to the largest
 * `requires.memory_mb` of the selected scenarios, so a scenario that needs a big
 * guest (gigantic pages) runs instead of being skipped. A size the user chose is
 * kept: a scenario that needs more is skipped with the reason.
 */
export function suiteMemoryMb(scenarios: readonly Pick<Scenario, 'requires'>[], configured: number, chosenByUser: boolean): number {
  if (chosenByUser) return configured;
  return Math.max(configured, ...scenarios.map((s) => s.requires.memory_mb ?? 0));
}
