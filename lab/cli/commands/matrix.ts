/** `lab matrix`: the CI job matrix (kernels x flavors x shards of the scenario list) in the CI engine's form. */
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { consoleReporter, DEFAULT_FLAVOR, expandKernelList, MATRIX_FORMATS, matrixCells, type MatrixFormat, renderMatrix, repoRoot } from '../../api.ts';
import { commaList, configFrom, oneOf, positiveInt } from '../options.ts';


export function matrixCommand(program: Command): void {
  program
    .command('matrix')
    .description('print the CI job matrix: one cell per kernel, flavor and shard of the scenarios (kernel, flavor, scenarios, shard i/N, results folder)')
    .requiredOption('--kernels <list>', 'kernel series or releases, comma-separated (6.1,6.6,6.12); lts: every LTS series, newest: the newest series the sources offer (the nightly: lts,newest)', commaList)
    .addOption(new Option('--scenarios <list>', 'scenario names or globs, comma-separated').default([], 'the whole suite').argParser(commaList))
    .addOption(new Option('--shards <n>', 'split each kernel\'s scenarios into n jobs, round-robin (at most one per scenario)').default(1).argParser(positiveInt('--shards')))
    .addOption(new Option('--flavor <list>', 'kernel flavors, comma-separated (kernels/flavors/<name>.config)').default([DEFAULT_FLAVOR], DEFAULT_FLAVOR).argParser(commaList))
    .addOption(new Option('--format <format>', 'github: a strategy.matrix include list (one JSON line); gitlab: a parallel:matrix block; json: the cells (choices: github, gitlab, json)').default('json').argParser(oneOf('--format', MATRIX_FORMATS)))
    .action(async (o: { kernels: string[]; scenarios: string[]; shards: number; flavor: string[]; format: MatrixFormat }) => {
      const kernels = await expandKernelList(o.kernels, configFrom(), consoleReporter({ quiet: true }));
      const cells = await matrixCells({ kernels, scenarios: o.scenarios, shards: o.shards, flavors: o.flavor }, { scenarios: join(repoRoot, 'scenarios'), repo: repoRoot });
      process.stdout.write(renderMatrix(cells, o.format));
    });
}
