/**
 * The one registry of metrics: every name a scenario, a cross-check or a
 * report can use. Each family holds its pattern, the observer it needs, how
 * its value is read from the observations, an example and a meaning.
 * Validation (scenario/load.ts), the judge, the reports and the metric
 * list in docs/scenarios.md (npm run docs) all read this table and nothing else.
 *
 * bpftrace families come from bpf/hooks.yaml: adding an event there gives a
 * metric named after its map, with no TypeScript to edit.
 */
import { isProbed, mapName, type Hooks } from '../observe/hooks.ts';
import type { Observations } from '../observe/observations.ts';

/** Who provides a metric: the runner reads only the observers a scenario's references need. */
export type Observer = 'module' | 'bpf' | 'debugfs' | 'dmesg' | 'vmstat';

interface MetricFamily {
  pattern: RegExp;
  observer: Observer;
  example: string;
  meaning: string;
  /** The value, or undefined when this kernel or its observer did not provide it. */
  read(match: RegExpExecArray, obs: Observations): number | undefined;
}

const sum = (m: Record<string, number> | undefined) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);
/** count per order -> base pages: sum of count * 2^order. */
const pagesOf = (m: Record<string, number> | undefined) => Object.entries(m ?? {}).reduce((a, [order, n]) => a + n * 2 ** Number(order), 0);
const alternatives = (names: readonly string[]) => names.map((n) => n.replace(/\W/g, '\\$&')).join('|');

function moduleFamilies(): MetricFamily[] {
  return [
    {
      pattern: /^module\.(seen|recorded|participation)\[(\d+)\]$/,
      observer: 'module',
      example: 'module.seen[9]',
      meaning: 'page_order module: allocations seen / recorded per order, and the order\'s participation percent',
      read: (m, o) => o.module?.rows.find((r) => r.order === Number(m[2]))?.[m[1] as 'seen' | 'recorded' | 'participation'],
    },
    {
      pattern: /^module\.(seen|recorded)$/,
      observer: 'module',
      example: 'module.seen',
      meaning: 'page_order module: allocations seen / recorded over all its orders',
      read: (m, o) => o.module?.rows.reduce((a, r) => a + r[m[1] as 'seen' | 'recorded'], 0),
    },
    {
      pattern: /^module\.pages$/,
      observer: 'module',
      example: 'module.pages',
      meaning: 'page_order module: base pages allocated, sum of seen[N] * 2^N over its orders',
      read: (_m, o) => o.module && pagesOf(Object.fromEntries(o.module.rows.map((r) => [r.order, r.seen]))),
    },
    {
      pattern: /^module\.nmissed$/,
      observer: 'module',
      example: 'module.nmissed',
      meaning: 'page_order module: kprobe hits missed (another probe handler was running on that CPU)',
      read: (_m, o) => o.module?.nmissed,
    },
    {
      pattern: /^module\.other$/,
      observer: 'module',
      example: 'module.other',
      meaning: 'page_order module: allocations of orders beyond its table (above 18)',
      read: (_m, o) => o.module?.otherSeen,
    },
  ];
}

