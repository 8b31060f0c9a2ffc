/**
 * The metrics an expectation may name, as patterns. A scenario is checked
 * against these before any VM boots, so a typo fails in milliseconds.
 */
export interface MetricFamily {
  pattern: RegExp;
  example: string;
  meaning: string;
}

const ORDER_EVENTS = 'set|reset|set_lab|reset_lab|set_comm|reset_comm';

export const metricFamilies: readonly MetricFamily[] = [
  { pattern: /^module\.(seen|recorded|participation)\[\d+\]$/, example: 'module.seen[9]', meaning: 'page_order module: allocations seen / recorded per order, participation percent' },
  { pattern: /^module\.(seen|recorded|nmissed|other)$/, example: 'module.nmissed', meaning: 'page_order module: totals over its orders, kprobe misses, orders beyond its table' },
  { pattern: new RegExp(`^bpf\\.(${ORDER_EVENTS})\\[\\d+\\]$`), example: 'bpf.set[9]', meaning: 'bpftrace: set/reset events per order (_lab: by bpftrace and the SSH server; _comm: by the workload)' },
  { pattern: new RegExp(`^bpf\\.(${ORDER_EVENTS})$`), example: 'bpf.set', meaning: 'bpftrace: set/reset events over all orders' },
  { pattern: /^bpf\.(split|split_pages|copy|dump|read|migrate|lost)$/, example: 'bpf.split', meaning: 'bpftrace: events of the other hooks; split_pages = pages produced by splits; lost = lost events' },
  { pattern: /^bpf\.migrate\[\w+\]$/, example: 'bpf.migrate[compaction]', meaning: 'bpftrace: set-migrate events by reason' },
  { pattern: /^bpf\.traced\[(set|reset|split|copy|set_migrate|dump|read)\]$/, example: 'bpf.traced[set]', meaning: 'bpftrace trace mode: lines printed per event' },
  { pattern: /^debugfs\.(records|pages|migrated|unparsed|stack_pages)$/, example: 'debugfs.records', meaning: '/sys/kernel/debug/page_owner: live records, base pages, migrated pages; stack_pages: nr_base_pages summed over page_owner_stacks/show_stacks (6.9+)' },
  { pattern: /^debugfs\.records\[\d+\]$/, example: 'debugfs.records[9]', meaning: '/sys/kernel/debug/page_owner: live records per order' },
  { pattern: /^debugfs\.migrated\[\w+\]$/, example: 'debugfs.migrated[compaction]', meaning: '/sys/kernel/debug/page_owner: migrated pages by last reason' },
  { pattern: /^dmesg\.(page_ext_bytes|early_allocated_pages|kernel_errors)$/, example: 'dmesg.kernel_errors', meaning: 'kernel log: page_owner boot lines, error lines (BUG, WARNING, Oops ...)' },
  { pattern: /^vmstat\.\w+\.(delta|before|after)$/, example: 'vmstat.htlb_buddy_alloc_success.delta', meaning: '/proc/vmstat counter around the steps' },
];

export function isKnownMetric(name: string): boolean {
  return metricFamilies.some((f) => f.pattern.test(name));
}

/** Candidate spellings for did-you-mean hints: the examples, with the index of the name given. */
export function metricSuggestions(name: string): string[] {
  const index = /\[(\w+)\]/.exec(name)?.[1];
  return metricFamilies.flatMap((f) => {
    const base = index ? f.example.replace(/\[\w+\]/, `[${index}]`) : f.example;
    // alternatives right after the namespace (module.seen|recorded) give more candidates
    const alts = /^\^\w+\\\.\((\w+(?:\|\w+)*)\)/.exec(f.pattern.source)?.[1]?.split('|') ?? [];
    return [base, ...alts.map((a) => base.replace(/^(\w+)\.\w+/, `$1.${a}`))];
  });
}

/** Does an expression use the page_owner dump? Then the runner reads it (it takes a while under TCG). */
export function usesDebugfs(refs: string[]): boolean {
  return refs.some((r) => r.startsWith('debugfs.'));
}
