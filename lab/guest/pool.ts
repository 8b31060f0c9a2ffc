/**
 * The guests of one run: one guest serves scenario after scenario until it is
 * tainted (a kernel error on its console or in dmesg, or a scenario that ended
 * in ERROR, so its state is unknown), or until every scenario must get its
 * own (--isolate). A retired guest is stopped at once and the next scenario
 * boots a fresh one. The kernel errors of retired guests are kept.
 */
import type { GuestSession } from './session.ts';

interface PooledGuest {
  session: GuestSession;
}

interface ScenarioOutcome {
  /** The scenario ended in ERROR. */
  error: boolean;
  /** Kernel error lines dmesg showed during the scenario. */
  dmesgErrors: number;
}

export class GuestPool<G extends PooledGuest> {
  private live?: G;
  private errorsAtAcquire = 0;
  boots = 0;
  /** Kernel error lines from the consoles of every retired guest. */
  readonly kernelErrors: string[] = [];

  constructor(
    private readonly boot: (n: number) => Promise<G>,
    private readonly opts: { isolate: boolean },
  ) {}

  async acquire(): Promise<G> {
    if (!this.live) {
      this.boots++;
      this.live = await this.boot(this.boots);
    }
    this.errorsAtAcquire = this.live.session.guest.kernelErrors.length;
    return this.live;
  }

  /** Kernel error lines the live guest's console showed since it was last acquired. */
  newKernelErrors(): { line: string }[] {
    return this.live ? this.live.session.guest.kernelErrors.slice(this.errorsAtAcquire) : [];
  }

  /** Hand the guest back after a scenario; returns whether it was discarded. */
  async release(outcome: ScenarioOutcome): Promise<{ discarded: boolean; tainted: boolean }> {
    const g = this.live;
    if (!g) return { discarded: false, tainted: false };
    const tainted = this.newKernelErrors().length > 0 || outcome.dmesgErrors > 0 || outcome.error;
    if (tainted || this.opts.isolate) {
      await this.retire();
      return { discarded: true, tainted };
    }
    return { discarded: false, tainted };
  }

  /** Ctrl-C: stop the live guest now; the command in flight fails. */
  stopNow(): void {
    void this.live?.session.guest.stop();
  }

  async close(): Promise<void> {
    await this.retire();
  }

  private async retire(): Promise<void> {
    const g = this.live;
    this.live = undefined;
    if (g) this.kernelErrors.push(...(await g.session.close()));
  }
}
