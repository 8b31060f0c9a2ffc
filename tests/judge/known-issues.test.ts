import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';
import { KERNEL_ERROR_PATTERNS, kernelReport } from '../../lab/observe/kernel-errors.ts';
import { expectedClean, knownIssueRegression, matchKnownIssue } from '../../lab/judge/known-issues.ts';
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

  it('names it when the walk\'s writes crash other code: the real 6.12.117 oops in rb_next while alloc_gigantic_folio runs', async () => {
    const console = fixture('6.12.117', 'gigantic-rb_next', 'console.log').split('\n');
    const report = kernelReport(console, console.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!);
    expect(report.join('\n')).toMatch(/RIP: 0010:rb_next\+/);
    const s = await loadScenario(scenarios, 'gigantic', registry);
    expect(matchKnownIssue(s.known_issues, report, '6.12.117')?.matched).toMatch(/alloc_gigantic_folio\.isra\.0\+0xbc\/0x11c/);
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

  it('the memcg-dump oops of the real 6.12.117 console is its known issue, with no upstream fix yet', async () => {
    const memcg = fixture('6.12.117', 'memcg-dump', 'console.log').split('\n');
    const report = kernelReport(memcg, memcg.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!);
    const s = await loadScenario(scenarios, 'scenarios/kernel-bugs/memcg-dump.yaml', registry);
    const known = matchKnownIssue(s.known_issues, report, '6.12.117');
    expect(known?.title).toMatch(/print_page_owner_memcg/);
    expect(known?.fix).toBeUndefined();
    // on the version the record lists as affected it is the known bug, not a regression
    expect(knownIssueRegression(s.known_issues, 'ERROR', '6.12.117', known)).toBeUndefined();
    // the same oops on a version the record lists as not affected is one
    expect(knownIssueRegression(s.known_issues, 'ERROR', '6.12.107', known)).toMatch(/^the known issue came back: ".*print_page_owner_memcg.*" is listed as not affected in 6\.12\.107$/);
  });

  describe('versions a record lists', () => {
    const record = { fixed: ['7.3.4'], unaffected: ['6.12.107'] };
    it.each([
      ['7.3.4', 'listed as fixed in 7.3.4'],
      ['7.3.4-lab', 'listed as fixed in 7.3.4'],
      ['7.3.9', 'listed as fixed in 7.3.4, and 7.3.9 comes after it'],
      ['7.4.1', 'listed as fixed in 7.3.4, and 7.4.1 comes after it'],
      ['6.12.107', 'listed as not affected in 6.12.107'],
    ])('%s is expected clean: %s', (release, why) => expect(expectedClean(record, release)).toBe(why));
    it.each(['7.3.3', '7.2.13', '6.12.117', '6.12.108'])('%s is not (an earlier release, an older series, or one not listed)', (release) =>
      expect(expectedClean(record, release)).toBeUndefined(),
    );
  });

  it('a FAIL on a fixed version is a regression even without a kernel report; a PASS or SKIP never is', async () => {
    const s = await loadScenario(scenarios, 'gigantic', registry);
    expect(knownIssueRegression(s.known_issues, 'FAIL', '7.3.4')).toMatch(/^FAIL where a known issue was clean: "page_owner walks .*" is listed as fixed in 7\.3\.4$/);
    expect(knownIssueRegression(s.known_issues, 'PASS', '7.3.4')).toBeUndefined();
    expect(knownIssueRegression(s.known_issues, 'SKIP', '7.3.4')).toBeUndefined();
    expect(knownIssueRegression(s.known_issues, 'ERROR', '6.12.117')).toBeUndefined();
  });

  it('refuses a version that is not one, naming file, line and key', () => {
    expect(() =>
      parseScenario(['description: x', 'steps: [{ name: a, run: "true" }]', 'expect: ["module.seen[0] >= 0"]', 'known_issues:', '  - { title: t, report: "x", fixed: [7.3.x] }'].join('\n'), 'k.yaml', registry),
    ).toThrow(/k\.yaml:5: known_issues\.0\.fixed\.0|k\.yaml:5: .*fixed.*a kernel version such as 7\.3\.4/);
  });

  it('refuses a report pattern that is not a regular expression, naming file, line and key', () => {
    expect(() =>
      parseScenario(['description: x', 'steps: [{ name: a, run: "true" }]', 'expect: ["module.seen[0] >= 0"]', 'known_issues:', '  - { title: t, report: "(", fix: f }'].join('\n'), 'k.yaml', registry),
    ).toThrow(/k\.yaml:5: known_issues\[0\]\.report: bad regular expression/);
  });
});