function bpfFamilies(hooks: Hooks): MetricFamily[] {
  const out: MetricFamily[] = [];
  const map = (o: Observations, name: string) => o.bpf?.maps[name] ?? {};
  for (const hook of hooks.events.filter((h) => !h.init_only)) {
    const name = mapName(hook.event);
    const probed = (o: Observations) => o.bpf !== undefined && isProbed(o.probes, hook.event);
    if (hook.args === 'order') {
      const maps = [name, `${name}_lab`, `${name}_comm`];
      out.push(
        {
          pattern: new RegExp(`^bpf\\.(${alternatives(maps)})\\[(\\d+)\\]$`),
          observer: 'bpf',
          example: `bpf.${name}[9]`,
          meaning: `bpftrace: ${hook.event} events (${hook.functions[0]}) per order; _lab: by the lab's own processes (bpftrace, dropbear); _comm: by the workload (bpftrace.comm)`,
          read: (m, o) => (probed(o) ? (map(o, m[1]!)[m[2]!] ?? 0) : undefined),
        },
        {
          pattern: new RegExp(`^bpf\\.(${alternatives(maps)})$`),
          observer: 'bpf',
          example: `bpf.${name}`,
          meaning: `bpftrace: ${hook.event} events over all orders`,
          read: (m, o) => (probed(o) ? sum(map(o, m[1]!)) : undefined),
        },
        {
          pattern: new RegExp(`^bpf\\.(${alternatives(maps)})_pages$`),
          observer: 'bpf',
          example: `bpf.${name}_pages`,
          meaning: `bpftrace: base pages of the ${hook.event} events, sum of ${name}[N] * 2^N`,
          read: (m, o) => (probed(o) ? pagesOf(map(o, m[1]!)) : undefined),
        },
      );
    } else if (hook.args === 'split') {
      out.push({
        pattern: new RegExp(`^bpf\\.(${name}|${name}_pages|${name}_folios)$`),
        observer: 'bpf',
        example: `bpf.${name}_folios`,
        meaning: `bpftrace: ${hook.event} events; _pages: base pages split; _folios: folios they became (equal to pages when splitting to order 0)`,
        read: (m, o) => (probed(o) ? (map(o, m[1]!)[''] ?? 0) : undefined),
      });
    } else if (hook.args === 'reason') {
      out.push({
        pattern: new RegExp(`^bpf\\.${name}(?:\\[(\\w+)\\])?$`),
        observer: 'bpf',
        example: `bpf.${name}[compaction]`,
        meaning: `bpftrace: ${hook.event} events, in all or by reason (a name from bpf/hooks.yaml migrate_reasons, or its number)`,
        read: (m, o) => {
          if (!probed(o)) return undefined;
          if (m[1] === undefined) return sum(map(o, name));
          const index = /^\d+$/.test(m[1]) ? Number(m[1]) : hooks.migrate_reasons.indexOf(m[1]);
          return index < 0 ? undefined : (map(o, name)[String(index)] ?? 0);
        },
      });
    } else {
      out.push({
        pattern: new RegExp(`^bpf\\.${name}$`),
        observer: 'bpf',
        example: `bpf.${name}`,
        meaning: `bpftrace: ${hook.event} events (${hook.functions[0]})`,
        read: (_m, o) => (probed(o) ? (map(o, name)[''] ?? 0) : undefined),
      });
    }
  }
  // trace lines are counted under the event's name, spaces as underscores (set_migrate)
  const traced = hooks.events.filter((h) => !h.init_only).map((h) => h.event.replace(/ /g, '_'));
  out.push(
    {
      pattern: /^bpf\.lost$/,
      observer: 'bpf',
      example: 'bpf.lost',
      meaning: 'bpftrace: events lost ("Lost N events" lines)',
      read: (_m, o) => o.bpf?.lostEvents,
    },
    {
      pattern: new RegExp(`^bpf\\.traced\\[(${alternatives(traced)})\\]$`),
      observer: 'bpf',
      example: 'bpf.traced[set]',
      meaning: 'bpftrace trace mode: lines printed per event, in the seed\'s format',
      read: (m, o) => (o.bpf ? (o.bpf.traced[m[1]!] ?? 0) : undefined),
    },
  );
  return out;
}

