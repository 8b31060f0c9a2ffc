/**
 * The command line: parses argv and calls the same functions that are the
 * programmatic API (lab/pipeline.ts, lab/host/setup.ts, lab/kernel/*).
 * Exit codes: 0 all expectations passed, 1 an expectation failed, 2 bad
 * usage or input, 3 infrastructure failure (build, boot, SSH), 4 host set-up
 * needed (not root), 130 interrupted.
 */
import { Command, CommanderError, Option } from 'commander';
import { join } from 'node:path';
import { ExitCode, InputError, isLabError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { consoleReporter } from '../core/reporter.ts';
import { defaultKernel } from '../host/requirements.ts';
import { ensurePackages, labPackages } from '../host/setup.ts';
import { buildKernel } from '../kernel/build.ts';
import { resolveSource } from '../kernel/source.ts';
import { parseKernelSpec } from '../kernel/spec.ts';
import { DEFAULT_SCENARIOS, labFragments, runLab } from '../pipeline.ts';
import { verdictTable } from '../report/table.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  let count = 0;
  process.on('SIGINT', () => {
    count++;
    if (count === 1) {
      process.stderr.write('\ninterrupted: stopping the guest and writing results (Ctrl-C again to quit at once)\n');
      controller.abort();
    } else process.exit(ExitCode.interrupted);
  });
  process.on('SIGTERM', () => controller.abort());
  return controller.signal;
}

function program(): Command {
  const cmd = new Command('lab')
    .description('page-owner-lab: build, boot and trace Linux kernels, and judge how they allocate pages')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or input, 3 infrastructure
failure (build, boot, SSH), 4 host set-up needed, 130 interrupted.
Environment: LAB_CACHE_DIR (default ~/.cache/page-owner-lab), LAB_RESULTS_DIR
(default ./results), LAB_IMAGE_MIRROR (mmdebstrap mirror), LAB_ACCEL=tcg.`,
    );

  cmd
    .command('run', { isDefault: true })
    .description('build (or reuse) a kernel and an image, boot it, run scenarios, judge them')
    .option('-k, --kernel <version>', 'kernel series (6.12) or exact release (6.12.117)', defaultKernel)
    .option('-s, --scenario <name>', 'scenario from scenarios/ (repeatable)', collect)
    .addOption(new Option('--memory <MiB>', 'guest memory').default(1024).argParser(positiveInt('--memory')))
    .addOption(new Option('--cpus <n>', 'guest CPUs').default(2).argParser(positiveInt('--cpus')))
    .option('-q, --quiet', 'no progress lines, only the verdict table')
    .action(async (o: { kernel: string; scenario?: string[]; memory: number; cpus: number; quiet?: boolean }) => {
      const reporter = consoleReporter({ quiet: o.quiet });
      const { result, resultsDir } = await runLab({
        kernel: o.kernel,
        scenarios: o.scenario ?? DEFAULT_SCENARIOS,
        reporter,
        signal: interruptSignal(),
        memoryMb: o.memory,
        cpus: o.cpus,
      });
      process.stdout.write(`\n${verdictTable(result)}\n\n`);
      for (const s of result.scenarios) {
        for (const e of s.judgement?.expectations ?? []) if (e.verdict !== 'pass') process.stdout.write(`${s.name}: ${e.message}\n`);
      }
      if (result.error) process.stdout.write(`error in stage ${result.error.stage}: ${result.error.code}: ${result.error.message}\n`);
      process.stdout.write(`${result.status}: ${result.kernel?.release ?? o.kernel}, results in ${resultsDir}\n`);
      process.exitCode = result.status === 'PASS' ? ExitCode.ok : result.status === 'FAIL' ? ExitCode.expectationFailed : ExitCode.infrastructure;
      if (result.error?.code === 'INTERRUPTED') process.exitCode = ExitCode.interrupted;
    });

  cmd
    .command('setup')
    .description('install the Debian packages the lab needs (as root), or print the command to run')
    .action(async () => {
      const r = await ensurePackages(labPackages(), consoleReporter());
      process.stdout.write(r.installed.length ? `installed: ${r.installed.join(' ')}\n` : `nothing to install: all ${r.alreadyPresent.length} packages present\n`);
    });

  cmd
    .command('build')
    .description('build (or reuse) a kernel and print its artifacts and cache key')
    .option('-k, --kernel <version>', 'kernel series or exact release', defaultKernel)
    .option('--json', 'print JSON for scripts')
    .action(async (o: { kernel: string; json?: boolean }) => {
      const paths = resolvePaths();
      const reporter = consoleReporter({ quiet: o.json });
      const spec = parseKernelSpec(o.kernel);
      await ensurePackages(labPackages(), reporter);
      const source = await resolveSource(spec, { cacheDir: paths.cache, reporter, installPackages: true });
      const logDir = join(paths.cache, 'logs');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(logDir, { recursive: true });
      const { build, cacheHit } = await buildKernel(source, {
        cacheDir: paths.cache,
        fragments: await labFragments(paths.repo, spec.series),
        reporter,
        log: join(logDir, `build-${source.version}-${Date.now()}.log`),
        signal: interruptSignal(),
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ ...build, cacheHit }, null, 2)}\n`);
      else process.stdout.write(`${build.release} (${cacheHit ? 'cache hit' : 'built'})\nkey:     ${build.key}\nbzImage: ${build.bzImage}\nbuild:   ${build.buildDir}\n`);
    });
  return cmd;
}

function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InputError('BAD_OPTION', `${flag} ${JSON.stringify(v)}: expected a positive whole number`);
    return n;
  };
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : ExitCode.badInput;
      return;
    }
    if (isLabError(e)) {
      process.stderr.write(`lab: ${e.message}\n`);
      if (e.context.results) process.stderr.write(`lab: logs in ${e.context.results}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`lab: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = ExitCode.infrastructure;
  }
}

await main(process.argv);
