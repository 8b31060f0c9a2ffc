import { describe, expect, it } from 'vitest';
import { isProbed, mapName, probedFunctions, probeMap } from '../../lab/observe/hooks.ts';
import { fixture } from '../helpers/fixtures.ts';
import { hooks } from '../helpers/registry.ts';

/** Per kernel: the dmesg it ran with, and the function set migrate is probed as (renamed on 6.x: 7.x's name is listed first). */
describe.each([
  ['6.1.192', 'hugetlb', '__set_page_owner_migrate_reason', 'renamed'],
  ['6.6.87', 'hugetlb', '__set_page_owner_migrate_reason', 'renamed'],
  ['6.12.117', 'hugetlb', '__set_page_owner_migrate_reason', 'renamed'],
  ['7.3.4', 'memcg-dump', '__folio_set_owner_migrate_reason', 'probed'],
])('the probe map from a real %s guest', (kernel, scenario, migrate, migrateStatus) => {
  const early = 'page owner found early allocated \\d+ pages';
  const map = probeMap(hooks, fixture(kernel, 'probe-discovery.txt'), fixture(kernel, scenario, 'dmesg.txt'));
  const entry = (event: string) => map.find((m) => m.event === event)!;

  it('covers the nine seed events', () => {
    expect(map.map((m) => m.event)).toEqual(['set', 'reset', 'split', 'copy', 'set migrate', 'dump', 'read', 'init', 'need']);
  });

  it('probes copy as __folio_copy_owner and set migrate under the name this kernel has; the rest under their own names', () => {
    expect(entry('copy')).toMatchObject({ function: '__folio_copy_owner', status: 'probed' });
    expect(entry('set migrate')).toMatchObject({ function: migrate, status: migrateStatus });
    if (migrateStatus === 'renamed') expect(entry('set migrate').note).toBe(`__folio_set_owner_migrate_reason does not exist: probing ${migrate}`);
    for (const e of ['set', 'reset', 'split', 'dump', 'read']) expect(entry(e).status, e).toBe('probed');
    expect(isProbed(map, 'copy')).toBe(true);
    expect(isProbed(map, 'set migrate')).toBe(true);
    expect(isProbed(map, 'init')).toBe(false);
    // what the resident kprobes are armed on: each probed function once, no init-only one
    expect(probedFunctions(map)).toEqual(['__set_page_owner', '__reset_page_owner', '__split_page_owner', '__folio_copy_owner', migrate, '__dump_page_owner', 'read_page_owner']);
  });

  it('reports init and need as not probeable after boot, with the dmesg evidence that they ran', () => {
    expect(entry('init')).toMatchObject({ status: 'init-only', function: 'init_page_owner' });
    expect(entry('init').note).toMatch(new RegExp(`not probeable after boot .*dmesg "${early}"`));
    expect(entry('need').note).toMatch(/dmesg "allocated \d+ bytes of page_ext"/);
  });
});

describe('the probe map on kernels unlike the supported ones', () => {
  it('reports a missing hook and a blacklisted one instead of failing', () => {
    const m = probeMap(hooks, 'ffff T __set_page_owner\nffff T __reset_page_owner\n--- blacklist\n0x1-0x2 __reset_page_owner\n', '');
    expect(m.find((e) => e.event === 'reset')).toMatchObject({ status: 'blacklisted' });
    expect(m.find((e) => e.event === 'copy')).toMatchObject({ status: 'missing', note: 'none of __folio_copy_owner, __copy_page_owner in /proc/kallsyms' });
    expect(m.find((e) => e.event === 'init')!.note).toMatch(/no dmesg evidence/);
  });

  it('a kernel that only has the seed\'s old name reports the event as renamed', () => {
    const m = probeMap(hooks, 'ffff T __set_page_owner\nffff t __copy_page_owner\n--- blacklist\n', '');
    expect(m.find((e) => e.event === 'copy')).toMatchObject({ status: 'renamed', function: '__copy_page_owner' });
    expect(probedFunctions(m)).toEqual(['__set_page_owner', '__copy_page_owner']);
  });

  it('names bpftrace maps after events', () => {
    expect(mapName('set migrate')).toBe('migrate');
    expect(mapName('set')).toBe('set');
  });
});
