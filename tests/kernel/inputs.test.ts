import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { mergeRequests } from '../../lab/kernel/config.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { labFragments, resolveKernelInput, seriesOf, userFragments } from '../../lab/kernel/inputs.ts';
import { tempDir } from '../helpers/temp.ts';

describe('the fragments a build merges, in order', () => {
  it('the lab base, then kernels/<series>.config when there is one', async () => {
    const repo = tempDir('lab-repo-');
    mkdirSync(join(repo, 'kernels'));
    writeFileSync(join(repo, 'kernels', 'lab.config'), 'CONFIG_PAGE_OWNER=y\nCONFIG_NR_CPUS=2\n');
    writeFileSync(join(repo, 'kernels', '6.1.config'), '# only in 6.1\nCONFIG_NR_CPUS=8\n');
    mkdirSync(join(repo, 'kernels', 'flavors'));
    writeFileSync(join(repo, 'kernels', 'flavors', 'lab.config'), '# the default: nothing more\n');
    writeFileSync(join(repo, 'kernels', 'flavors', 'debug.config'), 'CONFIG_KASAN=y\nCONFIG_NR_CPUS=4\n');
    const on61 = await labFragments(repo, '6.1');
    expect(on61.map((e) => `${e.file}:${e.name}=${e.value}`)).toEqual([
      'kernels/lab.config:CONFIG_PAGE_OWNER=y',
      'kernels/lab.config:CONFIG_NR_CPUS=2',
      'kernels/6.1.config:CONFIG_NR_CPUS=8',
    ]);
    expect(mergeRequests(on61).get('CONFIG_NR_CPUS')!.value).toBe('8');
    expect((await labFragments(repo, '6.12')).map((e) => e.file)).toEqual(['kernels/lab.config', 'kernels/lab.config']);
    // a flavor comes after the base and before the series
    const debug = await labFragments(repo, '6.1', 'debug');
    expect(debug.map((e) => `${e.file}:${e.name}=${e.value}`)).toEqual([
      'kernels/lab.config:CONFIG_PAGE_OWNER=y',
      'kernels/lab.config:CONFIG_NR_CPUS=2',
      'kernels/flavors/debug.config:CONFIG_KASAN=y',
      'kernels/flavors/debug.config:CONFIG_NR_CPUS=4',
      'kernels/6.1.config:CONFIG_NR_CPUS=8',
    ]);
    await expect(labFragments(repo, '6.1', 'fast')).rejects.toThrow('--flavor "fast": no kernels/flavors/fast.config; accepted: debug, lab');
  });

  it("the repository's own base fragment asks for page_owner and what it needs", async () => {
    const names = (await labFragments(repoRoot, '6.12')).map((e) => e.name);
    for (const n of ['CONFIG_PAGE_OWNER', 'CONFIG_DEBUG_KERNEL', 'CONFIG_KPROBES', 'CONFIG_BPF_EVENTS', 'CONFIG_VM_EVENT_COUNTERS', 'CONFIG_VIRTIO_MENU']) {
      expect(names).toContain(n);
    }
  });

  it('pins what the observers depend on: no function tracer, uprobes, kallsyms data, memory cgroups', async () => {
    const wanted = mergeRequests(await labFragments(repoRoot, '6.12'));
    // ftrace-based kprobes run handlers with interrupts on and ignore kprobes-optimization: misses would come back
    expect(wanted.get('CONFIG_FUNCTION_TRACER')?.value).toBe('n');
    // bpftrace's BEGIN and END are uprobes
    expect(wanted.get('CONFIG_UPROBE_EVENTS')?.value).toBe('y');
    // the module finds page_owner_inited (data) through kallsyms
    expect(wanted.get('CONFIG_KALLSYMS_ALL')?.value).toBe('y');
    // real kernels have MEMCG, and the dump then prints memcg lines
    expect(wanted.get('CONFIG_MEMCG')?.value).toBe('y');
    // 1 GiB pages at run time need alloc_contig_range
    expect(wanted.get('CONFIG_CMA')?.value).toBe('y');
  });

  it('the debug flavor adds the kernel\'s memory debugging on top', async () => {
    const wanted = mergeRequests(await labFragments(repoRoot, '6.12', 'debug'));
    for (const n of ['CONFIG_KASAN', 'CONFIG_KASAN_GENERIC', 'CONFIG_DEBUG_VM', 'CONFIG_DEBUG_PAGEALLOC', 'CONFIG_PAGE_POISONING']) expect(wanted.get(n)?.value, n).toBe('y');
    expect(wanted.get('CONFIG_SLUB_TINY')?.value).toBe('n');
    expect(wanted.get('CONFIG_PAGE_OWNER')?.value).toBe('y');
  });

  it('then --config-fragment files and --kconfig options, validated before any source is touched', async () => {
    const dir = tempDir('lab-frag-');
    writeFileSync(join(dir, 'kasan.config'), 'CONFIG_KASAN=y\n');
    const extra = await userFragments({ kernel: '6.12', configFragments: [join(dir, 'kasan.config')], kconfig: ['CONFIG_KASAN=n', 'CONFIG_SLUB_DEBUG=y'] });
    expect(extra.map((e) => `${e.name}=${e.value}`)).toEqual(['CONFIG_KASAN=y', 'CONFIG_KASAN=n', 'CONFIG_SLUB_DEBUG=y']);
    expect(mergeRequests(extra).get('CONFIG_KASAN')!.value).toBe('n');
    await expect(userFragments({ kernel: 'banana' })).rejects.toThrow(/not a kernel version/);
    await expect(userFragments({ kernel: '6.12', kernelSrc: '/a', kernelTarball: '/b' })).rejects.toThrow(/give one source, not both/);
    writeFileSync(join(dir, 'bad.config'), 'KASAN=y\n');
    await expect(userFragments({ kernel: '6.12', configFragments: [join(dir, 'bad.config')] })).rejects.toThrow(/bad\.config:1: "KASAN=y" is not a kconfig line/);
    // a --flavor typo too, before any source is looked for (it was found after a 1.5 GB extraction)
    await expect(userFragments({ kernel: '6.12', flavor: 'debgu' })).rejects.toMatchObject({ code: 'UNKNOWN_FLAVOR', exitCode: 2, message: '--flavor "debgu": no kernels/flavors/debgu.config; accepted: debug, lab' });
    expect(await userFragments({ kernel: '6.12', flavor: 'debug' })).toEqual([]);
  });

  it('seriesOf', () => {
    expect(seriesOf('6.12.117')).toBe('6.12');
    expect(seriesOf('6.6')).toBe('6.6');
  });
});

