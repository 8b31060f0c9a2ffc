import { describe, expect, it } from 'vitest';
import { probeMap } from '../../lab/observe/hooks.ts';
import { markProbe, windowLine } from '../../lab/guest/protocol/window.ts';
import { generateScript } from '../../lab/observers/probes.ts';
import { fixture } from '../helpers/fixtures.ts';
import { hooks } from '../helpers/registry.ts';

describe('the bpftrace script generated for a real 6.12.117 guest', () => {
  const map = probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
  const script = generateScript(hooks, map, { mode: 'summary', release: '6.12.117', commPrefixes: ['stress-ng'] });

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

  it('keeps the low 32 bits of int arguments, masks the order to 16 bits and counts the workload and the lab apart', () => {
    expect(script).toContain('$order = arg1 & 0xffff;');
    expect(script).toContain('@migrate[(arg1 & 0xffffffff)] = count();');
    // no C casts: bpftrace 0.17 would need clang and kernel headers for them
    expect(script).not.toMatch(/\((u?int\d+)\)/);
    expect(script).toContain('if (strncmp($comm, "stress-ng", 9) == 0) { @set_comm["stress-ng", $order] = count(); }');
    expect(script).toContain('if ($comm == "bpftrace" || $comm == "dropbear") { @set_lab[$order] = count(); }');
    expect(script).toMatch(/BEGIN\n\{\n\tprintf\("lab: probes attached\\n"\);/);
  });

  it('decodes split per version into pages and folios: old/new order from 6.9, a page count before', () => {
    expect(script).toContain('$old = (arg1 & 0xffffffff);');
    expect(script).toContain('$new = (arg2 & 0xffffffff);');
    // 18 -> 9 (hugetlb demote): 262144 pages into 512 folios; 9 -> 0: 512 and 512
    expect(script).toContain('@split_pages = sum(1 << $old);');
    expect(script).toContain('@split_folios = sum(1 << ($old - $new));');
    const old = generateScript(hooks, map, { mode: 'summary', release: '6.1.192' });
    expect(old).toContain('$nr = (arg1 & 0xffffffff);');
    expect(old).toContain('@split_pages = sum($nr);');
    expect(old).toContain('@split_folios = sum($nr);');
    expect(generateScript(hooks, map, { mode: 'summary', release: '6.9.0' })).toContain('@split_pages = sum(1 << $old);');
    expect(generateScript(hooks, map, { mode: 'summary', release: '6.6.87' })).toContain('@split_pages = sum($nr);');
  });

  it('trace mode prints the seed formats', () => {
    const trace = generateScript(hooks, map, { mode: 'trace', release: '6.12.117' });
    expect(trace).toContain('printf("page_owner info {set}: timestamp=%llu pid=%d proc_name=%s\\n", nsecs, pid, comm);');
    expect(trace).toContain('printf("page_owner info {set migrate}: timestamp=%llu pid=%d\\n", nsecs, pid);');
    expect(trace).toContain('printf("page_owner info {copy}: timestamp=%llu pid=%d proc_name=%s\\n", nsecs, pid, comm);');
  });

  it('with windows, keys every count by the window, switches it on lab_mark begin, prints then clears on lab_mark end, and acknowledges', () => {
    const shared = generateScript(hooks, map, { mode: 'summary', release: '6.12.117', commPrefixes: ['fragment', 'stress-ng'], windows: true });
    const body = (kind: 'begin' | 'trace' | 'end') => new RegExp(`^${markProbe(kind)}\n[{]\n([^}]*)[}]`, 'm').exec(shared)?.[1] ?? '';
    const maps = [...new Set([...shared.matchAll(/^\t.*?@(\w+)(?:\[.*?\])? = (?:count|sum)/gm)].map((m) => m[1]))];
    expect(maps).toEqual(expect.arrayContaining(['set', 'set_cpu', 'set_lab', 'set_comm', 'reset_comm', 'split', 'split_pages', 'copy', 'migrate', 'read']));
    // no map is cleared while a window counts (bpftrace's clear races with the probes): the window's
    // number is the first key of every count, switched by the probe itself
    expect(body('begin')).toBe('\t@win = arg0 << 1;\n\tprintf("lab: window %d begin\\n", arg0);\n');
    expect(body('trace')).toBe('\t@win = (arg0 << 1) | 1;\n');
    expect(body('end')).toBe(
      `\t@win = arg0 << 1;\n${maps.map((m) => `\tprint(@${m});\n`).join('')}${maps.map((m) => `\tclear(@${m});\n`).join('')}\tprintf("lab: window %d end\\n", arg0);\n`,
    );
    for (const count of shared.matchAll(/^\t.*(@\w+)(\[.*?\])? = (?:count|sum)\(/gm)) expect(count[2], count[0]).toMatch(/^\[\$w(, |\])/);
    expect(shared).toContain('@set[$w, $order] = count();');
    expect(shared).toContain('@set_comm[$w, "fragment", $order] = count();');
    expect(shared).toContain('@split[$w] = count();');
    // trace lines in every probe, printed only while the window's trace bit is on
    expect(shared).toContain('$win = @win;\n\tif (($win & 1) == 1) { printf("page_owner info {set}: timestamp=%llu pid=%d proc_name=%s\\n", nsecs, pid, comm); }\n\t$w = $win >> 1;');
    // the acknowledgement bpftrace prints is the line the host waits for
    expect('lab: window %d end'.replace('%d', '7')).toBe(windowLine('end', 7));
    // without windows, nothing of it
    expect(script).not.toContain('uprobe:');
    expect(script).not.toContain('$w');
  });
});
