/**
 * File sink, the embedded default: appends points to one file under a directory (default `./out`), as
 * InfluxDB line protocol (`<fileName>.lp`, importable with `influx -import` or a `/write` POST) or as JSON
 * lines (`<fileName>.jsonl`).
 *
 * Lifecycle: `new FileSink(options)` validates the options and does no I/O → `start()` creates the
 * directory and opens the file for appending → `write()` any number of times → `close()` writes what is
 * buffered (within `closeTimeoutMs`) and closes the file. `write()` before `start()` buffers.
 *
 * Threading: single-threaded (Node event loop); `write()` is synchronous, never blocks and never throws.
 * One append is in flight at a time, so lines keep the order of the write() calls. One sink per file:
 * the file is append-only, and a failed append is cut back to the size before it (ftruncate) before the
 * batch is retried, so the file never holds a torn line — which assumes no other writer appends to it.
 *
 * Time: timers (batch interval, retry backoff, close time-out) run on the injected rxjs scheduler
 * (`asyncScheduler` by default). Point time is event time in ns since the epoch: written as the integer
 * timestamp of line protocol, and in JSONL as a decimal string (`"time":"1768424400000000001"`), since
 * ns timestamps exceed 2^53.
 *
 * JSONL record: `{"time":"<ns>","measurement":"…","tags":{…},"fields":{…}}`, tags sorted by key. Field
 * types survive in the JSON text: a float always has a fraction or an exponent (`3.0`, `1e+21`, `-0.0`),
 * an integer (bigint) never has (`42`, written exactly even beyond 2^53), then booleans and strings.
 * NaN/±Infinity fields are omitted, and a point with no field left is dropped (reason
 * "no representable field"), as in line protocol. Strings, names included, are kept exactly.
 *
 * Buffer bound and overflow policy (as in InfluxSink): at most `maxBufferPoints` points, counting the batch
 * being appended; beyond that the oldest not being appended are dropped and counted ("buffer overflow").
 * Accounting: points passed to write() = written + dropped + buffered, at any moment.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { z } from 'zod';

import { encodePoint, formatFloat } from './line-protocol.ts';
import type { Point } from './point.ts';
import type { Sink, SinkStats } from './sink.ts';

const isScheduler = (v: unknown): v is SchedulerLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { schedule?: unknown }).schedule === 'function' &&
  typeof (v as { now?: unknown }).now === 'function';

export const fileSinkOptionsSchema = z
  .object({
    name: z.string().min(1).default('files'),
    /** Directory, created by start() if missing. */
    dir: z.string().min(1).default('./out'),
    format: z.enum(['lp', 'jsonl']).default('lp'),
    /** File name without extension; the extension is the format's. */
    fileName: z
      .string()
      .regex(/^[^/\\]+$/, 'a file name, not a path')
      .default('drivesense'),
    batchSize: z.number().int().min(1).default(5000),
    batchIntervalMs: z.number().positive().default(1000),
    maxBufferPoints: z.number().int().min(1).default(200_000),
    retry: z
      .object({
        initialMs: z.number().positive().default(100),
        maxMs: z.number().positive().default(30_000),
      })
      .prefault({}),
    closeTimeoutMs: z.number().nonnegative().default(10_000),
    scheduler: z.custom<SchedulerLike>(isScheduler, 'an rxjs SchedulerLike').optional(),
    log: z.custom<(message: string) => void>((v) => typeof v === 'function', 'a function').optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.batchSize > o.maxBufferPoints) {
      ctx.addIssue({
        code: 'custom',
        message: 'batchSize must not exceed maxBufferPoints',
        path: ['batchSize'],
      });
    }
  });

export type FileSinkOptions = z.input<typeof fileSinkOptionsSchema>;
type ResolvedOptions = z.output<typeof fileSinkOptionsSchema>;

export interface FileSinkStats extends SinkStats {
  readonly droppedByReason: Readonly<Record<string, number>>;
  /** Fields left out of otherwise written points because their value was not representable. */
  readonly fieldsOmitted: number;
}

type Encoded =
  | { readonly ok: true; readonly line: string; readonly omitted: number }
  | { readonly ok: false; readonly reason: string };

