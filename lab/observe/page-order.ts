/** Parser for /proc/page_order, the page_order module's table. */
import { InfraError } from '../core/errors.ts';

interface PageOrderRow {
  order: number;
  participation: number;
  seen: number;
  recorded: number;
}

export interface PageOrderTable {
  rows: PageOrderRow[];
  otherSeen: number;
  nmissed: number;
}

export function parsePageOrder(text: string): PageOrderTable {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines[0] !== 'order participation seen recorded') {
    throw new InfraError('BAD_OBSERVER_OUTPUT', `/proc/page_order: unexpected header ${JSON.stringify(lines[0] ?? '')}`);
  }
  const table: PageOrderTable = { rows: [], otherSeen: 0, nmissed: 0 };
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^(\d+) (\d+) (\d+) (\d+)$/.exec(line))) {
      table.rows.push({ order: Number(m[1]), participation: Number(m[2]), seen: Number(m[3]), recorded: Number(m[4]) });
    } else if ((m = /^other - (\d+) \d+$/.exec(line))) {
      table.otherSeen = Number(m[1]);
    } else if ((m = /^nmissed (\d+)$/.exec(line))) {
      table.nmissed = Number(m[1]);
    } else {
      throw new InfraError('BAD_OBSERVER_OUTPUT', `/proc/page_order: cannot parse line ${JSON.stringify(line)}`);
    }
  }
  return table;
}
