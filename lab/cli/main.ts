/**
 * The command line: parses argv and calls the same functions that are the
 * programmatic API (lab/pipeline.ts, lab/host/setup.ts, lab/kernel/*).
 * Exit codes: 0 all expectations passed, 1 an expectation failed, 2 bad
 * usage or input, 3 infrastructure failure (build, boot, SSH), 4 host set-up
 * needed (not root), 130 interrupted.
 */
import { Command, CommanderError, Option } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, InputError, isLabError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { consoleReporter } from '../core/reporter.ts';
import { defaultKernel } from '../host/requirements.ts';
import { doctor } from '../host/doctor.ts';
import { ensurePackages, labPackages } from '../host/setup.ts';
import { buildKernel } from '../kernel/build.ts';
import { runExec } from '../exec.ts';
import { runLab } from '../pipeline.ts';
import { formatBytes, listCache, parseAge, pruneKernels } from '../kernel/cache.ts';
import { labFragments, resolveKernelInput, seriesOf, userFragments, type KernelInput } from '../kernel/inputs.ts';
import { compareRuns, renderComparison } from '../report/compare.ts';
import { renderHtml } from '../report/html.ts';
import type { RunResult } from '../report/result.ts';
import { verdictTable } from '../report/table.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The options that choose and configure a kernel, shared by run and build. */
function kernelOptions(cmd: Command): Command {
  return cmd
    .option('-k, --kernel <version>', 'kernel series (6.12) or exact release (6.6.58)', defaultKernel)
    .option('--kernel-src <path>', 'a local kernel tree (git checkout or extracted) instead of --kernel')
    .option('--kernel-tarball <file>', 'a local linux-*.tar.xz instead of --kernel')
    .option('--config-fragment <file>', 'extra kconfig fragment merged after the lab\'s (repeatable)', collect)
    .option('--kconfig <CONFIG_X=y>', 'extra kconfig option (repeatable)', collect);
}

/** The options that shape the guest, shared by run and exec. */
function guestOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--memory <MiB>', 'guest memory').default(1024).argParser(positiveInt('--memory')))
    .addOption(new Option('--cpus <n>', 'guest CPUs').default(2).argParser(positiveInt('--cpus')))
    .option('--append <word>', 'extra kernel command line word, after the lab\'s (repeatable)', collect);
}