/** A JSON number literal that reads back as the same float and is recognisably a float. */
function jsonFloat(value: number): string {
  const s = formatFloat(value);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** One JSONL record (no trailing newline), or why the point cannot be written. */
export function toJsonLine(point: Point): Encoded {
  let fields = '';
  let omitted = 0;
  for (const [key, value] of Object.entries(point.fields)) {
    let encoded: string;
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value)) {
          omitted++;
          continue;
        }
        encoded = jsonFloat(value);
        break;
      case 'bigint':
        encoded = value.toString();
        break;
      case 'boolean':
        encoded = value ? 'true' : 'false';
        break;
      case 'string':
        encoded = JSON.stringify(value);
        break;
    }
    fields += `${fields === '' ? '' : ','}${JSON.stringify(key)}:${encoded}`;
  }
  if (fields === '') return { ok: false, reason: omitted > 0 ? 'no representable field' : 'no fields' };
  const tags = Object.keys(point.tags)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(point.tags[k])}`)
    .join(',');
  const line =
    `{"time":"${point.timeNs}","measurement":${JSON.stringify(point.measurement)},` +
    `"tags":{${tags}},"fields":{${fields}}}`;
  return { ok: true, line, omitted };
}

function toLpLine(point: Point): Encoded {
  const r = encodePoint(point);
  return r.ok ? { ok: true, line: r.line, omitted: r.omittedFields.length } : r;
}

interface Entry {
  readonly seq: number;
  readonly line: string;
}

/** FIFO with O(1) amortised removal at the head and re-insertion of a failed batch. */
class EntryQueue {
  private items: Entry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): Entry | undefined {
    return this.items[this.head];
  }

  push(entry: Entry): void {
    this.items.push(entry);
  }

  takeFront(n: number): Entry[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.compact();
    return out;
  }

  dropFront(n: number): number {
    const k = Math.max(0, Math.min(n, this.length));
    this.head += k;
    this.compact();
    return k;
  }

  unshift(batch: readonly Entry[]): void {
    this.items = [...batch, ...this.items.slice(this.head)];
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

type State = 'new' | 'starting' | 'running' | 'closed';

export class FileSink implements Sink {
  readonly name: string;
  /** The file the sink appends to. */
  readonly filePath: string;
  readonly format: 'lp' | 'jsonl';

  private readonly opts: ResolvedOptions;
  private readonly scheduler: SchedulerLike;
  private readonly log: (message: string) => void;
  private readonly encode: (point: Point) => Encoded;

  private state: State = 'new';
  private closing = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private file: FileHandle | undefined;
  /** Size of the file after the last successful append (for cutting back a failed one). */
  private fileSize = 0;
  /** Set when close() finds an append in flight: that append closes the file when it completes. */
  private closeAfterAppend: FileHandle | undefined;

  private readonly queue = new EntryQueue();
  private inFlight: Entry[] | null = null;
  private seq = 0;
  private waiters: { readonly target: number; readonly resolve: () => void }[] = [];
  private batchTimer: Subscription | null = null;
  private retryTimer: Subscription | null = null;
  private batchDue = false;
  private retryDue = false;
  private failures = 0;

  private written = 0;
  private dropped = 0;
  private failedWrites = 0;
  private fieldsOmitted = 0;
  private lastError: string | undefined;
  private readonly droppedByReason = new Map<string, number>();

  constructor(options: FileSinkOptions = {}) {
    const parsed = fileSinkOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`FileSink options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    this.opts = o;
    this.name = o.name;
    this.format = o.format;
    this.filePath = path.join(o.dir, `${o.fileName}.${o.format}`);
    this.scheduler = o.scheduler ?? asyncScheduler;
    this.log = o.log ?? ((message: string) => console.warn(`[${o.name}] ${message}`));
    this.encode = o.format === 'lp' ? toLpLine : toJsonLine;
  }

  start(): Promise<void> {
    if (this.state === 'running') return Promise.resolve();
    if (this.state === 'closed' || this.closing)
      return Promise.reject(new Error(`${this.name}: start() after close()`));
    this.startPromise ??= this.runStart().finally(() => {
      this.startPromise = undefined;
    });
    return this.startPromise;
  }

  write(points: readonly Point[]): void {
    if (this.closing || this.state === 'closed') {
      this.drop(points.length, 'sink closed');
      return;
    }
    for (const point of points) {
      let result: Encoded;
      try {
        result = this.encode(point);
      } catch {
        this.drop(1, 'malformed point');
        continue;
      }
      if (!result.ok) {
        this.drop(1, result.reason);
        continue;
      }
      this.fieldsOmitted += result.omitted;
      this.queue.push({ seq: ++this.seq, line: result.line });
    }
    this.enforceCapacity();
    this.settleWaiters();
    this.pump();
  }

  flush(): Promise<void> {
    const head = this.headSeq();
    if (head === undefined || head > this.seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ target: this.seq, resolve });
      this.pump();
    });
  }

  close(): Promise<void> {
    this.closePromise ??= this.runClose();
    return this.closePromise;
  }

  stats(): FileSinkStats {
    return {
      written: this.written,
      buffered: this.queue.length + (this.inFlight?.length ?? 0),
      dropped: this.dropped,
      failedWrites: this.failedWrites,
      lastError: this.lastError,
      droppedByReason: Object.fromEntries(this.droppedByReason),
      fieldsOmitted: this.fieldsOmitted,
    };
  }

  private async runStart(): Promise<void> {
    this.state = 'starting';
    try {
      await mkdir(this.opts.dir, { recursive: true });
      const file = await open(this.filePath, 'a');
      this.fileSize = (await file.stat()).size;
      if (this.closing) {
        await file.close();
        throw new Error('closed while starting');
      }
      this.file = file;
    } catch (err) {
      this.state = 'new';
      throw new Error(`${this.name}: cannot open ${this.filePath} for appending: ${(err as Error).message}`);
    }
    this.state = 'running';
    this.pump();
  }

  private async runClose(): Promise<void> {
    this.closing = true;
    if (this.startPromise !== undefined) await this.startPromise.catch(() => undefined);
    if (this.state === 'running' && this.headSeq() !== undefined) {
      const drained = new Promise<void>((resolve) => this.waiters.push({ target: this.seq, resolve }));
      this.pump();
      await new Promise<void>((resolve) => {
        const timer = this.scheduler.schedule(() => resolve(), this.opts.closeTimeoutMs);
        void drained.then(() => {
          timer.unsubscribe();
          resolve();
        });
      });
    }
    this.state = 'closed';
    this.batchTimer?.unsubscribe();
    this.retryTimer?.unsubscribe();
    this.batchTimer = null;
    this.retryTimer = null;
    // An append still running finishes on its own (a file write cannot be recalled); it is counted then.
    const undelivered = this.queue.length;
    this.queue.clear();
    if (undelivered > 0) {
      this.drop(undelivered, 'sink closed before delivery');
      this.log(`closed with ${undelivered} points unwritten (dropped)`);
    }
    this.settleWaiters();
    const file = this.file;
    this.file = undefined;
    if (this.inFlight === null) await file?.close();
    else this.closeAfterAppend = file;
  }

  private headSeq(): number | undefined {
    return this.inFlight?.[0]?.seq ?? this.queue.peek()?.seq;
  }

  private drop(n: number, reason: string): void {
    if (n <= 0) return;
    this.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
  }

  private enforceCapacity(): void {
    const over = this.queue.length + (this.inFlight?.length ?? 0) - this.opts.maxBufferPoints;
    if (over > 0) this.drop(this.queue.dropFront(over), 'buffer overflow');
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const head = this.headSeq() ?? Number.POSITIVE_INFINITY;
    const pending: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.target < head || this.state === 'closed') waiter.resolve();
      else pending.push(waiter);
    }
    this.waiters = pending;
  }

  private pump(): void {
    if (this.state !== 'running' || this.inFlight !== null || this.retryTimer !== null) return;
    if (this.queue.length === 0) {
      this.batchTimer?.unsubscribe();
      this.batchTimer = null;
      this.batchDue = false;
      return;
    }
    const force = this.batchDue || this.retryDue || this.waiters.length > 0 || this.closing;
    if (this.queue.length < this.opts.batchSize && !force) {
      this.batchTimer ??= this.scheduler.schedule(() => {
        this.batchTimer = null;
        this.batchDue = true;
        this.pump();
      }, this.opts.batchIntervalMs);
      return;
    }
    this.batchTimer?.unsubscribe();
    this.batchTimer = null;
    this.batchDue = false;
    this.retryDue = false;
    const batch = this.queue.takeFront(this.opts.batchSize);
    this.inFlight = batch;
    void this.append(batch);
  }

  private async append(batch: Entry[]): Promise<void> {
    const file = this.file;
    let error: string | undefined;
    if (file === undefined) {
      error = 'file not open';
    } else {
      const data = Buffer.from(`${batch.map((e) => e.line).join('\n')}\n`, 'utf8');
      try {
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await file.write(data, offset, data.length - offset);
          offset += bytesWritten;
        }
        this.fileSize += data.length;
      } catch (err) {
        error = (err as Error).message;
        try {
          await file.truncate(this.fileSize); // no torn line left behind
        } catch {
          // the retry appends after whatever is there
        }
      }
    }
    this.inFlight = null;
    if (error === undefined) {
      if (this.failures > 0) this.log(`append recovered after ${this.failures} failed attempts`);
      this.failures = 0;
      this.written += batch.length;
    } else if (this.state === 'closed') {
      this.drop(batch.length, 'sink closed before delivery');
    } else {
      this.failedWrites++;
      this.failures++;
      this.lastError = error;
      this.queue.unshift(batch);
      const base = Math.min(
        this.opts.retry.maxMs,
        this.opts.retry.initialMs * 2 ** Math.min(this.failures - 1, 30),
      );
      const delay = base / 2 + (Math.random() * base) / 2;
      this.log(`append of ${batch.length} points failed: ${error}; retrying in ${Math.round(delay)} ms`);
      this.retryTimer = this.scheduler.schedule(() => {
        this.retryTimer = null;
        this.retryDue = true;
        this.pump();
      }, delay);
    }
    if (this.closeAfterAppend !== undefined) {
      const toClose = this.closeAfterAppend;
      this.closeAfterAppend = undefined;
      await toClose.close().catch(() => undefined);
    }
    this.enforceCapacity();
    this.settleWaiters();
    this.pump();
  }
}
