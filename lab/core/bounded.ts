import { StringDecoder } from 'node:string_decoder';

/**
 * Output kept in bounded memory: the first `head` bytes and the last `tail`
 * bytes of a stream, and its length. A guest can print without limit (a
 * step that cats a 600 MB file once ended the harness with
 * ERR_STRING_TOO_LONG); what is not kept here goes to a log file, whole.
 */
export class BoundedBuffer {
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;
  private tailChunks: Buffer[] = [];
  private tailBytes = 0;
  /** Every byte pushed, kept or not. */
  total = 0;

  constructor(readonly limits: { head: number; tail: number }) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let d = chunk;
    if (this.headBytes < this.limits.head) {
      const take = Math.min(d.length, this.limits.head - this.headBytes);
      // a copy: a slice would keep the whole chunk alive
      this.headChunks.push(take === d.length ? d : Buffer.from(d.subarray(0, take)));
      this.headBytes += take;
      d = d.subarray(take);
    }
    if (!d.length || this.limits.tail <= 0) return;
    this.tailChunks.push(d);
    this.tailBytes += d.length;
    while (this.tailChunks.length > 1 && this.tailBytes - this.tailChunks[0]!.length >= this.limits.tail) this.tailBytes -= this.tailChunks.shift()!.length;
    // many small chunks: one buffer of exactly the tail
    if (this.tailChunks.length > 4096) this.compactTail();
  }

  /** Bytes pushed but not kept (the middle of the stream). */
  get omitted(): number {
    this.compactTail();
    return this.total - this.headBytes - this.tailBytes;
  }

  /**
   * The kept text; when bytes were left out, the head (to its last whole
   * line) and the tail (from its first whole line) around one line that says
   * how many and, given `where`, where the whole output is.
   */
  text(where?: string): string {
    const omitted = this.omitted;
    const head = Buffer.concat(this.headChunks);
    const tail = Buffer.concat(this.tailChunks);
    if (!omitted) return Buffer.concat([head, tail]).toString();
    const headEnd = head.lastIndexOf(0x0a) + 1;
    const tailStart = tail.indexOf(0x0a) + 1;
    const left = omitted + (head.length - headEnd) + tailStart;
    const note = `[lab: ${left} bytes of output left out here, of ${this.total}${where ? `; the whole output is in ${where}` : ''}]\n`;
    return `${head.subarray(0, headEnd).toString()}${note}${tail.subarray(tailStart).toString()}`;
  }

  /** The first `n` bytes of the stream (at most the head). */
  start(n: number): string {
    return Buffer.concat(this.headChunks).subarray(0, n).toString();
  }

  private compactTail(): void {
    if (this.tailBytes <= this.limits.tail && this.tailChunks.length <= 1) return;
    const all = Buffer.concat(this.tailChunks);
    const keep = Buffer.from(all.subarray(Math.max(0, all.length - this.limits.tail)));
    this.tailChunks = [keep];
    this.tailBytes = keep.length;
  }
}

/** Longest line a LineSplitter holds: a stream without newlines is passed on in pieces of this size. */
const MAX_LINE_BYTES = 1 << 20;

/** Splits a byte stream into lines for a callback; `end()` passes on a last line without a newline. */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly onLine: (line: string) => void) {}

  push(d: Buffer): void {
    const lines = (this.partial + this.decoder.write(d)).split('\n');
    this.partial = lines.pop()!;
    for (const l of lines) this.onLine(l);
    if (this.partial.length > MAX_LINE_BYTES) {
      this.onLine(this.partial);
      this.partial = '';
    }
  }

  end(): void {
    const last = this.partial + this.decoder.end();
    if (last) this.onLine(last);
    this.partial = '';
  }
}