type KernelFlags = { kernel: string; kernelSrc?: string; kernelTarball?: string; configFragment?: string[]; kconfig?: string[] };
const kernelInput = (o: KernelFlags): KernelInput => ({
  kernel: o.kernel,
  kernelSrc: o.kernelSrc,
  kernelTarball: o.kernelTarball,
  configFragments: o.configFragment,
  kconfig: o.kconfig,
});

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

  guestOptions(kernelOptions(cmd.command('run', { isDefault: true })))
    .description('build (or reuse) a kernel and an image, boot it, run scenarios, judge them')
    .option('-s, --scenario <name>', 'scenario from scenarios/, a glob of names, or a file (repeatable; default: all)', collect)
    .option('--isolate', 'boot a fresh guest for every scenario (default: one guest per kernel)')
    .option('-q, --quiet', 'no progress lines, only the verdict table')
    .action(async (o: KernelFlags & { scenario?: string[]; isolate?: boolean; append?: string[]; memory: number; cpus: number; quiet?: boolean }) => {
      const reporter = consoleReporter({ quiet: o.quiet });
      const signal = interruptSignal();
      const { result, resultsDir } = await runLab({
        ...kernelInput(o),
        scenarios: o.scenario ?? [],
        isolate: o.isolate,
        append: o.append,
        reporter,
        signal,
        memoryMb: o.memory,
        cpus: o.cpus,
      });
      process.stdout.write(`\n${verdictTable(result)}\n\n`);
      for (const s of result.scenarios) {
        const notPassed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail' || e.verdict === 'error');
        for (const e of notPassed) process.stdout.write(`${s.name}: ${e.message}\n`);
        if (s.error) process.stdout.write(`${s.name}: ${s.error.code}: ${s.error.message}\n`);
        if (s.skipReason) process.stdout.write(`${s.name}: skipped: ${s.skipReason}\n`);
      }
      if (result.error) process.stdout.write(`error in stage ${result.error.stage}: ${result.error.code}: ${result.error.message}\n`);
      process.stdout.write(`${result.status}: ${result.kernel?.release ?? o.kernel}, results in ${resultsDir}\n`);
      process.exitCode = result.status === 'PASS' ? ExitCode.ok : result.status === 'FAIL' ? ExitCode.expectationFailed : ExitCode.infrastructure;
      if (signal.aborted) process.exitCode = ExitCode.interrupted;
    });

  guestOptions(kernelOptions(cmd.command('exec')))
    .description('boot the lab kernel and image, run one command in the guest, exit with its status (255: the guest died)')
    .argument('<command...>', 'after --: one shell command line, or a program and its arguments')
    .option('-q, --quiet', 'no progress lines')
    .action(async (command: string[], o: KernelFlags & { memory: number; cpus: number; append?: string[]; quiet?: boolean }) => {
      const { exitCode } = await runExec({
        ...kernelInput(o),
        command,
        reporter: consoleReporter({ quiet: o.quiet }),
        signal: interruptSignal(),
        memoryMb: o.memory,
        cpus: o.cpus,
        append: o.append,
      });
      process.exitCode = exitCode;
    });

  cmd
    .command('setup')
    .description('install the Debian packages the lab needs (as root), or print the command to run')
    .action(async () => {
      const r = await ensurePackages(labPackages(), consoleReporter());
      process.stdout.write(r.installed.length ? `installed: ${r.installed.join(' ')}\n` : `nothing to install: all ${r.alreadyPresent.length} packages present\n`);
    });

  cmd
    .command('doctor')
    .description('check this host for what the lab needs (reads only)')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { json?: boolean }) => {
      const checks = await doctor(resolvePaths().cache);
      if (o.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else for (const c of checks) process.stdout.write(`${c.level.padEnd(4)}  ${c.name.padEnd(15)} ${c.detail}\n`);
      process.exitCode = checks.some((c) => c.level === 'fail') ? ExitCode.setupNeeded : ExitCode.ok;
    });

  kernelOptions(cmd.command('build'))
    .description('build (or reuse) a kernel and print its artifacts and cache key')
    .option('--json', 'print JSON for scripts')
    .action(async (o: KernelFlags & { json?: boolean }) => {
      const paths = resolvePaths();
      const reporter = consoleReporter({ quiet: o.json });
      const input = kernelInput(o);
      const extra = await userFragments(input);
      const signal = interruptSignal();
      const { source } = await resolveKernelInput(input, { cacheDir: paths.cache, reporter, installPackages: true, signal });
      await ensurePackages(labPackages(), reporter);
      const logDir = join(paths.cache, 'logs');
      await mkdir(logDir, { recursive: true });
      const { build, cacheHit } = await buildKernel(source, {
        cacheDir: paths.cache,
        fragments: [...(await labFragments(paths.repo, seriesOf(source.version))), ...extra],
        reporter,
        log: join(logDir, `build-${source.version}-${Date.now()}.log`),
        signal,
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ ...build, cacheHit }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${build.release} (${cacheHit ? 'cache hit' : 'built'})\nkey:     ${build.key}\nbzImage: ${build.bzImage}\nbuild:   ${build.buildDir}\nreproducer:\n${build.reproducer.map((l) => `  ${l}`).join('\n')}\n`,
        );
      }
    });

  cmd
    .command('compare')
    .description('compare two runs (results folders or result.json files): verdict changes and metrics that moved')
    .argument('<base>', 'the baseline run')
    .argument('<new>', 'the run to judge against it')
    .option('--json', 'print JSON for scripts')
    .option('--all', 'list every metric, not only those that moved')
    .option('--html <file>', 'also write the report as one HTML page with charts')
    .addOption(new Option('--threshold <percent>', 'relative change that counts as moved').default(10).argParser(positiveInt('--threshold')))
    .action(async (base: string, next: string, o: { json?: boolean; all?: boolean; html?: string; threshold: number }) => {
      const c = compareRuns(await readRun(base), await readRun(next), o.threshold);
      if (o.html) await writeFile(o.html, renderHtml(c));
      process.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : renderComparison(c, { all: o.all }));
      // the baseline gate: a scenario that passed and no longer does fails the comparison
      process.exitCode = c.regressions ? ExitCode.expectationFailed : ExitCode.ok;
    });

  const cache = cmd.command('cache').description('show or prune the lab cache (LAB_CACHE_DIR)');
  cache
    .command('ls')
    .description('list cache entries with size and age')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { json?: boolean }) => {
      const entries = await listCache(resolvePaths().cache);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      const now = Date.now();
      for (const e of entries) {
        const age = formatAge(now - Date.parse(e.createdAt));
        process.stdout.write(`${e.kind.padEnd(8)} ${formatBytes(e.bytes).padStart(9)} ${age.padStart(6)}  ${e.name}${e.detail ? `  ${e.detail}` : ''}\n`);
      }
      process.stdout.write(`${entries.length} entries, ${formatBytes(entries.reduce((a, e) => a + e.bytes, 0))} in ${resolvePaths().cache}\n`);
    });
  cache
    .command('prune')
    .description('remove kernel builds: all but the newest N, and/or those older than an age (7d, 12h)')
    .addOption(new Option('--keep <n>', 'kernel builds to keep').argParser(wholeNumber('--keep')))
    .option('--older-than <age>', 'remove builds older than this (e.g. 7d, 12h, 30m)')
    .action(async (o: { keep?: number; olderThan?: string }) => {
      const removed = await pruneKernels(resolvePaths().cache, { keep: o.keep, olderThanMs: o.olderThan ? parseAge(o.olderThan) : undefined });
      for (const e of removed) process.stdout.write(`removed ${e.name} (${formatBytes(e.bytes)})\n`);
      process.stdout.write(`${removed.length} kernel build(s) removed\n`);
    });
  return cmd;
}

async function readRun(path: string): Promise<RunResult> {
  const file = path.endsWith('.json') ? path : join(path, 'result.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InputError('FILE_NOT_FOUND', `${path}: no result.json there; expected a results folder or a result.json`, { value: path });
  });
  try {
    const r = JSON.parse(text) as RunResult;
    if (!Array.isArray(r.scenarios)) throw new Error('no scenarios');
    return r;
  } catch (e) {
    throw new InputError('BAD_RESULT_FILE', `${file}: not a lab result (${(e as Error).message})`, { value: file });
  }
}

function formatAge(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m}m` : m < 2880 ? `${Math.round(m / 60)}h` : `${Math.round(m / 1440)}d`;
}

function wholeNumber(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InputError('BAD_OPTION', `${flag} ${JSON.stringify(v)}: expected a whole number`);
    return n;
  };
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
