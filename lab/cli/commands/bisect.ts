/** `lab bisect`: the release, or the commit of a kernel tree, that changed what a scenario sees. */
import type { Command } from 'commander';
import { type BisectInputs, consoleReporter, DEFAULT_FLAVOR, ExitCode, InputError, isRelease, type ProgressReporter, type ReleaseBisectResult, releaseStepTable, revisionExists, runBisect, runReleaseBisect, stepTable } from '../../api.ts';
import { collect, commaList, configFrom, guestOptions, interruptSignal, type GuestFlags } from '../options.ts';

type BisectFlags = GuestFlags & {
  kernelSrc?: string;
  fixed?: boolean;
  watch?: string[];
  releases?: string[];
  good: string;
  bad: string;
  scenario: string;
  expect?: string[];
  flavor: string;
  configFragment?: string[];
  kconfig?: string[];
  resume?: boolean;
  quiet?: boolean;
};

export function bisectCommand(program: Command): void {
  const cmd = program
    .command('bisect')
    .description(
      'bisect with a scenario: PASS is good, FAIL (or a kernel error) bad, anything else skipped. Across releases (--good 6.12.95 --bad 6.12.117): the last good and first bad release the lab can reach, and what changed between them; with --kernel-src: the first bad commit of a git tree (given releases, the releases first, then the commits between their tags)',
    )
    .option('--kernel-src <path>', 'bisect the commits of this kernel git tree (never checked out: the lab bisects in a worktree of its own)')
    .requiredOption('--good <rev>', 'a release (or with --kernel-src a revision) where the scenario passes')
    .requiredOption('--bad <rev>', 'a release (or revision) where it fails: later, or with --fixed earlier')
    .option('--fixed', 'across releases: the reverse question, which release fixed it (--bad is the older release that fails, --good the newer that passes)')
    .option('--releases <list>', 'across releases: bisect among these only (comma-separated; the endpoints are always in), e.g. the ones already built', commaList)
    .option('--watch <file>', 'across releases: one more file of the tree to diff between the answer\'s releases, e.g. include/linux/memcontrol.h (repeatable)', collect)
    .requiredOption('-s, --scenario <name>', 'scenario from scenarios/, or a file')
    .option('--expect <expr>', 'an expectation added to the scenario, or replacing its expectations with the same left side (repeatable)', collect)
    .option('--flavor <name>', 'kernel flavor: kernels/flavors/<name>.config (lab, debug)', DEFAULT_FLAVOR)
    .option('--config-fragment <file>', "extra kconfig fragment merged after the lab's (repeatable)", collect)
    .option('--kconfig <CONFIG_X=y>', 'extra kconfig option (repeatable)', collect)
    .option('--resume', 'continue the interrupted bisection of the same tree, range and scenario')
    .option('-q, --quiet', 'no progress lines, only the answer and the steps');
  guestOptions(cmd)
    .addHelpText(
      'after',
      '\nAcross releases, the releases come from the lab\'s sources in their order (cache, local tarballs,\nDebian\'s archive, the mirror); bisect.md shows the diff of page_owner\'s files, of the files defining\nthe probed functions and the oopsing one, of --watch files, and the changelog entries between the\ntwo releases that name them.\n\nExit codes: 0 an answer was found, 1 the range gave no answer, 2 bad input (a revision or release\nthat does not exist, good and bad swapped, not a git tree, unknown scenario), 3 infrastructure, 130 interrupted.',
    )
    .action(async (o: BisectFlags) => {
      const reporter = consoleReporter({ quiet: o.quiet });
      const signal = interruptSignal();
      if (!o.kernelSrc) {
        await releaseBisect(o, reporter, signal);
        return;
      }
      if (isRelease(o.good) && isRelease(o.bad)) return releasesThenCommits({ ...o, kernelSrc: o.kernelSrc }, reporter, signal);
      for (const [flag, set] of [['--fixed', o.fixed], ['--watch', o.watch?.length], ['--releases', o.releases?.length]] as const) {
        if (set) throw new InputError('BAD_OPTION', `${flag} works across releases; without --kernel-src, or with releases as --good and --bad`, { value: flag });
      }
      await commitBisect(o, o.kernelSrc, o.good, o.bad, reporter, signal);
    });
}