function debugfsFamilies(): MetricFamily[] {
  const d = (o: Observations) => o.debugfs;
  return [
    {
      pattern: /^debugfs\.records$/,
      observer: 'debugfs',
      example: 'debugfs.records',
      meaning: '/sys/kernel/debug/page_owner: live allocation records (one per head page)',
      read: (_m, o) => d(o)?.records,
    },
    {
      pattern: /^debugfs\.records\[(\d+)\]$/,
      observer: 'debugfs',
      example: 'debugfs.records[9]',
      meaning: '/sys/kernel/debug/page_owner: live records per order',
      read: (m, o) => d(o) && (d(o)!.byOrder[m[1]!] ?? 0),
    },
    {
      pattern: /^debugfs\.records_comm\[(\d+)\]$/,
      observer: 'debugfs',
      example: 'debugfs.records_comm[0]',
      meaning: '/sys/kernel/debug/page_owner: live records per order allocated by the workload (tasks whose comm starts with bpftrace.comm)',
      read: (m, o) => {
        const dump = d(o);
        if (!dump || !o.comm) return undefined;
        return Object.entries(dump.byCommOrder)
          .filter(([comm]) => comm.startsWith(o.comm!))
          .reduce((a, [, byOrder]) => a + (byOrder[m[1]!] ?? 0), 0);
      },
    },
    {
      pattern: /^debugfs\.pages$/,
      observer: 'debugfs',
      example: 'debugfs.pages',
      meaning: '/sys/kernel/debug/page_owner: base pages covered by the records (sum of 2^order)',
      read: (_m, o) => d(o)?.pages,
    },
    {
      pattern: /^debugfs\.migrated(?:\[(\w+)\])?$/,
      observer: 'debugfs',
      example: 'debugfs.migrated[compaction]',
      meaning: '/sys/kernel/debug/page_owner: records of migrated pages, in all or by last migrate reason',
      read: (m, o) => d(o) && (m[1] === undefined ? d(o)!.migrated : (d(o)!.migratedByReason[m[1]] ?? 0)),
    },
    {
      pattern: /^debugfs\.memcg\[(\w+)\]$/,
      observer: 'debugfs',
      example: 'debugfs.memcg[lab_memcg]',
      meaning: '/sys/kernel/debug/page_owner: records charged to the memory cgroup of that name',
      read: (m, o) => d(o) && (d(o)!.byMemcg[m[1]!] ?? 0),
    },
    {
      pattern: /^debugfs\.(memcg_charged|slab_pages)$/,
      observer: 'debugfs',
      example: 'debugfs.memcg_charged',
      meaning: '/sys/kernel/debug/page_owner: records charged to a memory cgroup, records of slab pages (CONFIG_MEMCG)',
      read: (m, o) => d(o) && (m[1] === 'memcg_charged' ? d(o)!.memcgCharged : d(o)!.slabPages),
    },
    {
      pattern: /^debugfs\.unparsed$/,
      observer: 'debugfs',
      example: 'debugfs.unparsed',
      meaning: '/sys/kernel/debug/page_owner: lines the parser did not recognise (the lab checks it is 0)',
      read: (_m, o) => d(o)?.unparsed,
    },
    {
      pattern: /^debugfs\.stack_pages$/,
      observer: 'debugfs',
      example: 'debugfs.stack_pages',
      meaning: 'page_owner_stacks/show_stacks (6.9+): nr_base_pages summed over the stacks',
      read: (_m, o) => d(o)?.stackPages,
    },
  ];
}

function dmesgFamilies(): MetricFamily[] {
  return [
    {
      pattern: /^dmesg\.page_ext_bytes$/,
      observer: 'dmesg',
      example: 'dmesg.page_ext_bytes',
      meaning: 'kernel log: "allocated N bytes of page_ext" (need_page_owner ran at boot)',
      read: (_m, o) => o.dmesg?.pageExtBytes,
    },
    {
      pattern: /^dmesg\.early_allocated_pages$/,
      observer: 'dmesg',
      example: 'dmesg.early_allocated_pages',
      meaning: 'kernel log: "page owner found early allocated N pages", summed over zones (init_page_owner ran)',
      read: (_m, o) => o.dmesg?.earlyAllocatedPages,
    },
    {
      pattern: /^dmesg\.kernel_errors$/,
      observer: 'dmesg',
      example: 'dmesg.kernel_errors',
      meaning: 'kernel log: error lines (BUG, WARNING, Oops, KASAN, lockups, hung tasks)',
      read: (_m, o) => o.dmesg?.kernelErrors.length,
    },
  ];
}

