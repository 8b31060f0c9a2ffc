import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelSource } from '../../lab/kernel/source.ts';

/**
 * A stand-in kernel tree whose Makefile answers the targets the lab's build
 * stage runs (tinyconfig, olddefconfig, bzImage, modules, kernelrelease) in
 * milliseconds, so the cache logic (keys, index, lock, corruption, rename)
 * runs for real without compiling a kernel. FAKE_KERNEL_FAIL=1 makes the
 * build fail, FAKE_KERNEL_SLEEP=N makes it take N seconds; every build
 * appends to $(O)/build-count.
 */
export function fakeKernelTree(version = '6.99.1'): KernelSource {
  const tree = mkdtempSync(join(tmpdir(), 'fake-linux-'));
  const [v, p, s] = version.split('.');
  writeFileSync(
    join(tree, 'Makefile'),
    [
      `VERSION = ${v}`,
      `PATCHLEVEL = ${p}`,
      `SUBLEVEL = ${s}`,
      'EXTRAVERSION =',
      'tinyconfig:',
      "\tprintf 'CONFIG_64BIT=y\\n' > $(O)/.config",
      'olddefconfig:',
      '\ttest -s $(O)/.config',
      'bzImage:',
      '\ttest -z "$(FAKE_KERNEL_FAIL)" || { echo "fake build failure" >&2; exit 2; }',
      '\ttest -z "$(FAKE_KERNEL_SLEEP)" || sleep $(FAKE_KERNEL_SLEEP)',
      '\tmkdir -p $(O)/arch/x86/boot && md5sum $(O)/.config > $(O)/arch/x86/boot/bzImage && echo built >> $(O)/build-count',
      'modules:',
      '\ttouch $(O)/Module.symvers',
      'kernelrelease:',
      `\t@echo ${version}`,
      '',
    ].join('\n'),
  );
  mkdirSync(join(tree, 'scripts', 'kconfig'), { recursive: true });
  const merge = join(tree, 'scripts', 'kconfig', 'merge_config.sh');
  // merge_config.sh -m -O <dir> <base> <fragment>: later lines win when the .config is read
  writeFileSync(merge, '#!/bin/sh\ncat "$4" "$5" > "$3/.config.merged" && mv "$3/.config.merged" "$3/.config"\n');
  chmodSync(merge, 0o755);
  return { version, tree, id: `fake-${version}-${tree}`, origin: tree };
}
