/** `lab compare BASE NEW`: kernel against kernel, with a baseline gate. */
import { Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { compareRuns, ExitCode, loadHooks, MetricRegistry, readRunResult, renderComparison, renderHtml, repoRoot } from '../../api.ts';
import { positiveInt } from '../options.ts';

export function compareCommand(program: Command): void {
  program
    .command('compare')
    .description('compare two runs (results folders or result.json files): verdict changes and metrics that moved')
    .argument('<base>', 'the baseline run')
    .argument('<new>', 'the run to judge against it')
    .option('--json', 'print JSON for scripts')
    .option('--all', 'list every metric, not only those that moved')
    .option('--html <file>', 'also write the report as one HTML page with charts')
    .addOption(new Option('--threshold <percent>', 'relative change that counts as moved').default(10).argParser(positiveInt('--threshold')))
    .action(async (base: string, next: string, o: { json?: boolean; all?: boolean; html?: string; threshold: number }) => {
      const registry = new MetricRegistry(await loadHooks(repoRoot));
      const c = compareRuns(await readRunResult(base), await readRunResult(next), registry, o.threshold);
      if (o.html) await writeFile(o.html, renderHtml(c));
      process.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : renderComparison(c, { all: o.all }));
      // the baseline gate: a scenario that passed and no longer does (FAIL, ERROR or SKIP) fails the comparison
      process.exitCode = c.regressions ? ExitCode.expectationFailed : ExitCode.ok;
    });
}
