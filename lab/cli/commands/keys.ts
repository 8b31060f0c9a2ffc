/** `lab keys`: the cache keys of a kernel build and the guest image, known before building (for CI caches). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { cacheKeys, consoleReporter, scratch, userFragments } from '../../api.ts';
import { configFrom, interruptSignal, kernelInput, kernelOptions, type KernelFlags } from '../options.ts';

export function keysCommand(program: Command): void {
  kernelOptions(program.command('keys'))
    .description('print the cache keys of a kernel build (index key: source, fragments, compiler, flavor) and of the guest image, without building')
    .option('--json', 'print JSON for scripts')
    .action(async (o: KernelFlags & { json?: boolean }) => {
      const config = configFrom();
      const input = kernelInput(o);
      const extra = await userFragments(input);
      // a scratch folder (lab/core/scratch.ts): `lab cache ls` shows it, `lab cache prune` removes it once this command ended
      const logs = await scratch(join(config.paths.cache, 'logs'), `keys-${Date.now()}`);
      const dir = logs.path;
      const keys = await cacheKeys(input, extra, { config, reporter: consoleReporter({ quiet: o.json }), dir, signal: interruptSignal() }).finally(() => logs.release());
      if (o.json) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
      else {
        process.stdout.write(
          `kernel: ${keys.kernel.version} (flavor ${keys.kernel.flavor}) ${keys.kernel.inputsKey}\nsource: ${keys.kernel.sourceId}\ncompiler: ${keys.kernel.compiler}\nimage:  ${keys.image.name} ${keys.image.key}\n`,
        );
      }
    });
}
