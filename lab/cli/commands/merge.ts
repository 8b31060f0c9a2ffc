/** `lab merge DIR...`: shards of one kernel build (CI jobs) combined into one run for reporting. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { consoleReporter, copyScenarioFolders, defaultWriters, mergeRuns, readRunResult, runId, writeResults } from '../../api.ts';
import { configFrom } from '../options.ts';

export function mergeCommand(program: Command): void {
  program
    .command('merge')
    .description('combine results folders of one kernel build (CI shards) into one run: result.json, junit.xml, kcidb.json, summary.md')
    .argument('<dirs...>', 'results folders or result.json files of the same kernel build')
    .option('--out <dir>', 'where the merged run goes (default: a new folder under the results directory, printed)')
    .action(async (dirs: string[], o: { out?: string }) => {
      const shards = [];
      for (const path of dirs) shards.push({ path, run: await readRunResult(path) });
      const first = shards[0]!.run;
      const id = runId(`${first.kernelSpec}-${first.flavor}-merged`);
      const out = resolve(o.out ?? join(configFrom().paths.results, id));
      const merged = mergeRuns(shards, id, out);
      await mkdir(out, { recursive: true });
      await copyScenarioFolders(shards, out);
      await writeResults(defaultWriters, 'onEnd', merged, out, consoleReporter());
      process.stdout.write(`${merged.status}: ${merged.kernel?.release ?? merged.kernelSpec} (${merged.flavor}), ${shards.length} runs, ${merged.scenarios.length} scenarios merged into ${out}\n`);
    });
}
