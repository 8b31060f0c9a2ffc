/**
 * The page_order module in a guest: its parameters (the orders it counts, and
 * how much of each it lets through), its path there, and loading it, with the
 * kernel's reason when insmod fails.
 */
import { InfraError } from '../core/errors.ts';
import type { GuestShell } from '../guest/ssh.ts';

export interface ModuleParams {
  orders: number[];
  participation?: number[];
}

export const GUEST_MODULE_PATH = '/tmp/page_order.ko';

/** No orders: the module's default table (orders 0-10). */
function insmodCommand(p: ModuleParams): string {
  const args = p.orders.length ? [`orders=${p.orders.join(',')}`] : [];
  if (p.participation) args.push(`participation=${p.participation.join(',')}`);
  return ['insmod', GUEST_MODULE_PATH, ...args].join(' ');
}

export async function loadModule(shell: GuestShell, p: ModuleParams): Promise<void> {
  const r = await shell.exec(insmodCommand(p), { allowFailure: true, timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    const dmesg = await shell.exec('dmesg | grep page_order | tail -5', { allowFailure: true });
    throw new InfraError('MODULE_LOAD_FAILED', `insmod page_order failed: ${r.stderr.trim()}`, {
      dmesg: dmesg.stdout.trim(),
    });
  }
}
