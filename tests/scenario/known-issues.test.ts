import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';
import { KERNEL_ERROR_PATTERNS, kernelReport } from '../../lab/observe/kernel-errors.ts';
import { matchKnownIssue } from '../../lab/scenario/known-issues.ts';
import { loadScenario, parseScenario } from '../../lab/scenario/load.ts';
import { fixture } from '../helpers/fixtures.ts';
import { registry } from '../helpers/registry.ts';

const scenarios = join(repoRoot, 'scenarios');

/** The console of a real 6.12.117 guest (lab flavor, 6 GiB) that oopsed growing the 1 GiB hugetlb pool. */
const gigantic612 = () => fixture('6.12.117', 'gigantic', 'console.log').split('\n');

describe('known issues', () => {
  it('names the page_ext walk bug and its upstream fix for the real 6.12.117 oops in __update_page_owner_handle', async () => {
    const console = gigantic612();
    const first = console.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!;
    expect(first).toMatch(/BUG: unable to handle page fault for address: ffff888103248000/);
    const report = kernelReport(console, first);
    // the order-18 folio is prepared once: __set_page_owner from prep_new_page in alloc_contig_range
    expect(report.join('\n')).toMatch(/__set_page_owner\+[\s\S]*prep_new_page\+[\s\S]*alloc_contig_range_noprof\+[\s\S]*alloc_gigantic_folio/);
    const s = await loadScenario(scenarios, 'gigantic', registry);
    const known = matchKnownIssue(s.known_issues, report, '6.12.117');
    expect(known).toMatchObject({ fix: 'mm: page_owner: use new iteration API' });
    expect(known!.fixes).toMatch(/^cf54f310d0d3/);
    expect(known!.matched).toMatch(/RIP: 0010:__update_page_owner_handle\+0x4d\/0x9f/);
  });

  it('names it for the real KASAN report of the debug flavor: the first bad write of the walk, with its frames', async () => {
    const console = fixture('6.12.117', 'gigantic-debug', 'console.log').split('\n');
    const first = console.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!;
    expect(first).toMatch(/BUG: KASAN: slab-use-after-free in __update_page_owner_handle\+0x51\/0x111/);
    const report = kernelReport(console, first);
    const text = report.join('\n');
    expect(text).toMatch(/Write of size 4 at addr ffff888108640010 by task bash/);
    expect(text).toMatch(/__set_page_owner\+[\s\S]*prep_new_page\+[\s\S]*alloc_contig_range_noprof\+[\s\S]*alloc_gigantic_folio/);
    // the whole KASAN report, up to its closing rule: who allocated and freed the memory the walk hit
    expect(text).toMatch(/Freed by task/);
    expect(report.at(-1)).toMatch(/={40,}\s*$/);
    const s = await loadScenario(scenarios, 'gigantic', registry);
    expect(matchKnownIssue(s.known_issues, report, '6.12.117')?.matched).toBe(first.trim());
  });

  it('does not name it for another report, or on a kernel the entry excludes', () => {
    const s = parseScenario(
      [
        'description: x',
        'steps: [{ name: a, run: "true" }]',
        'expect: ["module.seen[0] >= 0"]',
        'known_issues:',
        '  - { title: t, report: "RIP: \\\\S+:print_page_owner\\\\+", fix: f, kernel: ">= 6.12" }',
      ].join('\n'),
      'k.yaml',
      registry,
    );
    const memcg = fixture('6.12.117', 'memcg-dump', 'console.log').split('\n');
    const first = memcg.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!;
    expect(matchKnownIssue(s.known_issues, kernelReport(memcg, first), '6.12.117')?.title).toBe('t');
    expect(matchKnownIssue(s.known_issues, kernelReport(memcg, first), '6.6.87')).toBeUndefined();
    expect(matchKnownIssue(s.known_issues, kernelReport(gigantic612(), gigantic612().find((l) => /BUG: /.test(l))!), '6.12.117')).toBeUndefined();
  });

  it('refuses a report pattern that is not a regular expression, naming file, line and key', () => {
    expect(() =>
      parseScenario(['description: x', 'steps: [{ name: a, run: "true" }]', 'expect: ["module.seen[0] >= 0"]', 'known_issues:', '  - { title: t, report: "(", fix: f }'].join('\n'), 'k.yaml', registry),
    ).toThrow(/k\.yaml:5: known_issues\[0\]\.report: bad regular expression/);
  });
});
