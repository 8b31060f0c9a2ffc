import { describe, expect, it } from 'vitest';
import { checkConfigured, configureCommand } from '../../lab/observers/guest-observers.ts';

describe("the page_order module's table per scenario, written to the loaded module", () => {
  const filter = { orders: [0, 9, 1], participation: [100, 50, 0] };

  it('hides every row, writes one per order, and prints the table', () => {
    expect(configureCommand(filter)).toBe(
      "echo clear > /proc/page_order && echo '0 100' > /proc/page_order && echo '9 50' > /proc/page_order && echo '1 0' > /proc/page_order && cat /proc/page_order",
    );
    expect(configureCommand({ orders: [0] })).toBe("echo clear > /proc/page_order && echo '0 100' > /proc/page_order && cat /proc/page_order");
  });

  // printed by a 6.12.117 guest after module-filter's configuration (counting goes on until "reset")
  const table = 'order participation seen recorded\n0 100 92 91\n1 0 19 0\n9 50 0 0\nother - 0 0\nnmissed 0\n';

  it('accepts the table that shows exactly the orders and participation asked for', () => {
    expect(checkConfigured(filter, table).rows.map((r) => [r.order, r.participation])).toEqual([
      [0, 100],
      [1, 0],
      [9, 50],
    ]);
  });

  it('refuses a table with a row more, a row less or another participation', () => {
    expect(() => checkConfigured({ orders: [0, 9], participation: [100, 50] }, table)).toThrow(/shows orders 0:100 1:0 9:50 after configuration, asked for 0:100 9:50/);
    expect(() => checkConfigured({ orders: [0, 9, 1, 2], participation: [100, 50, 0, 100] }, table)).toThrow(/MODULE_CONFIG_FAILED|asked for/);
    expect(() => checkConfigured({ orders: [0, 9, 1], participation: [100, 100, 0] }, table)).toThrow(/asked for 0:100 1:0 9:100/);
  });
});
