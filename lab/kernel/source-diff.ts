/**
 * What changed between two kernel trees in the files a scenario depends on:
 * page_owner's own files, the files that define the probed functions (and
 * the function a kernel report's RIP names), and any the user adds. A unified
 * diff per file, and the functions whose hunks changed (from the hunk
 * headers), which name the changelog entries worth reading.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../core/proc.ts';

/** Always diffed: page_owner itself. */
const PAGE_OWNER_FILES = ['mm/page_owner.c', 'include/linux/page_owner.h'] as const;

/** Where a probed function is defined is searched for (a kernel tree's allocator and tracing code). */
const SEARCHED = ['mm', 'include/linux', 'kernel', 'lib', 'fs'];

interface FileDiff {
  file: string;
  /** The unified diff (a/<file>, b/<file>), empty when the file is the same in both. */
  diff: string;
  /** Functions whose hunks changed, from the hunk headers. */
  functions: string[];
  /** Why the file is diffed: "page_owner", "defines __set_page_owner", "--watch". */
  why: string;
  /** In neither tree (a --watch path that does not exist there). */
  absent?: boolean;
}

/**
 * The files (relative to the tree) that define each function: grep finds the files that name
 * it, then a definition is a declaration at the start of a line whose parameter list is followed
 * by a body ("{"), across lines; prototypes (";") and calls are not.
 */
export async function definingFiles(tree: string, functions: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const names = functions.filter((f) => /^[A-Za-z_]\w*$/.test(f));
  if (!names.length) return out;
  const dirs = SEARCHED.filter((d) => existsSync(join(tree, d)));
  const r = await run('grep', ['-rlE', '--include=*.c', '--include=*.h', `[^A-Za-z0-9_](${names.join('|')})\\(`, ...dirs], { cwd: tree, okExitCodes: [1] });
  for (const file of r.stdout.split('\n').filter(Boolean).sort()) {
    const text = await readFile(join(tree, file), 'utf8');
    for (const fn of names) {
      if (!new RegExp(`^[A-Za-z_][^;={}()]*[^A-Za-z0-9_]${fn}\\s*\\([^;{}]*\\)\\s*\\{`, 'm').test(text)) continue;
      out.set(fn, [...(out.get(fn) ?? []), file]);
    }
  }
  return out;
}

/** An unindented declaration that opens a function (not a prototype): its name. */
const FUNCTION_START = /^[A-Za-z_][^;=()]*?[^A-Za-z0-9_]([A-Za-z_]\w*)\s*\([^;]*$/;

/**
 * The functions a unified diff changes: walking each hunk, the function a changed line is in,
 * from the hunk header (diff -p names the function the hunk starts in) or a function that
 * starts inside the hunk before the line.
 */
export function hunkFunctions(diff: string): string[] {
  const out = new Set<string>();
  let current: string | undefined;
  for (const line of diff.split('\n')) {
    const header = /^@@ [^@]+ @@ ?(.*)$/.exec(line);
    if (header) {
      // diff -p cuts the function line at 40 characters: "static inline int print_page_owner_memcg"
      current = (/([A-Za-z_]\w*)\s*\(/.exec(header[1]!) ?? /([A-Za-z_]\w*)\s*$/.exec(header[1]!))?.[1];
      continue;
    }
    if (line.startsWith('---') || line.startsWith('+++')) continue;
    const body = line.slice(1);
    const starts = FUNCTION_START.exec(body)?.[1];
    if (starts) current = starts;
    if ((line.startsWith('+') || line.startsWith('-')) && current) out.add(current);
  }
  return [...out].sort();
}

/** One file between two trees: `diff -u`, a file missing on one side diffed against nothing. */
export async function diffFile(oldTree: string, newTree: string, file: string, why: string): Promise<FileDiff> {
  if (!existsSync(join(oldTree, file)) && !existsSync(join(newTree, file))) return { file, diff: '', functions: [], why, absent: true };
  // -p: each hunk header names the C function it is in
  const r = await run('diff', ['-u', '-p', '-N', '--label', `a/${file}`, '--label', `b/${file}`, join(oldTree, file), join(newTree, file)], { okExitCodes: [1] });
  return { file, diff: r.stdout, functions: hunkFunctions(r.stdout), why };
}

/** The files to diff: page_owner's, those defining the functions (in the newer tree), then the watched ones, each once. */
export async function filesToDiff(newTree: string, functions: readonly string[], watch: readonly string[]): Promise<{ file: string; why: string }[]> {
  const out: { file: string; why: string }[] = PAGE_OWNER_FILES.map((file) => ({ file, why: 'page_owner' }));
  for (const [fn, files] of await definingFiles(newTree, functions)) {
    for (const file of files) {
      const known = out.find((o) => o.file === file);
      if (known) {
        if (known.why !== 'page_owner' && !known.why.includes(fn)) known.why += `, ${fn}`;
      } else out.push({ file, why: `defines ${fn}` });
    }
  }
  for (const file of watch) if (!out.some((o) => o.file === file)) out.push({ file, why: '--watch' });
  return out;
}
