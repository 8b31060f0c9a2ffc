import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { generateScript, loadHooks, mapName, probeMap } from '../../lab/prepare/probes.ts';
import { fixture } from '../helpers/fixtures.ts';

const hooks = await loadHooks(repoRoot);

describe('the probe map from a real 6.12.117 guest', () => {
  const map = probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
  const entry = (event: string) => map.find((m) => m.event === event)!;

  it('covers the nine seed events', () => {
    expect(map.map((m) => m.event)).toEqual(['set', 'reset', 'split', 'copy', 'set migrate', 'dump', 'read', 'init', 'need']);
  });

  it('maps copy to __folio_copy_owner and probes the rest under their own names', () => {
    expect(entry('copy')).toMatchObject({ function: '__folio_copy_owner', status: 'renamed' });
    for (const e of ['set', 'reset', 'split', 'set migrate', 'dump', 'read']) expect(entry(e).status, e).toBe('probed');
  });

  it('reports init and need as not probeable after boot, with the dmesg evidence that they ran', () => {
    expect(entry('init')).toMatchObject({ status: 'init-only', function: 'init_page_owner' });
    expect(entry('init').note).toMatch(/not probeable after boot .*dmesg "page owner found early allocated 4689 pages"/);
    expect(entry('need').note).toMatch(/dmesg "allocated 18874368 bytes of page_ext"/);
  });

  it('reports a missing hook and a blacklisted one instead of failing', () => {
    const m = probeMap(hooks, 'ffff T __set_page_owner\nffff T __reset_page_owner\n--- blacklist\n0x1-0x2 __reset_page_owner\n', '');
    expect(m.find((e) => e.event === 'reset')).toMatchObject({ status: 'blacklisted' });
    expect(m.find((e) => e.event === 'copy')).toMatchObject({ status: 'missing', note: 'none of __copy_page_owner, __folio_copy_owner in /proc/kallsyms' });
    expect(m.find((e) => e.event === 'init')!.note).toMatch(/no dmesg evidence/);
  });

  describe('the generated script', () => {
    const script = generateScript(hooks, map, { mode: 'summary', release: '6.12.117', commPrefix: 'stress-ng' });

    it('probes only functions that exist, never the init-only ones', () => {
      const probed = [...script.matchAll(/^kprobe:(\w+)$/gm)].map((m) => m[1]);
      expect(probed).toEqual([
        '__set_page_owner',
        '__reset_page_owner',
        '__split_page_owner',
        '__folio_copy_owner',
        '__set_page_owner_migrate_reason',
        '__dump_page_owner',
        'read_page_owner',
      ]);
    });

    it('masks the order to 16 bits and counts the workload and the lab apart', () => {
      expect(script).toContain('$order = arg1 & 0xffff;');
      expect(script).toContain('if (strncmp(comm, "stress-ng", 9) == 0) { @set_comm[$order] = count(); }');
      expect(script).toContain('if (comm == "bpftrace" || comm == "dropbear") { @set_lab[$order] = count(); }');
      expect(script).toMatch(/BEGIN\n\{\n\tprintf\("lab: probes attached\\n"\);/);
    });

    it('decodes split per version: old/new order from 6.9, a page count before', () => {
      expect(script).toContain('@split_pages = sum(1 << (arg1 - arg2));');
      const old = generateScript(hooks, map, { mode: 'summary', release: '6.1.192' });
      expect(old).toContain('@split_pages = sum(arg1);');
      expect(generateScript(hooks, map, { mode: 'summary', release: '6.9.0' })).toContain('sum(1 << (arg1 - arg2))');
    });

    it('trace mode prints the seed formats', () => {
      const trace = generateScript(hooks, map, { mode: 'trace', release: '6.12.117' });
      expect(trace).toContain('printf("page_owner info {set}: timestamp=%llu pid=%d proc_name=%s\\n", nsecs, pid, comm);');
      expect(trace).toContain('printf("page_owner info {set migrate}: timestamp=%llu pid=%d\\n", nsecs, pid);');
      expect(trace).toContain('printf("page_owner info {copy}: timestamp=%llu pid=%d proc_name=%s\\n", nsecs, pid, comm);');
      expect(mapName('set migrate')).toBe('migrate');
    });
  });
});
