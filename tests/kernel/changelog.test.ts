import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { changelogKeywords, itemsBetween, matchingItems, parseDebianChangelog, parseKernelOrgChangeLog } from '../../lab/kernel/changelog.ts';

/**
 * An excerpt of Debian's real changelog.Debian of linux-source-6.12 6.12.117-1~deb12u1: every
 * entry header, bullet and stable-update line back to 6.12.93, with the first two commits of each
 * stable update and those naming page_owner, memcg, page_ext or hugetlb (lines unedited; the
 * ChangeLog URLs' host shortened to <mirror>).
 */
const excerpt = readFileSync(join(repoRoot, 'tests', 'fixtures', 'changelog', 'linux-source-6.12_6.12.117-1~deb12u1.changelog.Debian.excerpt'), 'utf8');
const keywords = changelogKeywords(['mm/page_owner.c', 'include/linux/page_owner.h'], ['print_page_owner_memcg', '__set_page_owner', 'read_page_owner']);

describe("Debian's changelog", () => {
  const items = parseDebianChangelog(excerpt);

  it('gives each stable commit the upstream release of its ChangeLog, and the Debian entry that lists it', () => {
    const memcg = items.find((i) => i.text.includes('use memcg_data snapshot'))!;
    // Debian's 6.12.115-1 brought stable 6.12.114 and 6.12.115: the commit came with 6.12.114
    expect(memcg).toEqual({ release: '6.12.114', debianVersion: '6.12.115-1', text: 'mm/page_owner: use memcg_data snapshot to avoid TOCTOU in print_page_owner_memcg() (CVE-2026-93216)' });
    // a Debian bullet of its own belongs to its entry's release
    expect(items.find((i) => i.text === 'Rebuild for bookworm')).toMatchObject({ release: '6.12.117', debianVersion: '6.12.117-1~deb12u1' });
  });

  it('between 6.12.113 and 6.12.115 the entries naming page_owner are that commit alone; between 6.12.95 and 6.12.113, none', () => {
    expect(keywords).toEqual(['__set_page_owner', 'mm/page_owner', 'page_owner', 'print_page_owner_memcg', 'read_page_owner']);
    const hit = matchingItems(itemsBetween(items, '6.12.113', '6.12.115'), keywords);
    expect(hit.map((i) => [i.release, i.names])).toEqual([['6.12.114', ['mm/page_owner', 'page_owner', 'print_page_owner_memcg']]]);
    expect(matchingItems(itemsBetween(items, '6.12.95', '6.12.113'), keywords)).toEqual([]);
    // between the bisection's releases there are many commits, one of which is the answer
    expect(itemsBetween(items, '6.12.113', '6.12.115').length).toBeGreaterThan(5);
  });

  it('a word inside another name does not count (page_owner_sort is not page_owner)', () => {
    expect(matchingItems([{ release: '6.12.1', text: 'tools/mm/page_owner_sort: fix timestamp comparison' }], keywords)).toEqual([]);
    expect(matchingItems([{ release: '6.12.1', text: 'mm, page_owner: handle THP splits correctly' }], keywords)[0]!.names).toEqual(['page_owner']);
  });
});

describe("a mirror's ChangeLog-X.Y.Z (git log)", () => {
  it('one item per commit, its subject', () => {
    const text = [
      'commit 0123456789abcdef0123456789abcdef01234567',
      'Author: A Developer <a@example.invalid>',
      'Date:   Mon Oct 5 10:00:00 2026 +0200',
      '',
      '    mm/page_owner: use memcg_data snapshot to avoid TOCTOU in print_page_owner_memcg()',
      '',
      '    [ Upstream commit 89abcdef0123 ]',
      '',
      'commit fedcba9876543210fedcba9876543210fedcba98',
      'Author: B <b@example.invalid>',
      'Date:   Mon Oct 5 09:00:00 2026 +0200',
      '',
      '    ext4: fix something',
      '',
    ].join('\n');
    const items = parseKernelOrgChangeLog(text, '6.12.114');
    expect(items).toEqual([
      { release: '6.12.114', text: 'mm/page_owner: use memcg_data snapshot to avoid TOCTOU in print_page_owner_memcg()' },
      { release: '6.12.114', text: 'ext4: fix something' },
    ]);
    expect(matchingItems(items, keywords).map((i) => i.text)).toEqual([items[0]!.text]);
  });
});
