import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelSource } from '../../lab/kernel/source.ts';
import { tempDir } from './temp.ts';

/**
 * A stand-in kernel tree whose Makefile answers the targets the lab's build
 * stage runs (tinyconfig, olddefconfig, bzImage, modules, kernelrelease) in
 * milliseconds, so the cache logic (keys, index, lock, corruption, rename)
 * runs for real without compiling a kernel. setFakeKernel({ FAIL: '1' }) makes
 * the build fail, FAIL_INCREMENTAL only a build in a folder built before,
 * SLEEP: N makes it take N seconds, DROP: RE makes olddefconfig drop the
 * matching lines (a file the Makefile includes: the lab runs make in an
 * environment of its own, so variables of this process never reach it); every build appends to
 * $(O)/build-count. Like kbuild, a build compiles (prints `CC` for, and
 * writes the object of) mm/page_owner.o only when the .config differs from
 * the last build's include/config/auto.conf, and scripts/mod/modpost.o once.
 * `contentId` gives the source an id like a tarball's sha256 (such sources
 * get a kept build tree).
 */
/** This test file's control file, included by every stand-in tree's Makefile (its folder goes with the file). */
const CONTROL = join(tempDir('fake-kernel-control-'), 'control.mk');

export function setFakeKernel(vars: Partial<Record<'FAIL' | 'FAIL_INCREMENTAL' | 'SLEEP' | 'DROP', string>>): void {
  writeFileSync(CONTROL, Object.entries(vars).map(([k, v]) => `FAKE_KERNEL_${k} = ${v}\n`).join(''));
}

export function fakeKernelTree(version = '6.99.1', opts: { contentId?: boolean } = {}): KernelSource {
  const tree = tempDir('fake-linux-');
  const [v, p, s] = version.split('.');
  writeFileSync(
    join(tree, 'Makefile'),
    [
      `VERSION = ${v}`,
      `PATCHLEVEL = ${p}`,
      `SUBLEVEL = ${s}`,
      'EXTRAVERSION =',
      `-include ${CONTROL}`,
      'tinyconfig:',
      "\tprintf 'CONFIG_64BIT=y\\n' > $(O)/.config",
      "\tprintf 'include $(CURDIR)/Makefile\\n' > $(O)/Makefile",
      'olddefconfig:',
      '\ttest -s $(O)/.config',
      "\ttest -z '$(FAKE_KERNEL_DROP)' || sed -i '/$(FAKE_KERNEL_DROP)/d' $(O)/.config",
      'bzImage:',
      '\ttest -z "$(FAKE_KERNEL_FAIL)" || { echo "fake build failure" >&2; exit 2; }',
      '\ttest -z "$(FAKE_KERNEL_FAIL_INCREMENTAL)" || test ! -e $(O)/include/config/auto.conf || { echo "fake incremental build failure" >&2; exit 2; }',
      '\ttest -z "$(FAKE_KERNEL_SLEEP)" || sleep $(FAKE_KERNEL_SLEEP)',
      '\tmkdir -p $(O)/arch/x86/boot $(O)/include/config $(O)/mm $(O)/scripts/mod',
      "\tcmp -s $(O)/.config $(O)/include/config/auto.conf || { echo '  CC      mm/page_owner.o'; md5sum < $(O)/.config > $(O)/mm/page_owner.o; }",
      "\ttest -e $(O)/scripts/mod/modpost.o || { echo '  CC      scripts/mod/modpost.o'; echo modpost > $(O)/scripts/mod/modpost.o; }",
      '\tcp $(O)/.config $(O)/include/config/auto.conf',
      '\tcp $(O)/mm/page_owner.o $(O)/arch/x86/boot/bzImage && echo built >> $(O)/build-count',
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
  const id = opts.contentId ? createHash('sha256').update(tree).digest('hex') : `fake-${version}-${tree}`;
  return { version, tree, id, origin: tree };
}
