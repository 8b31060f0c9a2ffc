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
 */

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
}

/** page_owner_stacks/show_stacks: stack frames, then "nr_base_pages: N" per stack. */
export function sumStackPages(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/^nr_base_pages: (\d+)$/gm)) total += Number(m[1]);
  return total;
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
    byOrder: {},
    byGfp: {},
    byComm: {},
    byCommOrder: {},
    memcgCharged: 0,
    byMemcg: {},
    slabPages: 0,
    migrated: 0,
    migratedByReason: {},
    format: { pfn: 'unknown', freeTs: false },
    unparsed: 0,
  };
  private inRecord = false;

  push(line: string): void {
    let m: RegExpExecArray | null;
    if ((m = HEADER.exec(line))) {
      const order = Number(m[1]);
      this.s.records++;
      this.s.pages += 2 ** order;
      bump(this.s.byOrder, String(order));
      bump(this.s.byGfp, m[3] || m[2]!);
      bump(this.s.byComm, m[6]!);
      bump((this.s.byCommOrder[m[6]!] ??= {}), String(order));
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
      this.inRecord = false;
    } else if (!(this.inRecord && /^\s/.test(line))) {
      // stack frames are indented; anything else is unexpected
      this.s.unparsed++;
    }
  }

  summary(): DebugfsSummary {
    return this.s;
  }
}

export function parseDebugfs(text: string): DebugfsSummary {
  const p = new DebugfsParser();
  for (const line of text.split('\n')) p.push(line);
  return p.summary();
}
