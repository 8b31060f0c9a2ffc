/**
 * The CI job matrix: one cell per kernel, flavor and shard of the scenario
 * list. Fan-out is the CI engine's job; the lab only makes every cell an
 * independent unit of work (what to run, and where its results go) and
 * prints the cells in the engine's own form.
 */
import { stringify } from 'yaml';
import { didYouMean, InputError } from '../core/errors.ts';
import { listFlavors } from '../kernel/inputs.ts';
import { formatSpec, parseKernelSpec } from '../kernel/spec.ts';
import { listScenarios } from '../scenario/load.ts';
import { globPattern } from '../scenario/suite.ts';

interface MatrixInput {
  kernels: string[];
  /** Names or globs of scenarios/; empty: the default suite. */
  scenarios: string[];
  shards: number;
  flavors: string[];
}

/** One CI job: what it runs and the results folder (under LAB_RESULTS_DIR's root) it writes to. */
export interface MatrixCell {
  /** Unique and usable in artifact and job names: 6.12-lab-1of2. */
  name: string;
  kernel: string;
  flavor: string;
  /** Comma-separated, as CI variables are strings. */
  scenarios: string;
  /** i/N, 1-based. */
  shard: string;
  /** <kernel>-<flavor>/shard-<i>of<N>: every shard of a kernel build shares the first part, which lab merge groups by. */
  results: string;
}

export const MATRIX_FORMATS = ['github', 'gitlab', 'json'] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

/** Names or globs against the scenarios there are; each must match one. Sorted, so the split does not depend on the order given. */
function selectNamed(all: string[], selection: string[]): string[] {
  if (selection.length === 0) return all;
  const out: string[] = [];
  for (const sel of selection) {
    const matched = all.filter((n) => globPattern(sel).test(n));
    if (matched.length === 0) {
      const hint = didYouMean(sel, all);
      throw new InputError(
        'UNKNOWN_SCENARIO',
        `--scenarios ${JSON.stringify(sel)}: no such scenario${hint ? `; did you mean "${hint}"?` : ''} (available: ${all.join(', ')})`,
        { value: sel },
      );
    }
    out.push(...matched);
  }
  return [...new Set(out)].sort();
}

/**
 * Round-robin over the sorted selection: shard i of N gets every N-th
 * scenario from the i-th on, the same split on every machine. Never more
 * shards than scenarios (an empty shard would mean "the whole suite" to lab run).
 */
export function shard<T>(items: T[], shards: number): T[][] {
  const n = Math.min(shards, items.length);
  return Array.from({ length: n }, (_, i) => items.filter((_, j) => j % n === i));
}

export async function matrixCells(input: MatrixInput, dirs: { scenarios: string; repo: string }): Promise<MatrixCell[]> {
  if (!Number.isInteger(input.shards) || input.shards < 1) {
    throw new InputError('BAD_OPTION', `--shards ${JSON.stringify(String(input.shards))}: expected a positive whole number`, { value: input.shards });
  }
  if (input.kernels.length === 0) throw new InputError('BAD_OPTION', '--kernels: no kernel given; expected a list like 6.1,6.6,6.12');
  const kernels = input.kernels.map((k) => {
    try {
      return formatSpec(parseKernelSpec(k));
    } catch {
      throw new InputError('BAD_KERNEL_SPEC', `--kernels ${JSON.stringify(k)}: not a kernel version; accepted: a series like 6.12, an exact release like 6.6.58, lts or newest`, { value: k });
    }
  });
  const flavors = await listFlavors(dirs.repo);
  for (const f of input.flavors) {
    if (!flavors.includes(f)) {
      throw new InputError('UNKNOWN_FLAVOR', `--flavor ${JSON.stringify(f)}: no kernels/flavors/${f}.config; accepted: ${flavors.join(', ')}`, { value: f });
    }
  }
  const parts = shard(selectNamed(await listScenarios(dirs.scenarios), input.scenarios), input.shards);
  const cells: MatrixCell[] = [];
  for (const kernel of [...new Set(kernels)]) {
    for (const flavor of [...new Set(input.flavors)]) {
      parts.forEach((scenarios, i) => {
        const of = `${i + 1}of${parts.length}`;
        cells.push({ name: `${kernel}-${flavor}-${of}`, kernel, flavor, scenarios: scenarios.join(','), shard: `${i + 1}/${parts.length}`, results: `${kernel}-${flavor}/shard-${of}` });
      });
    }
  }
  return cells;
}

/** CI variables a GitLab job reads (.ci/cell.mjs reads the same names on GitHub, where the workflow sets them). */
const cellVariables = (c: MatrixCell): Record<string, string> => ({
  CELL_NAME: c.name,
  CELL_KERNEL: c.kernel,
  CELL_FLAVOR: c.flavor,
  CELL_SCENARIOS: c.scenarios,
  CELL_SHARD: c.shard,
  CELL_RESULTS: c.results,
});

/**
 * github: one line of JSON for strategy.matrix (`{"include": [...]}`), ready for $GITHUB_OUTPUT;
 * gitlab: a `parallel:matrix` block (one entry per cell, every value a string);
 * json: the cells.
 */
export function renderMatrix(cells: MatrixCell[], format: MatrixFormat): string {
  if (format === 'github') return `${JSON.stringify({ include: cells })}\n`;
  if (format === 'gitlab') return stringify({ parallel: { matrix: cells.map(cellVariables) } });
  return `${JSON.stringify(cells, null, 2)}\n`;
}