describe('flavorBoot', () => {
  it('reads what a flavor file declares for the boot: timeout factor and command line words', async () => {
    const { flavorBoot } = await import('../../lab/kernel/inputs.ts');
    const { repoRoot } = await import('../../lab/core/paths.ts');
    const { readyTimeoutMs } = await import('../../lab/guest/session.ts');
    const { readyTimeoutFactor: debug, append } = await flavorBoot(repoRoot, 'debug');
    expect(debug).toBe(5);
    expect(append).toEqual(['pci=noacpi']);
    // the user's words come after the flavor's: a later word on the command line wins
    expect((await flavorBoot(repoRoot, 'debug', ['pci=nomsi'])).append).toEqual(['pci=noacpi', 'pci=nomsi']);
    expect(await flavorBoot(repoRoot, 'lab')).toEqual({ readyTimeoutFactor: 1, append: [] });
    expect(await flavorBoot(repoRoot, 'no-such-flavor')).toEqual({ readyTimeoutFactor: 1, append: [] });
    expect(readyTimeoutMs('tcg', undefined, debug)).toBe(900_000);
    // LAB_READY_TIMEOUT_S is taken as it is
    expect(readyTimeoutMs('tcg', 30, debug)).toBe(30_000);
  });

  it('a --kernel-tarball that does not extract is bad input (exit 2) naming the file, and leaves nothing in the cache', async () => {
    const dir = tempDir('lab-tarball-');
    const cacheDir = tempDir('lab-cache-');
    onTestFinished(() => [dir, cacheDir].forEach((d) => rmSync(d, { recursive: true, force: true })));
    const tarball = join(dir, 'linux-6.12.999.tar.xz');
    execFileSync('sh', ['-c', `head -c 65536 /dev/urandom | xz -z > '${tarball}'`]);
    const e = await resolveKernelInput({ kernel: 'local', kernelTarball: tarball }, { cacheDir, reporter: consoleReporter({ quiet: true }) }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BAD_TARBALL', exitCode: 2 });
    expect((e as Error).message).toMatch(new RegExp(`^--kernel-tarball ${tarball}: not a kernel source tarball that extracts \\(`));
    expect(readdirSync(join(cacheDir, 'sources')).filter((f) => !f.startsWith('.hashes'))).toEqual([]);
  });
});
