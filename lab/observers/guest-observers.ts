/**
 * The observers one guest keeps across its scenarios: the page_order module,
 * loaded once and given each scenario's table by writes to /proc/page_order,
 * and one bpftrace started when the guest is prepared, whose maps each
 * scenario clears and prints between two markers (a window), in summary or
 * trace mode. A scenario whose workload name the shared script does not count
 * starts its own bpftrace, as every scenario once did.
 * A new guest (the pool retires a tainted one) gets new observers.
 */
import { InfraError } from '../core/errors.ts';
import type { GuestShell } from '../guest/ssh.ts';
import { parsePageOrder, type PageOrderTable } from '../observe/page-order.ts';
import { attachBpftrace, uploadScript, type RunningBpftrace } from './bpftrace.ts';
import { GUEST_MODULE_PATH, loadModule, type ModuleParams } from './module.ts';

/** What the shared bpftrace counts apart: the workloads of these task-name prefixes. */
export interface SharedBpftrace {
  commPrefixes: readonly string[];
}

export const ATTACH_TIMEOUT_MS = 120_000;

export class GuestObservers {
  private moduleLoaded = false;
  private windows = 0;
  private shared?: Promise<RunningBpftrace>;

  constructor(
    private readonly shell: GuestShell,
    /** The shared script, generated for this guest (probes.ts, with windows), or none: every scenario starts its own. */
    readonly sharedScript?: { script: string; commPrefixes: readonly string[] },
  ) {}

  /** Upload the shared script and start bpftrace without waiting for it: it attaches while the guest does other work. */
  async startShared(): Promise<void> {
    if (!this.sharedScript) return;
    const started = attachBpftrace(this.shell, await uploadScript(this.shell, this.sharedScript.script, '/tmp/lab-shared.bt'), ATTACH_TIMEOUT_MS);
    this.shared = started;
    // awaited by the next scenario that shares it: a failed start is that scenario's ERROR, and
    // a later one starts it again
    started.catch(() => {
      if (this.shared === started) this.shared = undefined;
    });
  }

  /** Whether a scenario with these bpftrace settings can take its window from the shared bpftrace. */
  shares(settings: { comm?: string }): boolean {
    return Boolean(this.sharedScript) && (!settings.comm || this.sharedScript!.commPrefixes.includes(settings.comm));
  }

  /** The shared bpftrace, attached (started again if it exited), and the number of the next window. */
  async sharedBpftrace(): Promise<{ bpf: RunningBpftrace; window: number }> {
    if (!this.shared) await this.startShared();
    let bpf = await this.shared!;
    if (bpf.exited) {
      await this.startShared();
      bpf = await this.shared!;
    }
    return { bpf, window: ++this.windows };
  }

  /** The page_order module, loaded once per guest; false when this guest has not loaded it yet. */
  get loaded(): boolean {
    return this.moduleLoaded;
  }

  async loadModule(): Promise<void> {
    if (this.moduleLoaded) return;
    // every order shown: each scenario's configureCommand chooses its own rows
    await loadModule(this.shell, { orders: [] });
    this.moduleLoaded = true;
  }
}

/**
 * The guest command that gives the loaded module a scenario's table: every row hidden and the
 * counters zeroed ("clear"), then one write per order, then the table printed, which
 * `checkConfigured` compares with what was asked. The counters still run: "reset" starts the
 * scenario's window.
 */
export function configureCommand(p: ModuleParams): string {
  const writes = p.orders.map((o, i) => `echo '${o} ${p.participation?.[i] ?? 100}' > /proc/page_order`);
  return ['echo clear > /proc/page_order', ...writes, 'cat /proc/page_order'].join(' && ');
}

/** The table after configureCommand: exactly the scenario's orders at its participation, else MODULE_CONFIG_FAILED. */
export function checkConfigured(p: ModuleParams, tableText: string): PageOrderTable {
  const table = parsePageOrder(tableText);
  const want = p.orders.map((o, i) => `${o}:${p.participation?.[i] ?? 100}`).sort();
  const got = table.rows.map((r) => `${r.order}:${r.participation}`).sort();
  if (want.join(' ') !== got.join(' ')) {
    throw new InfraError('MODULE_CONFIG_FAILED', `${GUEST_MODULE_PATH} shows orders ${got.join(' ')} after configuration, asked for ${want.join(' ')}`, {
      table: tableText,
    });
  }
  return table;
}
