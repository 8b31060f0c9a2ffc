import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { definingFiles, diffFile, filesToDiff, hunkFunctions } from '../../lab/kernel/source-diff.ts';
import { tempDir } from '../helpers/temp.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Two small trees shaped like a kernel's: page_owner.c changed in one function, a header declaring it. */
function trees() {
  const root = tempDir('lab-tree-');
  made.push(root);
  const write = (tree: string, file: string, text: string) => {
    mkdirSync(dirname(join(root, tree, file)), { recursive: true });
    writeFileSync(join(root, tree, file), text);
  };
  const page = (body: string) =>
    ['#include <linux/page_owner.h>', '', 'static inline int print_page_owner_memcg(char *kbuf, size_t count, int ret,', '\t\t\t\t\t struct page *page)', '{', body, '}', '', 'noinline void __set_page_owner(struct page *page, unsigned short order, gfp_t gfp_mask)', '{', '\tint x = 1;', '}', ''].join('\n');
  write('old', 'mm/page_owner.c', page('\tmemcg = page_memcg_check(page);'));
  write('new', 'mm/page_owner.c', page('\tmemcg_data = READ_ONCE(page->memcg_data);\n\tmemcg = obj_cgroup_memcg(memcg_data);'));
  for (const t of ['old', 'new']) {
    write(t, 'include/linux/page_owner.h', 'extern void __set_page_owner(struct page *page,\n\t\tunsigned short order, gfp_t gfp_mask);\n');
    write(t, 'mm/vmscan.c', 'static void shrink(void)\n{\n\t__set_page_owner(page, 0, 0);\n}\n');
  }
  return { old: join(root, 'old'), new: join(root, 'new') };
}

describe('the files a release bisection diffs', () => {
  it('finds where a function is defined, never where it is declared or called', async () => {
    const t = trees();
    const found = await definingFiles(t.new, ['__set_page_owner', 'print_page_owner_memcg', 'no_such_function']);
    expect(Object.fromEntries(found)).toEqual({ __set_page_owner: ['mm/page_owner.c'], print_page_owner_memcg: ['mm/page_owner.c'] });
  });

  it('page_owner first, then the defining files, then --watch, each once', async () => {
    const t = trees();
    expect(await filesToDiff(t.new, ['__set_page_owner'], ['include/linux/memcontrol.h', 'mm/page_owner.c'])).toEqual([
      { file: 'mm/page_owner.c', why: 'page_owner' },
      { file: 'include/linux/page_owner.h', why: 'page_owner' },
      { file: 'include/linux/memcontrol.h', why: '--watch' },
    ]);
  });

  it('a unified diff with a/ and b/ names, the changed function from its hunk header; an unchanged file gives none', async () => {
    const t = trees();
    const d = await diffFile(t.old, t.new, 'mm/page_owner.c', 'page_owner');
    expect(d.diff).toMatch(/^--- a\/mm\/page_owner\.c\n\+\+\+ b\/mm\/page_owner\.c\n@@ /);
    expect(d.diff).toMatch(/^\+\tmemcg = obj_cgroup_memcg\(memcg_data\);$/m);
    expect(d.functions).toEqual(['print_page_owner_memcg']);
    expect((await diffFile(t.old, t.new, 'include/linux/page_owner.h', 'page_owner')).diff).toBe('');
    // a file in neither tree is said to be so; one only one side has is diffed against nothing
    expect(await diffFile(t.old, t.new, 'include/linux/memcontrol.h', '--watch')).toMatchObject({ diff: '', absent: true });
    writeFileSync(join(t.new, 'include', 'linux', 'memcontrol.h'), 'struct mem_cgroup;\n');
    expect((await diffFile(t.old, t.new, 'include/linux/memcontrol.h', '--watch')).diff).toMatch(/^--- a\/include\/linux\/memcontrol\.h\n\+\+\+ b\/include\/linux\/memcontrol\.h\n@@ -0,0 \+1 @@\n\+struct mem_cgroup;/);
  });

  it('a changed line is in the function of its hunk header, or of a function that starts in the hunk before it', () => {
    expect(hunkFunctions('@@ -10,6 +10,7 @@ static int foo_bar(void)\n-\tx = 1;\n+\tx = 2;\n }\n \n+static void added_one(int x)\n+{\n')).toEqual(['added_one', 'foo_bar']);
    // diff -p's header as it really is, cut at 40 characters (6.12.113 -> 6.12.115, mm/page_owner.c)
    expect(hunkFunctions('@@ -510,11 +511,14 @@ static inline int print_page_owner_memcg\n \tif (!memcg_data)\n-\tmemcg = page_memcg_check(page);\n')).toEqual(['print_page_owner_memcg']);
    // context that only passes through a function does not name it
    expect(hunkFunctions('@@ -1,4 +1,4 @@\n static int a(void)\n-\treturn 1;\n+\treturn 2;\n }\n static int b(void)\n {\n')).toEqual(['a']);
  });
});
