/**
 * A streaming parser for /sys/kernel/debug/page_owner: one record per live
 * allocation (head page), blank-line separated. Three formats are accepted:
 *   6.1:  decimal PFN, ", free_ts N ns" on the header
 *   6.6:  hex PFN, free_ts
 *   6.12: hex PFN, no free_ts
 * With CONFIG_MEMCG, a record ends with unindented memcg lines after its stack
 * (mm/page_owner.c print_page_owner_memcg, 6.1 to 6.12): "Slab cache page"
 * and "Charged [(via objcg) ]to [offline ]memcg NAME".
 * The dump is tens of MB on a busy guest: it is summarised line by line.
 * Call sites are kept in a reduced form: per order, the records and pages of
 * each stack (the allocator's and page_owner's own frames dropped), the top
 * STACKS_KEPT stacks and an "other" bucket, so result.json stays small.
 */
import { dict } from '../core/data.ts';

export interface DebugfsSummary {
  records: number;
  /** Base pages covered by the records (sum of 2^order). */
  pages: number;
  byOrder: Record<string, number>;
  /** By the symbolic gfp mask, e.g. "GFP_HIGHUSER_MOVABLE|__GFP_COMP". */
  byGfp: Record<string, number>;
  byComm: Record<string, number>;
  /** comm -> order -> records: where a workload's pages ended up (split THPs as order 0, say). */
  byCommOrder: Record<string, Record<string, number>>;
  /** Records charged to a memory cgroup ("Charged ... memcg NAME"), by cgroup name. */
  memcgCharged: number;
  byMemcg: Record<string, number>;
  /** Records of slab pages ("Slab cache page"). */
  slabPages: number;
  migrated: number;
  migratedByReason: Record<string, number>;
  /** Which format the records had: pfn base and whether free_ts was printed. */
  format: { pfn: 'hex' | 'decimal' | 'unknown'; freeTs: boolean };
  /** Lines that belong to no known part of a record (should stay 0). */
  unparsed: number;
  /** 6.9+: nr_base_pages summed over page_owner_stacks/show_stacks, when it was read. */
  stackPages?: number;
  /** order -> the top allocating call sites by records, then OTHER_STACK for the rest. */
  stacks?: Record<string, StackCount[]>;
  /** 6.9+: the top stacks of page_owner_stacks/show_stacks by nr_base_pages (all orders), then OTHER_STACK. */
  showStacks?: StackCount[];
}

export interface StackCount {
  /** The caller frames, innermost first, joined by " < " (offsets and allocator internals dropped). */
  stack: string;
  records: number;
  pages: number;
}

/** Stacks kept per order (and of show_stacks); the rest are summed into one OTHER_STACK row. */
export const STACKS_KEPT = 12;
export const OTHER_STACK = '(other stacks)';
/** Caller frames kept in a stack key: enough to name the call site and its path. */
const FRAMES_KEPT = 8;

/**
 * Frames of the page allocator, of page_owner itself and of the slab
 * allocator refilling a cache: stacks start with them (names across 6.1 to
 * 6.12, _noprof from 6.10), so they say nothing about the caller. The slab's
 * API frame (kmalloc_trace, kmem_cache_alloc_lru_noprof ...) stays.
 */
const INTERNAL_FRAME =
  /^(prep_new_page|post_alloc_hook|get_page_from_freelist|rmqueue\w*|__rmqueue\w*|__?alloc_pages\w*|alloc_pages\w*|__?folio_alloc\w*|__alloc_frozen_pages\w*|alloc_frozen_pages\w*|__?set_page_owner|register_early_stack|__?stack_depot_save\w*|alloc_slab_page|allocate_slab|new_slab|_*slab_alloc\w*|slab_alloc_node|slob_new_pages)$/;

/** " __alloc_pages+0xb8/0x16c [mod]" -> "__alloc_pages [mod]"; GCC clone suffixes (.constprop.0, .isra.0) dropped. */
function frameName(line: string): string {
  return line
    .trim()
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, '')
    .replace(/^([\w$]+)(?:\.\w+\.\d+)+/, '$1');
}

/** The stack key of a record's frames: the caller frames after the allocator's own, at most FRAMES_KEPT. */
export function stackKey(frames: readonly string[]): string {
  const names = frames.map(frameName);
  const first = names.findIndex((n) => !INTERNAL_FRAME.test(n.split(' ')[0]!));
  return (first < 0 ? names : names.slice(first)).slice(0, FRAMES_KEPT).join(' < ') || '(no stack)';
}

/** The top `kept` rows by records (then pages), the rest summed into OTHER_STACK. */
function topStacks(all: Map<string, { records: number; pages: number }>, kept = STACKS_KEPT, by: 'records' | 'pages' = 'records'): StackCount[] {
  const rows = [...all].map(([stack, c]) => ({ stack, ...c })).sort((a, b) => b[by] - a[by] || b.pages - a.pages || a.stack.localeCompare(b.stack));
  const top = rows.slice(0, kept);
  const rest = rows.slice(kept);
  if (rest.length) top.push({ stack: OTHER_STACK, records: rest.reduce((n, r) => n + r.records, 0), pages: rest.reduce((n, r) => n + r.pages, 0) });
  return top;
}

