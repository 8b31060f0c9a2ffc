/**
 * The page_owner hooks the observers watch (bpf/hooks.yaml) and the per-kernel
 * probe map: which of them exist in the running guest, renamed, init-only,
 * missing or blacklisted. Which hooks exist differs between versions, so the
 * map is read from the guest (kallsyms, kprobe blacklist, dmesg).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { loadYaml } from '../core/data.ts';

const HookSchema = z.strictObject({
  event: z.string().min(1),
  functions: z.array(z.string().regex(/^\w+$/)).min(1),
  args: z.enum(['order', 'split', 'reason']).optional(),
  init_only: z.boolean().default(false),
  evidence: z.string().optional(),
});
const HooksSchema = z.strictObject({
  events: z.array(HookSchema).min(1),
  migrate_reasons: z.array(z.string()).min(1),
  split_orders_since: z.string().regex(/^\d+\.\d+$/),
});
export type Hooks = z.infer<typeof HooksSchema>;

export function loadHooks(repo: string): Promise<Hooks> {
  return loadYaml(join(repo, 'bpf', 'hooks.yaml'), HooksSchema);
}

type ProbeStatus = 'probed' | 'renamed' | 'init-only' | 'missing' | 'blacklisted';

export interface ProbeMapEntry {
  event: string;
  /** The function probed (or that would be), when one exists. */
  function?: string;
  status: ProbeStatus;
  note: string;
}

export function probeMap(hooks: Hooks, discovery: string, dmesg: string): ProbeMapEntry[] {
  const [symsPart = '', blacklistPart = ''] = discovery.split('--- blacklist');
  const symbols = new Set(symsPart.split('\n').map((l) => l.trim().split(/\s+/)[2]).filter(Boolean));
  const blacklisted = new Set(blacklistPart.split('\n').map((l) => l.trim().split(/\s+/).pop()).filter(Boolean));
  return hooks.events.map((h) => {
    const found = h.functions.find((f) => symbols.has(f));
    if (h.init_only) {
      const evidence = h.evidence ? new RegExp(h.evidence).exec(dmesg)?.[0] : undefined;
      return {
        event: h.event,
        function: h.functions[0],
        status: 'init-only',
        note: `not probeable after boot (__init, text freed)${evidence ? `; it ran: dmesg "${evidence}"` : '; no dmesg evidence that it ran'}`,
      };
    }
    if (!found) return { event: h.event, status: 'missing', note: `none of ${h.functions.join(', ')} in /proc/kallsyms` };
    if (blacklisted.has(found)) return { event: h.event, function: found, status: 'blacklisted', note: `${found} is in the kprobe blacklist` };
    if (found !== h.functions[0]) {
      return { event: h.event, function: found, status: 'renamed', note: `${h.functions[0]} does not exist: probing ${found}` };
    }
    return { event: h.event, function: found, status: 'probed', note: '' };
  });
}

/** bpftrace map name of an event ("set migrate" -> migrate). */
export function mapName(event: string): string {
  return event === 'set migrate' ? 'migrate' : event.replace(/\W+/g, '_');
}

/** An entry whose function is probed in this guest (under the event's own name or a new one). */
export const probesFunction = (p: ProbeMapEntry): boolean => p.status === 'probed' || p.status === 'renamed';

/** Events that were probed (under their own name or a new one) in this guest. */
export function isProbed(map: readonly ProbeMapEntry[] | undefined, event: string): boolean {
  return (map ?? []).some((p) => p.event === event && probesFunction(p));
}

/** The functions this guest probes, each once. */
export function probedFunctions(map: readonly ProbeMapEntry[]): string[] {
  return [...new Set(map.filter(probesFunction).map((p) => p.function!))];
}
