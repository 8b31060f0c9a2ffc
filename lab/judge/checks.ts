/**
 * Lab checks: cross-checks the lab applies to every scenario on top of its
 * own expectations, written in the same language so they explain themselves.
 *
 * The module and bpftrace observe the same hook. bpftrace's window contains
 * the module's: it is attached before the module's counters are reset and
 * stopped after they are read. The difference is what the reading commands
 * themselves allocate in between (ssh, cat, bpftrace printing its maps and
 * exiting): measured 263-329 order-0 pages on 6.12 and 380-444 on 6.1 in
 * every scenario, about 120 order-1; other orders rarely differ at all. The
 * slack is twice the worst seen.
 *
 * Both observers also see at least what the allocator counted: every buddy
 * allocation passes __set_page_owner, and bpftrace's window contains the
 * vmstat reads, so the base pages bpftrace saw set cover pgalloc_* summed
 * over zones (compaction's migration targets add sets without a pgalloc
 * count, never the other way). The slack covers one allocation in flight at
 * each edge of the vmstat window (an order-9 is 512 pages). A probe that went
 * blind (docs/reliability.md: stale translations under multi-threaded TCG)
 * fails this in every scenario, not only in the one that asserts it.
 */
import { isProbed } from '../observe/hooks.ts';
import type { Observations } from '../observe/observations.ts';
import { compileExpectation, type CompiledExpectation } from './judge.ts';

export const WINDOW_SLACK_PAGES = 1024;

export function labChecks(obs: Observations, opts: { allowMissed: boolean | number; window?: number }): CompiledExpectation[] {
  const slack = opts.window ?? WINDOW_SLACK_PAGES;
  const checks: { expect: string }[] = [];
  const probed = (event: string) => isProbed(obs.probes, event);
  if (obs.module && obs.bpf && probed('set')) {
    for (const row of obs.module.rows) {
      checks.push({ expect: `bpf.set[${row.order}] >= module.seen[${row.order}]` });
      checks.push({ expect: `bpf.set[${row.order}] - module.seen[${row.order}] <= max(${slack}, module.seen[${row.order}] / 20)` });
    }
  }
  if (obs.bpf && probed('set') && obs.vmstatBefore && obs.vmstatAfter) {
    checks.push({ expect: `bpf.set_pages + ${WINDOW_SLACK_PAGES} >= vmstat.pgalloc_sum.delta` });
  }
  if (opts.allowMissed !== true) {
    const budget = opts.allowMissed === false ? 0 : opts.allowMissed;
    if (obs.module) checks.push({ expect: budget ? `module.nmissed <= ${budget}` : 'module.nmissed == 0' });
    if (obs.bpf) checks.push({ expect: 'bpf.lost == 0' });
  }
  if (obs.bpf && probed('dump')) checks.push({ expect: 'bpf.dump == 0' });
  if (obs.debugfs) checks.push({ expect: 'debugfs.unparsed == 0' });
  if (obs.dmesg) checks.push({ expect: 'dmesg.kernel_errors == 0' });
  return checks.map((c) => compileExpectation(c.expect));
}
