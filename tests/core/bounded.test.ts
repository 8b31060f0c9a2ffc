import { describe, expect, it } from 'vitest';
import { BoundedBuffer, LineSplitter } from '../../lab/core/bounded.ts';

describe('BoundedBuffer', () => {
  const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `l${from + i}\n`).join('');

  it('keeps everything within its bound, unmarked', () => {
    const b = new BoundedBuffer({ head: 100, tail: 100 });
    b.push(Buffer.from(lines(1, 20)));
    expect(b.text('x.log')).toBe(lines(1, 20));
    expect(b.omitted).toBe(0);
  });

  it('keeps the head and the tail in whole lines, whatever the chunking, and says what it left out', () => {
    const all = lines(1, 5000);
    for (const chunk of [1, 7, 64, 100_000]) {
      const b = new BoundedBuffer({ head: 60, tail: 60 });
      for (let i = 0; i < all.length; i += chunk) b.push(Buffer.from(all.slice(i, i + chunk)));
      expect(b.total).toBe(all.length);
      const text = b.text('steps/01-x.log');
      const [head, note, tail] = text.split(/^(\[lab: .*\]\n)/m);
      expect(all.startsWith(head!)).toBe(true);
      expect(all.endsWith(tail!)).toBe(true);
      expect(head!.endsWith('\n') && tail!.startsWith('l')).toBe(true);
      const left = Number(/(\d+) bytes/.exec(note!)![1]);
      expect(head!.length + left + tail!.length).toBe(all.length);
      expect(note).toContain(`of ${all.length}; the whole output is in steps/01-x.log`);
      expect(head!.length).toBeLessThanOrEqual(60);
      expect(tail!.length).toBeLessThanOrEqual(60);
    }
  });

  it('with no tail keeps only the start', () => {
    const b = new BoundedBuffer({ head: 10, tail: 0 });
    b.push(Buffer.from('0123456789abcdef'));
    expect(b.start(100)).toBe('0123456789');
    expect(b.omitted).toBe(6);
  });

  it('holds a bounded amount of memory over a million small chunks', () => {
    const b = new BoundedBuffer({ head: 1000, tail: 1000 });
    for (let i = 0; i < 1_000_000; i++) b.push(Buffer.from(`${i}\n`));
    expect(b.text().length).toBeLessThan(2100);
    expect(b.text().endsWith('999999\n')).toBe(true);
  });
});

describe('LineSplitter', () => {
  it('passes whole lines across chunks, a multi-byte character split between two, and the last line without newline', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const euro = Buffer.from('a€b\nc');
    s.push(euro.subarray(0, 2));
    s.push(euro.subarray(2));
    s.push(Buffer.from('d\n'));
    s.push(Buffer.from('tail'));
    s.end();
    expect(got).toEqual(['a€b', 'cd', 'tail']);
  });
});