function vmstatFamilies(): MetricFamily[] {
  const at = (o: Observations, when: 'before' | 'after', counter: (c: string) => boolean) => {
    const snap = when === 'before' ? o.vmstatBefore : o.vmstatAfter;
    const keys = Object.keys(snap ?? {}).filter(counter);
    return snap && keys.length ? keys.reduce((a, k) => a + snap[k]!, 0) : undefined;
  };
  const value = (o: Observations, part: string, counter: (c: string) => boolean) => {
    const before = at(o, 'before', counter);
    const after = at(o, 'after', counter);
    if (before === undefined || after === undefined) return undefined;
    return part === 'before' ? before : part === 'after' ? after : after - before;
  };
  return [
    {
      // before the generic family: pgalloc_sum is not a kernel counter
      pattern: /^vmstat\.pgalloc_sum\.(delta|before|after)$/,
      observer: 'vmstat',
      example: 'vmstat.pgalloc_sum.delta',
      meaning: '/proc/vmstat: pgalloc_* summed over zones (base pages the buddy allocator handed out)',
      read: (m, o) => value(o, m[1]!, (c) => c.startsWith('pgalloc_')),
    },
    {
      pattern: /^vmstat\.(\w+)\.(delta|before|after)$/,
      observer: 'vmstat',
      example: 'vmstat.htlb_buddy_alloc_success.delta',
      meaning: '/proc/vmstat counter before the steps, after them, or the difference',
      read: (m, o) => value(o, m[2]!, (c) => c === m[1]),
    },
  ];
}

export class MetricRegistry {
  readonly families: readonly MetricFamily[];

  constructor(hooks: Hooks) {
    this.families = [...moduleFamilies(), ...bpfFamilies(hooks), ...debugfsFamilies(), ...dmesgFamilies(), ...vmstatFamilies()];
  }

  /** The family a name belongs to (the first whose pattern matches), with the match. */
  resolve(name: string): { family: MetricFamily; match: RegExpExecArray } | undefined {
    for (const family of this.families) {
      const match = family.pattern.exec(name);
      if (match) return { family, match };
    }
    return undefined;
  }

  isKnown(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  read(name: string, obs: Observations): number | undefined {
    const r = this.resolve(name);
    return r ? r.family.read(r.match, obs) : undefined;
  }

  /** The observers a set of names needs (names that are not metrics, i.e. variables, need none). */
  observersOf(names: Iterable<string>): Observer[] {
    const out = new Set<Observer>();
    for (const n of names) {
      const r = this.resolve(n);
      if (r) out.add(r.family.observer);
    }
    return [...out].sort();
  }

  /** Candidate spellings for did-you-mean hints: every example, with the index of the name given. */
  suggestions(name: string): string[] {
    const index = /\[(\w+)\]/.exec(name)?.[1];
    return this.families.flatMap((f) => {
      const base = index ? f.example.replace(/\[\w+\]/, `[${index}]`) : f.example;
      // alternatives after the namespace (module.(seen|recorded)) give more candidates
      const alts = /^\^\w+\\\.\(([\w|]+)\)/.exec(f.pattern.source)?.[1]?.split('|') ?? [];
      return [base, ...alts.map((a) => base.replace(/^(\w+)\.\w+/, `$1.${a}`))];
    });
  }

  /** The metric list as Markdown (docs/scenarios.md's list is generated from it). */
  markdown(): string {
    const rows = this.families.map((f) => `| \`${f.example}\` | ${f.observer} | ${f.meaning} |`);
    return ['| example | observer | meaning |', '|---|---|---|', ...rows].join('\n');
  }
}
