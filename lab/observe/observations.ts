/** Everything the observers saw during one scenario, as parsed values. */
import type { BpftraceOutput } from './bpftrace.ts';
import type { PageOrderTable } from './page-order.ts';
import type { Vmstat } from './vmstat.ts';

export interface Observations {
  module?: PageOrderTable;
  bpf?: BpftraceOutput;
  vmstatBefore?: Vmstat;
  vmstatAfter?: Vmstat;
}
