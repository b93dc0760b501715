/**
 * The buffering and delivery machinery the sinks share (FileSink, InfluxSink): a bounded FIFO of encoded
 * points, batches cut by size or age and delivered one at a time, retries with exponential backoff and
 * jitter, flush() waiters, the start/close lifecycle, and the SinkStats counters. A sink owns one
 * BatchBuffer, forwards write()/flush()/stats() to it, and keeps only what is its own: how a point is
 * encoded, how its target is opened, how one batch is delivered and how the outcome is judged.
 *
 * Lifecycle: `new BatchBuffer(settings, hooks)` does no I/O → `start(open)` runs the sink's `open`, which
 * calls `opened()` once the target is ready; from then on batches are delivered → `close(steps)` delivers
 * what it can within `closeTimeoutMs`, then drops and counts the rest (reason "sink closed before
 * delivery") and resolves pending flushes. `write()` before `opened()` buffers; `write()` from close() on
 * counts its points as dropped (reason "sink closed").
 *
 * Delivery protocol: one batch is in flight at a time, so entries reach the backend in write order. The
 * buffer calls `hooks.deliver(batch, signal)`; the delivery ends, synchronously and in this order, with
 * `endBatch(batch)` (false: close() gave up on the batch, ignore the outcome), then the accounting of the
 * outcome (`delivered`, `retryLater`, or for partial refusals `countWritten`/`countRefusal`/`requeue`/
 * `drop`), then `advance()`, which sends the next batch when one is due.
 *
 * Buffer bound and overflow policy: at most `maxBufferPoints` entries, counting the batch in flight; beyond
 * that the oldest entries not in flight are dropped (reason "buffer overflow"). A failed batch goes back to
 * the head of the buffer and becomes droppable again. Accounting, at any moment: points passed to write()
 * = written + dropped + buffered.
 *
 * Threading: single-threaded (Node event loop). `write()` is synchronous, never blocks and never throws.
 *
 * Time: every timer (batch interval, retry backoff, close time-out) runs on the injected rxjs scheduler
 * (`asyncScheduler` by default); a virtual-time scheduler drives them all in tests.
 */
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { z } from 'zod';

import { encodePoint } from './line-protocol.ts';
import type { Point } from './point.ts';
import type { SinkStats } from './sink.ts';

// ---------------------------------------------------------------------------------------------------
// Options the sinks' schemas share

const isScheduler = (v: unknown): v is SchedulerLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { schedule?: unknown }).schedule === 'function' &&
  typeof (v as { now?: unknown }).now === 'function';

/** Batching, bound and backoff options, spread into each sink's option schema. */
export const batchingOptionsShape = {
  /** Points per batch (one append, one HTTP request). */
  batchSize: z.number().int().min(1).default(5000),
  /** Longest wait of a partial batch before it is sent. */
  batchIntervalMs: z.number().positive().default(1000),
  /** Bound on buffered points (in-flight batch included); the oldest beyond it are dropped. */
  maxBufferPoints: z.number().int().min(1).default(200_000),
  /** Backoff after a failed attempt: `initialMs` doubling up to `maxMs`, each wait drawn from [base/2, base]. */
  retry: z
    .object({
      initialMs: z.number().positive().default(100),
      maxMs: z.number().positive().default(30_000),
    })
    .prefault({}),
};

/** Close time-out, scheduler and log options, spread into each sink's option schema. */
export const runtimeOptionsShape = {
  /** How long close() keeps trying to deliver buffered points. */
  closeTimeoutMs: z.number().nonnegative().default(10_000),
  /** Scheduler for every timer of the sink. */
  scheduler: z.custom<SchedulerLike>(isScheduler, 'an rxjs SchedulerLike').optional(),
  /** Log sink for one-line messages (default: console.warn with the sink's name). */
  log: z.custom<(message: string) => void>((v) => typeof v === 'function', 'a function').optional(),
};

