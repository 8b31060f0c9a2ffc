/** `lab build`: build or reuse a kernel and print its artifacts, cache key and reproducer. */
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareKernel } from '../../artifacts.ts';
import { userFragments } from '../../kernel/inputs.ts';
import { configFrom, interruptSignal, kernelInput, kernelOptions, progressOptions, reporterFrom, type KernelFlags, type ProgressFlags } from '../options.ts';

export function buildCommand(program: Command): void {
  progressOptions(kernelOptions(program.command('build')))
    .description('build (or reuse) a kernel and print its artifacts and cache key')
    .option('--json', 'print JSON for scripts (implies --quiet)')
    .action(async (o: KernelFlags & ProgressFlags & { json?: boolean }) => {
      const config = configFrom();
      const reporter = reporterFrom({ ...o, quiet: o.quiet || o.json });
      const input = kernelInput(o);
      const extra = await userFragments(input);
      const dir = join(config.paths.cache, 'logs', `build-${Date.now()}`);
      await mkdir(dir, { recursive: true });
      const { built, reproducer } = await prepareKernel(input, extra, { config, reporter, dir, signal: interruptSignal() }).finally(() => reporter.close());
      const { build, cacheHit } = built;
      if (o.json) process.stdout.write(`${JSON.stringify({ ...build, reproducer, cacheHit, logs: dir }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${build.release} (${cacheHit ? 'cache hit' : 'built'}, flavor ${build.flavor})\nkey:     ${build.key}\nbzImage: ${build.bzImage}\nbuild:   ${build.buildDir}\nlogs:    ${dir} (reproducer.sh, kernel-fragment.config)\nreproducer:\n${reproducer.map((l) => `  ${l}`).join('\n')}\n`,
        );
      }
    });
}