/** page_owner_stacks/show_stacks: stack frames, then "nr_base_pages: N" per stack. */
export function sumStackPages(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/^nr_base_pages: (\d+)$/gm)) total += Number(m[1]);
  return total;
}

/** show_stacks reduced like the dump's stacks: top stacks by nr_base_pages (records: how many kernel stacks merged into the key). */
export function parseShowStacks(text: string): StackCount[] {
  const all = new Map<string, { records: number; pages: number }>();
  let frames: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^nr_base_pages: (\d+)$/.exec(line);
    if (m) {
      const c = all.get(stackKey(frames)) ?? { records: 0, pages: 0 };
      all.set(stackKey(frames), { records: c.records + 1, pages: c.pages + Number(m[1]) });
      frames = [];
    } else if (/^\s+\S/.test(line)) frames.push(line);
  }
  return topStacks(all, STACKS_KEPT, 'pages');
}

const HEADER = /^Page allocated via order (\d+), mask (0x[0-9a-f]+)\((.*?)\), pid (-?\d+), tgid (-?\d+) \((.*)\), ts (\d+) ns(, free_ts \d+ ns)?$/;
const PFN = /^PFN (0x[0-9a-f]+|\d+) type \S+ Block \d+ type \S+ Flags /;
const MIGRATED = /^Page has been migrated, last migrate reason: (.+)$/;
const SLAB = /^Slab cache page$/;
const CHARGED = /^Charged (?:\(via objcg\) )?to (?:offline )?memcg (.*)$/;

const bump = (m: Record<string, number>, k: string, by = 1) => {
  m[k] = (m[k] ?? 0) + by;
};

export class DebugfsParser {
  private readonly s: DebugfsSummary = {
    records: 0,
    pages: 0,
    byOrder: dict(),
    byGfp: dict(),
    byComm: dict(),
    byCommOrder: dict(),
    memcgCharged: 0,
    byMemcg: dict(),
    slabPages: 0,
    migrated: 0,
    migratedByReason: dict(),
    format: { pfn: 'unknown', freeTs: false },
    unparsed: 0,
  };
  private inRecord = false;
  /** The record being read: its order and stack frames, counted when the record ends. */
  private order = -1;
  private frames: string[] = [];
  private readonly byStack = new Map<number, Map<string, { records: number; pages: number }>>();

  push(line: string): void {
    let m: RegExpExecArray | null;
    if ((m = HEADER.exec(line))) {
      this.endRecord();
      const order = Number(m[1]);
      this.order = order;
      this.s.records++;
      this.s.pages += 2 ** order;
      bump(this.s.byOrder, String(order));
      bump(this.s.byGfp, m[3] || m[2]!);
      bump(this.s.byComm, m[6]!);
      bump((this.s.byCommOrder[m[6]!] ??= dict()), String(order));
      if (m[8]) this.s.format.freeTs = true;
      this.inRecord = true;
    } else if ((m = PFN.exec(line))) {
      this.s.format.pfn = m[1]!.startsWith('0x') ? 'hex' : 'decimal';
    } else if ((m = MIGRATED.exec(line))) {
      this.s.migrated++;
      bump(this.s.migratedByReason, m[1]!.trim());
    } else if (this.inRecord && SLAB.test(line)) {
      this.s.slabPages++;
    } else if (this.inRecord && (m = CHARGED.exec(line))) {
      this.s.memcgCharged++;
      bump(this.s.byMemcg, m[1]!);
    } else if (line.trim() === '') {
      this.endRecord();
      this.inRecord = false;
    } else if (this.inRecord && /^\s/.test(line)) {
      this.frames.push(line);
    } else {
      // stack frames are indented; anything else is unexpected
      this.s.unparsed++;
    }
  }

  private endRecord(): void {
    if (this.order < 0) return;
    const byStack = this.byStack.get(this.order) ?? new Map<string, { records: number; pages: number }>();
    this.byStack.set(this.order, byStack);
    const key = stackKey(this.frames);
    const c = byStack.get(key) ?? { records: 0, pages: 0 };
    byStack.set(key, { records: c.records + 1, pages: c.pages + 2 ** this.order });
    this.order = -1;
    this.frames = [];
  }

  summary(): DebugfsSummary {
    this.endRecord();
    this.s.stacks = Object.fromEntries([...this.byStack].sort(([a], [b]) => a - b).map(([order, all]) => [String(order), topStacks(all)]));
    return this.s;
  }
}

export function parseDebugfs(text: string): DebugfsSummary {
  const p = new DebugfsParser();
  for (const line of text.split('\n')) p.push(line);
  return p.summary();
}
