/** `lab noise-profile RUN...`: measure how far each metric family moves from run to run, and write the profile lab report judges single samples by. */
import { Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { loadHooks, measureProfile, MetricRegistry, readAll, renderProfile, repoRoot } from '../../api.ts';
import { DEFAULT_NOISE_PROFILE } from './report.ts';

export function noiseProfileCommand(program: Command): void {
  program
    .command('noise-profile')
    .description("measure each metric family's run-to-run noise per kernel series from repeated runs (3+ samples of a scenario on one kernel: --repeat, or several nights), and write the profile lab report uses")
    .argument('<runs...>', 'results folders, result.json files, or folders of results folders')
    .addOption(new Option('--out <file>', 'where the profile goes').default(DEFAULT_NOISE_PROFILE, 'kernels/noise.yaml of the lab'))
    .action(async (runs: string[], o: { out: string }) => {
      const registry = new MetricRegistry(await loadHooks(repoRoot));
      const inputs = await readAll(runs);
      const command = `npm run lab -- noise-profile ${runs.map((r) => relative(repoRoot, r) || '.').join(' ')}`;
      const profile = measureProfile(inputs, registry, command);
      await writeFile(o.out, renderProfile(profile));
      const families = Object.entries(profile.families);
      process.stdout.write(
        `${families.length} metric families from ${profile.measured.runs.length} run(s) -> ${o.out}\n` +
          families.map(([f, b]) => `  ${f.padEnd(32)} rel ${(b.all.rel * 100).toFixed(1).padStart(5)} %  abs ${String(b.all.abs).padStart(6)}  (${b.all.spreads} spreads)\n`).join(''),
      );
    });
}
