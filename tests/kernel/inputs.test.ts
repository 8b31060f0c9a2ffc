import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { mergeRequests } from '../../lab/kernel/config.ts';
import { labFragments, seriesOf, userFragments } from '../../lab/kernel/inputs.ts';

describe('the fragments a build merges, in order', () => {
  it('the lab base, then kernels/<series>.config when there is one', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'lab-repo-'));
    mkdirSync(join(repo, 'kernels'));
    writeFileSync(join(repo, 'kernels', 'lab.config'), 'CONFIG_PAGE_OWNER=y\nCONFIG_NR_CPUS=2\n');
    writeFileSync(join(repo, 'kernels', '6.1.config'), '# only in 6.1\nCONFIG_NR_CPUS=8\n');
    const on61 = await labFragments(repo, '6.1');
    expect(on61.map((e) => `${e.file}:${e.name}=${e.value}`)).toEqual([
      'kernels/lab.config:CONFIG_PAGE_OWNER=y',
      'kernels/lab.config:CONFIG_NR_CPUS=2',
      'kernels/6.1.config:CONFIG_NR_CPUS=8',
    ]);
    expect(mergeRequests(on61).get('CONFIG_NR_CPUS')!.value).toBe('8');
    expect((await labFragments(repo, '6.12')).map((e) => e.file)).toEqual(['kernels/lab.config', 'kernels/lab.config']);
  });

  it("the repository's own base fragment asks for page_owner and what it needs", async () => {
    const names = (await labFragments(repoRoot, '6.12')).map((e) => e.name);
    for (const n of ['CONFIG_PAGE_OWNER', 'CONFIG_DEBUG_KERNEL', 'CONFIG_KPROBES', 'CONFIG_BPF_EVENTS', 'CONFIG_VM_EVENT_COUNTERS', 'CONFIG_VIRTIO_MENU']) {
      expect(names).toContain(n);
    }
  });

  it('then --config-fragment files and --kconfig options, validated before any source is touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-frag-'));
    writeFileSync(join(dir, 'kasan.config'), 'CONFIG_KASAN=y\n');
    const extra = await userFragments({ kernel: '6.12', configFragments: [join(dir, 'kasan.config')], kconfig: ['CONFIG_KASAN=n', 'CONFIG_SLUB_DEBUG=y'] });
    expect(extra.map((e) => `${e.name}=${e.value}`)).toEqual(['CONFIG_KASAN=y', 'CONFIG_KASAN=n', 'CONFIG_SLUB_DEBUG=y']);
    expect(mergeRequests(extra).get('CONFIG_KASAN')!.value).toBe('n');
    await expect(userFragments({ kernel: 'banana' })).rejects.toThrow(/not a kernel version/);
    await expect(userFragments({ kernel: '6.12', kernelSrc: '/a', kernelTarball: '/b' })).rejects.toThrow(/give one source, not both/);
    writeFileSync(join(dir, 'bad.config'), 'KASAN=y\n');
    await expect(userFragments({ kernel: '6.12', configFragments: [join(dir, 'bad.config')] })).rejects.toThrow(/bad\.config:1: "KASAN=y" is not a kconfig line/);
  });

  it('seriesOf', () => {
    expect(seriesOf('6.12.117')).toBe('6.12');
    expect(seriesOf('6.6')).toBe('6.6');
  });
});
