import { describe, expect, it } from 'vitest';
import { probeMap } from '../../lab/observe/hooks.ts';
import { formatProbeMap } from '../../lab/interactive/shell.ts';
import { fixture } from '../helpers/fixtures.ts';
import { hooks } from '../helpers/registry.ts';

describe('lab shell --observers: the probe map it prints', () => {
  it('one line per event of bpf/hooks.yaml: status, function, and why when not probed (6.12.117 as recorded)', () => {
    const map = probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
    const lines = formatProbeMap(map).split('\n');
    expect(lines).toHaveLength(hooks.events.length);
    expect(lines[0]).toBe('  set          probed       __set_page_owner');
    expect(lines.find((l) => l.trimStart().startsWith('init'))).toMatch(/^ {2}init {9}init-only {4}init_page_owner {2}\(not probeable after boot .*page owner found early allocated \d+ pages/);
  });
});
