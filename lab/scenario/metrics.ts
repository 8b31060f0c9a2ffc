/**
 * The metrics an expectation may name, as patterns. A scenario is checked
 * against these before any VM boots, so a typo fails in milliseconds.
 */
export interface MetricFamily {
  pattern: RegExp;
  example: string;
  meaning: string;
}

export const metricFamilies: readonly MetricFamily[] = [
  { pattern: /^module\.(seen|recorded|participation)\[\d+\]$/, example: 'module.seen[9]', meaning: 'page_order module: allocations seen / recorded per order' },
  { pattern: /^module\.(nmissed|other)$/, example: 'module.nmissed', meaning: 'page_order module: kprobe misses, orders beyond the table' },
  { pattern: /^bpf\.(set|reset)\[\d+\]$/, example: 'bpf.set[9]', meaning: 'bpftrace: __set_page_owner / __reset_page_owner events per order' },
  { pattern: /^bpf\.lost$/, example: 'bpf.lost', meaning: 'bpftrace: lost events' },
  { pattern: /^vmstat\.\w+\.(delta|before|after)$/, example: 'vmstat.htlb_buddy_alloc_success.delta', meaning: '/proc/vmstat counter around the steps' },
];

export function isKnownMetric(name: string): boolean {
  return metricFamilies.some((f) => f.pattern.test(name));
}

/** Candidate spellings for did-you-mean hints: the examples, with the index of the name given. */
export function metricSuggestions(name: string): string[] {
  const index = /\[(\d+)\]/.exec(name)?.[1];
  return metricFamilies.flatMap((f) => {
    const base = index ? f.example.replace(/\[\d+\]/, `[${index}]`) : f.example;
    // alternatives right after the namespace (module.seen|recorded) give more candidates
    const alts = /^\^\w+\\\.\((\w+(?:\|\w+)*)\)/.exec(f.pattern.source)?.[1]?.split('|') ?? [];
    return [base, ...alts.map((a) => base.replace(/^(\w+)\.\w+/, `$1.${a}`))];
  });
}
