/** `lab report RUN...`: verdicts, metrics with a noise model, call sites, probe maps and configs across kernels; a baseline gate. */
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { ExitCode } from '../../core/errors.ts';
import { repoRoot, runId } from '../../core/paths.ts';
import { MetricRegistry } from '../../metrics/registry.ts';
import { loadHooks } from '../../observe/hooks.ts';
import { makeReport } from '../../report/make-report.ts';
import { headline } from '../../report/report-markdown.ts';
import { configFrom, oneOf, positiveInt } from '../options.ts';

type ReportFlags = { out?: string; baseline?: string; threshold: number; tolerance: number; groupBy: 'kernel' | 'run' };

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('one report over any number of runs: verdict grid, metrics flagged beyond the noise, call sites, probe maps, kernel configs; writes report.md and report.html')
    .argument('<runs...>', 'results folders, result.json files, or folders of results folders')
    .option('--out <dir>', 'where report.md and report.html go (default: a new folder under the results folder)')
    .option('--baseline <dir|file>', 'gate against these runs: exit 1 on a verdict that left PASS or a metric that left their spread')
    .addOption(new Option('--threshold <percent>', 'median move beyond which a metric can be flagged').default(10).argParser(positiveInt('--threshold')))
    .addOption(new Option('--tolerance <percent>', "the gate's slack around the baseline's spread, in percent of its median (at least 1)").default(10).argParser(positiveInt('--tolerance')))
    .addOption(new Option('--group-by <what>', 'one column per kernel (release and flavor) or per run (choices: kernel, run)').default('kernel').argParser(oneOf('--group-by', ['kernel', 'run'] as const)))
    .addHelpText(
      'after',
      `
Exit codes: 0 written (and no regression against --baseline), 1 a regression, 2 bad input (the file is named).`,
    )
    .action(async (runs: string[], o: ReportFlags) => {
      const out = o.out ?? join(configFrom().paths.results, runId('report'));
      const registry = new MetricRegistry(await loadHooks(repoRoot));
      const { report, files } = await makeReport({ runs, out, baseline: o.baseline, thresholdPct: o.threshold, tolerancePct: o.tolerance, groupBy: o.groupBy, registry });
      const lines = headline(report);
      process.stdout.write(
        `${report.columns.map((c) => `${c.label}: ${c.runs.length} run(s)`).join(', ')}; ${report.flagged} metric change(s) flagged\n` +
          lines.map((l) => `  ${l}\n`).join('') +
          (report.gate ? `gate: ${report.gate.regressions.length} regression(s) against ${report.gate.baseline.length} baseline run(s)\n${report.gate.regressions.map((x) => `  ${x.column} ${x.scenario}: ${x.what}\n`).join('')}` : '') +
          `${files.markdown}\n${files.html}\n`,
      );
      process.exitCode = report.gate?.regressions.length ? ExitCode.expectationFailed : ExitCode.ok;
    });
}
