/** Everything the observers saw during one scenario, as parsed values. */
import type { ProbeMapEntry } from './hooks.ts';
import type { BpftraceOutput } from './bpftrace.ts';
import type { DebugfsSummary } from './debugfs.ts';
import type { DmesgFacts } from './dmesg.ts';
import type { PageOrderTable } from './page-order.ts';
import type { Vmstat } from './vmstat.ts';

export interface Observations {
  module?: PageOrderTable;
  bpf?: BpftraceOutput;
  /** Which hooks bpftrace probed in this kernel; events not probed have no bpf.* value. */
  probes?: ProbeMapEntry[];
  /** The workload's task name prefix (a scenario's bpftrace.comm), for the *_comm metrics. */
  comm?: string;
  debugfs?: DebugfsSummary;
  dmesg?: DmesgFacts;
  vmstatBefore?: Vmstat;
  vmstatAfter?: Vmstat;
}
