/**
 * A small client for the QEMU Machine Protocol over a unix socket: the
 * greeting, capabilities negotiation, then one command at a time, each
 * answered by a `return` or an `error` (asynchronous events are skipped).
 * The lab needs it only to save a ready guest (stop, migrate, query, cont).
 */
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from '../core/errors.ts';

type Reply = { return?: unknown; error?: { class: string; desc: string }; event?: string; QMP?: unknown };

export class Qmp {
  private buffer = '';
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private queue: Reply[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const reply = JSON.parse(line) as Reply;
        if (reply.event) continue;
        const w = this.waiting.shift();
        if (w) w.resolve(reply);
        else this.queue.push(reply);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new InfraError('QMP_FAILED', 'QEMU closed its QMP socket'));
    });
  }

  /** Connect (QEMU creates the socket a moment after it starts: retried until the deadline) and negotiate. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const socket = await new Promise<Socket | Error>((resolve) => {
        const s = createConnection(path);
        s.once('connect', () => resolve(s));
        s.once('error', (e) => resolve(e));
      });
      if (!(socket instanceof Error)) {
        const qmp = new Qmp(socket);
        await qmp.next(); // the greeting
        await qmp.execute('qmp_capabilities');
        return qmp;
      }
      if (Date.now() > deadline) throw new InfraError('QMP_FAILED', `could not connect to QEMU's QMP socket ${path}: ${socket.message}`);
      await sleep(50);
    }
  }

  private next(): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new InfraError('QMP_FAILED', 'QEMU closed its QMP socket'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    const reply = await this.next();
    if (reply.error) throw new InfraError('QMP_FAILED', `QMP ${command}: ${reply.error.class}: ${reply.error.desc}`, { command, args: JSON.stringify(args) });
    return reply.return as T;
  }

  close(): void {
    this.socket.destroy();
  }
}
