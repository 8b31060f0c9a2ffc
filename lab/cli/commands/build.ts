/** `lab build`: build or reuse a kernel and print its artifacts, cache key and reproducer. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { prepareKernel, scratch, userFragments } from '../../api.ts';
import { configFrom, interruptSignal, kernelInput, kernelOptions, progressOptions, reporterFrom, type KernelFlags, type ProgressFlags } from '../options.ts';

export function buildCommand(program: Command): void {
  progressOptions(kernelOptions(program.command('build')))
    .description('build (or reuse) a kernel and print its artifacts and cache key')
    .option('--json', 'print JSON for scripts (implies --quiet)')
    .option('--explain', "also print every fragment line and whether it applied to this kernel (a `# lab: when kernel ...` block that does not hold leaves its lines out)")
    .action(async (o: KernelFlags & ProgressFlags & { json?: boolean; explain?: boolean }) => {
      const config = configFrom();
      const reporter = reporterFrom({ ...o, quiet: o.quiet || o.json });
      const input = kernelInput(o);
      const extra = await userFragments(input);
      // a scratch folder (lab/core/scratch.ts): `lab cache ls` shows it, `lab cache prune` removes it once this command ended
      const logs = await scratch(join(config.paths.cache, 'logs'), `build-${Date.now()}`);
      const dir = logs.path;
      const { built, reproducer, fragments, skipped } = await prepareKernel(input, extra, { config, reporter, dir, signal: interruptSignal() }).finally(async () => {
        reporter.close();
        await logs.release();
      });
      const { build, cacheHit } = built;
      const explained = [
        ...fragments.map((f) => ({ at: `${f.file}:${f.line}`, line: f.value === 'n' ? `# ${f.name} is not set` : `${f.name}=${f.value}`, applied: true, why: '' })),
        ...skipped.map((f) => ({ at: `${f.file}:${f.line}`, line: f.value === 'n' ? `# ${f.name} is not set` : `${f.name}=${f.value}`, applied: false, why: `${f.when} does not hold for ${build.release}` })),
      ];
      if (o.json) process.stdout.write(`${JSON.stringify({ ...build, reproducer, cacheHit, logs: dir, ...(o.explain ? { fragments: explained } : {}) }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${build.release} (${cacheHit ? 'cache hit' : 'built'}, flavor ${build.flavor})\nkey:     ${build.key}\nbzImage: ${build.bzImage}\nbuild:   ${build.buildDir}\nlogs:    ${dir} (reproducer.sh, kernel-fragment.config)\nreproducer:\n${reproducer.map((l) => `  ${l}`).join('\n')}\n`,
        );
        if (o.explain) {
          const width = Math.max(...explained.map((e) => e.at.length));
          process.stdout.write(
            `fragments for ${build.release} (${explained.filter((e) => e.applied).length} lines applied, ${skipped.length} left out):\n` +
              explained.map((e) => `  ${e.at.padEnd(width)}  ${e.applied ? 'applied ' : 'left out'}  ${e.line}${e.why ? `  (${e.why})` : ''}\n`).join(''),
          );
        }
      }
    });
}