/** The cross-field check of the shared options: a batch must fit in the buffer. */
export function checkBatchFitsBuffer(
  o: { readonly batchSize: number; readonly maxBufferPoints: number },
  ctx: z.RefinementCtx,
): void {
  if (o.batchSize > o.maxBufferPoints) {
    ctx.addIssue({
      code: 'custom',
      message: 'batchSize must not exceed maxBufferPoints',
      path: ['batchSize'],
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Entries

/** A point encoded for its sink (one line, no newline), or why it cannot be written. */
export type Encoded =
  | { readonly ok: true; readonly line: string; readonly omitted: number }
  | { readonly ok: false; readonly reason: string };

/** Line protocol (src/sinks/line-protocol.ts) as an `encode` hook. */
export function encodeLineProtocol(point: Point): Encoded {
  const r = encodePoint(point);
  return r.ok ? { ok: true, line: r.line, omitted: r.omittedFields.length } : r;
}

export interface BufferEntry {
  /** Position in write order, 1-based; flush() waits on it. */
  readonly seq: number;
  readonly line: string;
  /** Kept only with `hooks.keepPoints`. */
  readonly point?: Point;
}

/** FIFO of entries with O(1) amortised removal at the head and re-insertion of a failed batch. */
class EntryQueue {
  private items: BufferEntry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): BufferEntry | undefined {
    return this.items[this.head];
  }

  push(entry: BufferEntry): void {
    this.items.push(entry);
  }

  takeFront(n: number): BufferEntry[] {
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

  /** Puts a batch back at the head (it was taken from there, so order is kept). */
  unshift(batch: readonly BufferEntry[]): void {
    if (this.head >= batch.length) {
      this.head -= batch.length;
      for (let i = 0; i < batch.length; i++) this.items[this.head + i] = batch[i] as BufferEntry;
    } else {
      this.items = [...batch, ...this.items.slice(this.head)];
      this.head = 0;
    }
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

// ---------------------------------------------------------------------------------------------------
// The buffer

/** Parsed sink options the buffer reads (a sink passes its whole parsed options object). */
export interface BatchBufferSettings {
  /** Name in logs and errors. */
  readonly name: string;
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  readonly maxBufferPoints: number;
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly closeTimeoutMs: number;
  /** Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined;
  /** Default: console.warn prefixed with `[name]`. */
  readonly log?: ((message: string) => void) | undefined;
}

/** A failed attempt about to be retried, as given to `messages.retrying`. */
export interface RetryNotice {
  /** Points in the failed batch. */
  readonly points: number;
  /** Consecutive failed attempts, this one included. */
  readonly attempt: number;
  readonly error: string;
  readonly delayMs: number;
  /** Entries waiting, the failed batch included. */
  readonly buffered: number;
}

/** The buffer's log lines, worded by each sink. */
export interface BatchBufferMessages {
  /** A delivery succeeded after `failures` failed attempts. */
  recovered(failures: number): string;
  retrying(notice: RetryNotice): string;
  /** close() dropped `points` it could not deliver. */
  closedUndelivered(points: number): string;
}

/** What the sink does itself. */
export interface BatchBufferHooks {
  readonly encode: (point: Point) => Encoded;
  /** Keep each entry's Point (e.g. to hand acknowledged points back). Default false. */
  readonly keepPoints?: boolean;
  /** Random source in [0, 1) for the backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /**
   * What close() does with a batch still in flight when it gives up: 'abort' counts it as undelivered at
   * once and aborts the delivery's signal (its endBatch() then returns false); 'finish' lets it complete
   * and counts it then (a failure after close is dropped, not retried).
   */
  readonly inFlightOnClose: 'abort' | 'finish';
  /** Delivers one batch and reports the outcome (see the protocol above); must not reject. */
  readonly deliver: (batch: readonly BufferEntry[], signal: AbortSignal) => Promise<void>;
  readonly messages: BatchBufferMessages;
}

/** Sink-specific steps of close(), around the buffer's drain. */
export interface CloseSteps {
  /** Runs first, once close() has begun (writes are refused from then on); awaited if it returns a promise. */
  readonly before?: () => Promise<void> | undefined;
  /** Runs last, once the buffer is closed and its flushes resolved; awaited if it returns a promise. */
  readonly after?: () => Promise<void> | undefined;
}

/** Counters of a sink built on a BatchBuffer. */
export interface BatchBufferStats extends SinkStats {
  /** `dropped`, broken down by reason (e.g. "buffer overflow", "field type conflict"). */
  readonly droppedByReason: Readonly<Record<string, number>>;
  /** Fields left out of otherwise written points because their value was not representable (NaN, ±∞). */
  readonly fieldsOmitted: number;
}

const CLOSED_BEFORE_DELIVERY = 'sink closed before delivery';

type State = 'new' | 'starting' | 'running' | 'closed';

export class BatchBuffer {
  readonly scheduler: SchedulerLike;
  readonly log: (message: string) => void;
  /**
   * A cap below `batchSize` on the batches taken from now on, or null for none. The InfluxDB sink lowers
   * it to isolate a point the server refuses together with its batch.
   */
  batchCap: number | null = null;

  private readonly settings: BatchBufferSettings;
  private readonly hooks: BatchBufferHooks;
  private readonly random: () => number;

  private state: State = 'new';
  private isClosing = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;

  private readonly queue = new EntryQueue();
  private inFlight: readonly BufferEntry[] | null = null;
  private inFlightAbort: AbortController | null = null;
  private seq = 0;
  private waiters: { readonly target: number; readonly resolve: () => void }[] = [];

  private batchTimer: Subscription | null = null;
  private retryTimer: Subscription | null = null;
  private batchDue = false;
  private retryDue = false;
  /** Consecutive retryable failures; drives the backoff. */
  private failures = 0;

  private written = 0;
  private dropped = 0;
  private failedWrites = 0;
  private fieldsOmitted = 0;
  private lastError: string | undefined;
  private readonly droppedByReason = new Map<string, number>();

  constructor(settings: BatchBufferSettings, hooks: BatchBufferHooks) {
    this.settings = settings;
    this.hooks = hooks;
    this.scheduler = settings.scheduler ?? asyncScheduler;
    this.log = settings.log ?? ((message: string) => console.warn(`[${settings.name}] ${message}`));
    this.random = hooks.random ?? (() => Math.random());
  }

  /** True from the moment close() is called. */
  get closing(): boolean {
    return this.isClosing;
  }

  /** True while a batch is being delivered. */
  get sending(): boolean {
    return this.inFlight !== null;
  }

  /** The start() in progress, if any. */
  get starting(): Promise<void> | undefined {
    return this.startPromise;
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  /**
   * Sink.start(): runs `open` (concurrent calls share one run; after close() it rejects). `open` prepares
   * the target and calls `opened()` when it is ready, synchronously after its last check of `closing`;
   * if it rejects, the buffer goes back to not started and the rejection is passed on.
   */
  start(open: () => Promise<void>): Promise<void> {
    if (this.state === 'running') return Promise.resolve();
    if (this.state === 'closed' || this.isClosing)
      return Promise.reject(new Error(`${this.settings.name}: start() after close()`));
    this.startPromise ??= this.runStart(open).finally(() => {
      this.startPromise = undefined;
    });
    return this.startPromise;
  }

  /** Called by start()'s `open` once the target is ready: batches are delivered from now on. */
  opened(): void {
    this.state = 'running';
    this.pump();
  }

  /** Sink.close(): idempotent; see CloseSteps for the sink's part. */
  close(steps: CloseSteps): Promise<void> {
    this.closePromise ??= this.runClose(steps);
    return this.closePromise;
  }

  private async runStart(open: () => Promise<void>): Promise<void> {
    this.state = 'starting';
    try {
      await open();
    } catch (err) {
      if (this.state === 'starting') this.state = 'new';
      throw err;
    }
  }

  private async runClose(steps: CloseSteps): Promise<void> {
    this.isClosing = true;
    const before = steps.before?.();
    if (before !== undefined) await before;
    if (this.state === 'running' && this.headSeq() !== undefined) {
      const drained = new Promise<void>((resolve) => this.waiters.push({ target: this.seq, resolve }));
      this.pump();
      await new Promise<void>((resolve) => {
        const timer = this.scheduler.schedule(() => resolve(), this.settings.closeTimeoutMs);
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
    let undelivered = this.queue.length;
    this.queue.clear();
    if (this.inFlight !== null && this.hooks.inFlightOnClose === 'abort') {
      undelivered += this.inFlight.length;
      this.inFlight = null;
      this.inFlightAbort?.abort();
      this.inFlightAbort = null;
    }
    if (undelivered > 0) {
      this.drop(undelivered, CLOSED_BEFORE_DELIVERY);
      this.log(this.hooks.messages.closedUndelivered(undelivered));
    }
    this.settleWaiters(); // resolves them all, now that the buffer is closed
    const after = steps.after?.();
    if (after !== undefined) await after;
  }

  // --- Sink API ------------------------------------------------------------------------------------

  /** Sink.write(): encodes each point at once; a point that cannot be written is counted right there. */
  write(points: readonly Point[]): void {
    if (this.isClosing || this.state === 'closed') {
      this.drop(points.length, 'sink closed');
      return;
    }
    for (const point of points) {
      let result: Encoded;
      try {
        result = this.hooks.encode(point);
      } catch {
        this.drop(1, 'malformed point');
        continue;
      }
      if (!result.ok) {
        this.drop(1, result.reason);
        continue;
      }
      this.fieldsOmitted += result.omitted;
      this.queue.push(
        this.hooks.keepPoints
          ? { seq: ++this.seq, line: result.line, point }
          : { seq: ++this.seq, line: result.line },
      );
    }
    this.advance();
  }

  /**
   * Sink.flush(): resolves once every entry written before it is delivered or dropped; it keeps waiting
   * while deliveries fail (or before start), as the retries go on. close() resolves it in any case.
   */
  flush(): Promise<void> {
    const head = this.headSeq();
    if (head === undefined || head > this.seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ target: this.seq, resolve });
      this.pump();
    });
  }

  stats(): BatchBufferStats {
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

  /** Wait before retry `attempt` (1-based): `retry.initialMs` doubling up to `retry.maxMs`, jittered. */
  backoffMs(attempt: number): number {
    const r = this.settings.retry;
    const base = Math.min(r.maxMs, r.initialMs * 2 ** Math.min(attempt - 1, 30));
    return base / 2 + (this.random() * base) / 2;
  }

  // --- delivery reporting (see the protocol at the top) -------------------------------------------

  /** Takes `batch` out of flight; false if close() has already given up on it and counted it. */
  endBatch(batch: readonly BufferEntry[]): boolean {
    if (this.inFlight !== batch) return false;
    this.inFlight = null;
    this.inFlightAbort = null;
    return true;
  }

  /** The backend stored `points` points: counted written, and a run of failures ends (logged). */
  delivered(points: number): void {
    if (this.failures > 0) this.log(this.hooks.messages.recovered(this.failures));
    this.written += points;
    this.failures = 0;
  }

  /** Counts `points` points as stored, without ending a run of failures (a partial write). */
  countWritten(points: number): void {
    this.written += points;
  }

  /** Counts a failed attempt that is not retried with backoff (a refusal for good); the backoff restarts. */
  countRefusal(error: string): void {
    this.failedWrites++;
    this.lastError = error;
    this.failures = 0;
  }

  /**
   * A failed attempt to retry: counted, `batch` goes back to the head of the buffer and is sent again
   * after the backoff (logged). Once the buffer is closed, the batch is dropped instead.
   */
  retryLater(batch: readonly BufferEntry[], error: string): void {
    if (this.state === 'closed') {
      this.drop(batch.length, CLOSED_BEFORE_DELIVERY);
      return;
    }
    this.failedWrites++;
    this.lastError = error;
    this.failures++;
    this.queue.unshift(batch);
    const delayMs = this.backoffMs(this.failures);
    this.log(
      this.hooks.messages.retrying({
        points: batch.length,
        attempt: this.failures,
        error,
        delayMs,
        buffered: this.queue.length,
      }),
    );
    this.retryTimer = this.scheduler.schedule(() => {
      this.retryTimer = null;
      this.retryDue = true;
      this.pump();
    }, delayMs);
  }

  /** Puts `batch` back at the head of the buffer, to be sent again without waiting. */
  requeue(batch: readonly BufferEntry[]): void {
    this.queue.unshift(batch);
  }

  /** Counts `n` points as dropped for `reason`. */
  drop(n: number, reason: string): void {
    if (n <= 0) return;
    this.dropped += n;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + n);
  }

  /** Applies the bound, resolves the flushes that are done, and sends the next batch if one is due. */
  advance(): void {
    this.enforceCapacity();
    this.settleWaiters();
    this.pump();
  }

  // --- internals -----------------------------------------------------------------------------------

  private headSeq(): number | undefined {
    return this.inFlight?.[0]?.seq ?? this.queue.peek()?.seq;
  }

  private enforceCapacity(): void {
    const over = this.queue.length + (this.inFlight?.length ?? 0) - this.settings.maxBufferPoints;
    if (over > 0) this.drop(this.queue.dropFront(over), 'buffer overflow');
  }

  /** Resolves the flush() calls whose entries are all delivered or dropped (all of them once closed). */
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

  /** Sends the next batch if one is due and nothing is in flight or waiting for a retry. */
  private pump(): void {
    if (this.state !== 'running' || this.inFlight !== null || this.retryTimer !== null) return;
    if (this.queue.length === 0) {
      this.batchTimer?.unsubscribe();
      this.batchTimer = null;
      this.batchDue = false;
      return;
    }
    const limit = Math.min(this.settings.batchSize, this.batchCap ?? Number.POSITIVE_INFINITY);
    const force = this.batchDue || this.retryDue || this.waiters.length > 0 || this.isClosing;
    if (this.queue.length < limit && !force) {
      this.batchTimer ??= this.scheduler.schedule(() => {
        this.batchTimer = null;
        this.batchDue = true;
        this.pump();
      }, this.settings.batchIntervalMs);
      return;
    }
    this.batchTimer?.unsubscribe();
    this.batchTimer = null;
    this.batchDue = false;
    this.retryDue = false;
    const batch = this.queue.takeFront(limit);
    this.inFlight = batch;
    this.inFlightAbort = new AbortController();
    void this.hooks.deliver(batch, this.inFlightAbort.signal);
  }
}
