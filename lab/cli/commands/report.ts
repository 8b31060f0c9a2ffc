/** `lab report RUN...`: verdicts, metrics with a noise model, call sites, probe maps and configs across kernels; a baseline gate. */
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { ExitCode, type Gate, headline, InputError, loadHooks, makeReport, MetricRegistry, repoRoot, runId, writeBugReport } from '../../api.ts';
import { commaList, configFrom, oneOf, positiveInt } from '../options.ts';

type ReportFlags = { bug?: boolean; scenario?: string; out?: string; baseline?: string; threshold: number; tolerance: number; groupBy: 'kernel' | 'run'; noiseProfile: string; expectScenarios?: string[] };

/** The profile shipped with the lab: how each metric family moves from run to run, measured on real kernels. */
export const DEFAULT_NOISE_PROFILE = join(repoRoot, 'kernels', 'noise.yaml');

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('one report over any number of runs: verdict grid, metrics flagged beyond the noise, call sites, probe maps, kernel configs; writes report.md and report.html')
    .argument('<runs...>', 'results folders, result.json files, or folders of results folders')
    .option('--bug', "one run: bug-report.txt (a kernel-list mail: subject, kernel, bisection, the splat, the config fragment) and bug-reproducer.sh (QEMU, the bzImage and the lab's image only) in its folder")
    .option('--scenario <name>', 'with --bug: the scenario to report (default: the first that failed or took the kernel down)')
    .option('--out <dir>', 'where report.md and report.html go (default: a new folder under the results folder)')
    .option('--baseline <dir|file>', 'gate against these runs (a folder of results folders: several nights): exit 1 on a verdict that left PASS or a metric that left the noise, exit 3 when a scenario of theirs is missing or an ERROR is the lab\'s own')
    .addOption(
      new Option('--noise-profile <file|none>', 'how far each metric family moves from run to run: judges a single sample (one-night baseline, one run per kernel)').default(
        DEFAULT_NOISE_PROFILE,
        'kernels/noise.yaml of the lab',
      ),
    )
    .option('--expect-scenarios <list>', 'comma-separated scenarios every kernel must have (the nightly matrix): one missing is exit 3', commaList)
    .addOption(new Option('--threshold <percent>', 'median move beyond which a metric can be flagged').default(10).argParser(positiveInt('--threshold')))
    .addOption(new Option('--tolerance <percent>', "the gate's slack around the baseline's spread, in percent of its median (at least 1)").default(10).argParser(positiveInt('--tolerance')))
    .addOption(new Option('--group-by <what>', 'one column per kernel (release and flavor) or per run (choices: kernel, run)').default('kernel').argParser(oneOf('--group-by', ['kernel', 'run'] as const)))
    .addHelpText(
      'after',
      `
A metric is gated by the baseline's own spread from 3 samples on (its [min, max] widened by
--tolerance and a count's 3 sqrt(median)), else by the noise profile; the report says which.

Exit codes: 0 written, and clean against --baseline; 1 a regression (a verdict left PASS, or a
metric left the noise; a kernel error is a result); 2 bad input (the file is named); 3 the
night is incomplete (a scenario of the baseline or of --expect-scenarios is missing) or an
ERROR is infrastructure (a guest lost without a kernel report, SSH, boot): never a baseline.`,
    )
    .action(async (runs: string[], o: ReportFlags) => {
      if (o.bug) return bugReport(runs, o);
      if (o.scenario) throw new InputError('BAD_OPTION', '--scenario goes with --bug', { value: o.scenario });
      const out = o.out ?? join(configFrom().paths.results, runId('report'));
      const registry = new MetricRegistry(await loadHooks(repoRoot));
      const { report, files } = await makeReport({
        runs,
        out,
        baseline: o.baseline,
        thresholdPct: o.threshold,
        tolerancePct: o.tolerance,
        groupBy: o.groupBy,
        registry,
        noiseProfile: o.noiseProfile,
        expectScenarios: o.expectScenarios,
      });
      const lines = headline(report);
      process.stdout.write(
        `${report.columns.map((c) => `${c.label}: ${c.runs.length} run(s)`).join(', ')}; ${report.flagged} metric change(s) flagged\n` +
          lines.map((l) => `  ${l}\n`).join('') +
          (report.gate ? gateLines(report.gate).join('') : '') +
          `${files.markdown}\n${files.html}\n`,
      );
      process.exitCode = gateExitCode(report.gate);
    });
}

function gateLines(g: Gate): string[] {
  const byModel = (m: string) => g.metrics.filter((x) => x.model === m).length;
  return [
    `gate: ${g.regressions.length} regression(s) against ${g.baseline.length} baseline run(s); ${g.metrics.length} metric(s) gated: ${byModel('baseline')} by the baseline's own spread, ${byModel('profile')} by the noise profile\n`,
    ...g.regressions.map((x) => `  ${x.column} ${x.scenario}: ${x.what}\n`),
    ...(g.missing.length ? [`incomplete: ${g.missing.length} scenario(s) missing\n`, ...g.missing.map((m) => `  ${m.column} ${m.scenario}: missing\n`)] : []),
    ...(g.infrastructure.length ? [`infrastructure: ${g.infrastructure.length} ERROR(s) of the lab's own, not verdicts\n`, ...g.infrastructure.map((m) => `  ${m.column} ${m.scenario}: ${m.what}\n`)] : []),
  ];
}

/** 3 incomplete or infrastructure (such a night is never a baseline), 1 a regression, 0 clean. */
export function gateExitCode(g: Gate | undefined): ExitCode {
  if (!g) return ExitCode.ok;
  if (g.missing.length || g.infrastructure.length) return ExitCode.infrastructure;
  return g.regressions.length ? ExitCode.expectationFailed : ExitCode.ok;
}

/** `lab report --bug RUN`: the bug report and its reproducer, written into the run's folder. */
async function bugReport(runs: string[], o: ReportFlags): Promise<void> {
  if (runs.length !== 1) throw new InputError('BAD_OPTION', `--bug takes one run (results folder or result.json), got ${runs.length}`, { value: runs.join(' ') });
  const files = await writeBugReport(runs[0]!, { config: configFrom(), scenario: o.scenario });
  process.stdout.write(`${files.scenario}: ${files.title}\n${files.report}\n${files.reproducer}\n`);
}
