import { describe, expect, it } from 'vitest';
import { knobDiff, knobValue, parseKnobs, readKnobsCommand, restoreKnobs, writtenKnobs } from '../../lab/guest/knobs.ts';
import type { GuestShell } from '../../lab/guest/ssh.ts';
import { registry } from '../helpers/registry.ts';
import { loadSuite } from '../../lab/scenario/suite.ts';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';

describe('guest knobs: what scenarios change and must give back', () => {
  it('finds the /proc/sys and /sys files a command writes', () => {
    expect(writtenKnobs(['echo 0 > /proc/sys/vm/compaction_proactiveness', 'echo never >/sys/kernel/mm/transparent_hugepage/enabled; true', 'cat /proc/vmstat > /tmp/x'])).toEqual([
      '/proc/sys/vm/compaction_proactiveness',
      '/sys/kernel/mm/transparent_hugepage/enabled',
    ]);
  });

  it('every knob the default suite writes is read before and restored after', async () => {
    const suite = await loadSuite(join(repoRoot, 'scenarios'), [], registry);
    const written = writtenKnobs(suite.flatMap((s) => [...s.setup, ...s.steps.map((x) => x.run), ...s.teardown]));
    expect(written).toContain('/sys/kernel/mm/transparent_hugepage/enabled');
    expect(written).toContain('/proc/sys/vm/nr_hugepages');
  });

  it('reads THP modes as the selected word, and the rest as written', () => {
    expect(knobValue('always madvise [never]\n')).toBe('never');
    expect(knobValue('always defer defer+madvise [madvise] never')).toBe('madvise');
    expect(knobValue('20\n')).toBe('20');
  });

  it('parses what the guest printed, skipping write-only files it could not read', () => {
    // recorded from a 6.12.117 guest (thp-fault-split's knobs: compact_memory, drop_caches and
    // split_huge_pages are write-only, so no line; multi-digit sysctls whole)
    const text = [
      '/proc/sys/vm/compaction_proactiveness:20',
      '/proc/sys/vm/watermark_boost_factor:15000',
      '/sys/kernel/mm/transparent_hugepage/enabled:always [madvise] never',
      '/sys/kernel/mm/transparent_hugepage/defrag:always defer defer+madvise [madvise] never',
      '/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs:10000',
      '',
    ].join('\n');
    const got = parseKnobs(text);
    expect(got).toEqual({
      '/proc/sys/vm/compaction_proactiveness': '20',
      '/proc/sys/vm/watermark_boost_factor': '15000',
      '/sys/kernel/mm/transparent_hugepage/enabled': 'madvise',
      '/sys/kernel/mm/transparent_hugepage/defrag': 'madvise',
      '/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs': '10000',
    });
    expect(knobDiff({ '/proc/sys/vm/compaction_proactiveness': '0', '/sys/kernel/mm/transparent_hugepage/enabled': 'madvise', '/gone': '1' }, got)).toEqual([
      { file: '/proc/sys/vm/compaction_proactiveness', want: '0', got: '20' },
    ]);
    // one process for every knob, its first line each
    expect(readKnobsCommand(['/a', '/b'])).toBe("grep -m1 -H '' -- /a /b 2>/dev/null; true");
  });

  it('gives back only what differs, without reading again when the teardown just read the knobs', async () => {
    const commands: string[] = [];
    const shell = { exec: async (command: string) => (commands.push(command), { stdout: '', stderr: '', exitCode: 0 }) } as unknown as GuestShell;
    const want = { '/proc/sys/vm/nr_hugepages': '0', '/sys/kernel/mm/transparent_hugepage/enabled': 'madvise' };
    const restored = await restoreKnobs(shell, want, { '/proc/sys/vm/nr_hugepages': '0', '/sys/kernel/mm/transparent_hugepage/enabled': 'never' });
    expect(restored).toEqual(['/sys/kernel/mm/transparent_hugepage/enabled: never -> madvise']);
    expect(commands).toEqual(['echo madvise > /sys/kernel/mm/transparent_hugepage/enabled']);
    // nothing differs: no command at all
    commands.length = 0;
    expect(await restoreKnobs(shell, want, want)).toEqual([]);
    expect(commands).toEqual([]);
  });
});