/** What both kinds of bisection take from the flags. */
const inputs = (o: BisectFlags, reporter: ProgressReporter, signal: AbortSignal): BisectInputs => ({
  config: configFrom(o),
  good: o.good,
  bad: o.bad,
  scenario: o.scenario,
  expect: o.expect,
  flavor: o.flavor,
  configFragments: o.configFragment,
  kconfig: o.kconfig,
  append: o.append,
  reporter,
  signal,
});

/** git bisect of the tree between two revisions: the first bad commit. */
async function commitBisect(o: BisectFlags, tree: string, good: string, bad: string, reporter: ProgressReporter, signal: AbortSignal): Promise<void> {
  const { result, resultsDir } = await runBisect({ ...inputs(o, reporter, signal), tree, good, bad, resume: o.resume });
  process.stdout.write(`\n${stepTable(result)}\n\n${result.message}\n`);
  if (result.firstBad) process.stdout.write(`first bad commit: ${result.firstBad.commit}\nsubject: ${result.firstBad.subject}\nfiles: ${result.firstBad.files.join(' ')}\n`);
  process.stdout.write(`results in ${resultsDir}\n`);
  process.exitCode = { found: ExitCode.ok, 'no-answer': ExitCode.expectationFailed, interrupted: ExitCode.interrupted, error: ExitCode.infrastructure }[result.status];
  if (signal.aborted) process.exitCode = ExitCode.interrupted;
}

/**
 * --kernel-src with releases as --good and --bad: the releases first (the lab's sources), then
 * git bisect of the tree from the last good release's tag to the first bad one's (v6.12.113 ..
 * v6.12.115), when the tree has both tags.
 */
async function releasesThenCommits(o: BisectFlags & { kernelSrc: string }, reporter: ProgressReporter, signal: AbortSignal): Promise<void> {
  const rel = await releaseBisect(o, reporter, signal);
  if (!rel.answer || signal.aborted) return;
  if (rel.mode === 'fix') {
    process.stdout.write(`the commits between v${rel.answer.before} and v${rel.answer.after} are not bisected for a fix: git bisect can, with its own terms for old and new (broken, fixed), in ${o.kernelSrc}\n`);
    return;
  }
  const [good, bad] = [`v${rel.answer.before}`, `v${rel.answer.after}`];
  const missing = [];
  for (const tag of [good, bad]) if (!(await revisionExists(o.kernelSrc, tag))) missing.push(tag);
  if (missing.length) {
    process.stdout.write(`${o.kernelSrc} has no tag ${missing.join(' or ')}: to go on to the commit, give the two revisions: lab bisect --kernel-src ${o.kernelSrc} --good REV --bad REV --scenario ${o.scenario}\n`);
    return;
  }
  process.stdout.write(`\nbisecting the commits of ${o.kernelSrc} from ${good} to ${bad}\n`);
  await commitBisect(o, o.kernelSrc, good, bad, reporter, signal);
}

/** Across releases: the answer, the steps and what changed, then the exit code. */
async function releaseBisect(o: BisectFlags, reporter: ProgressReporter, signal: AbortSignal): Promise<ReleaseBisectResult> {
  const { result, resultsDir } = await runReleaseBisect({ ...inputs(o, reporter, signal), fixed: o.fixed, watch: o.watch, releases: o.releases });
  process.stdout.write(`\n${releaseStepTable(result)}\n\n${result.message}\n`);
  const c = result.changes;
  if (c) {
    const changed = c.files.filter((f) => f.lines);
    process.stdout.write(`changed between ${c.from.version} and ${c.to.version}: ${changed.map((f) => f.file).join(', ') || 'none of the watched files'}\n`);
    for (const e of c.changelog) process.stdout.write(`changelog ${e.release}: ${e.text}\n`);
  }
  process.stdout.write(`results in ${resultsDir} (bisect.md)\n`);
  process.exitCode = { found: ExitCode.ok, 'no-answer': ExitCode.expectationFailed, interrupted: ExitCode.interrupted, error: ExitCode.infrastructure }[result.status];
  if (signal.aborted) process.exitCode = ExitCode.interrupted;
  return result;
}
