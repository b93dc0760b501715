/**
 * InfluxDB 1.x sink, on the npm `influx` client.
 *
 * Lifecycle: `new InfluxSink(options)` validates the options and does no I/O → `start()` creates the
 * database (and the retention policy, when one is configured) if missing, retrying with backoff while
 * the server is not up, for at most `startTimeoutMs` → `write()` any number of times → `close()`.
 * `write()` may be called before `start()`: points wait in the buffer and are sent once started.
 *
 * Threading: single-threaded (Node event loop). `write()` is synchronous, never blocks and never throws;
 * it encodes each point to line protocol (src/sinks/line-protocol.ts) at once, so a point that cannot be
 * written is counted in `dropped` with its reason right there.
 *
 * Time: timers (batch interval, retry backoff, start and close time-outs) run on the injected rxjs
 * scheduler (`asyncScheduler` by default) and are measured with its `now()`; the HTTP requests
 * themselves are real I/O bounded by `requestTimeoutMs`. Points keep their own event time: every
 * timestamp is sent as integer nanoseconds with `precision=n`, so it is stored exactly.
 *
 * Batching and delivery:
 * - A batch (one HTTP request, at most `batchSize` lines) goes out as soon as `batchSize` points are
 *   buffered, or `batchIntervalMs` after a partial batch started waiting, or at once on `flush()`/`close()`.
 *   One request is in flight at a time, so points reach InfluxDB in the order they were written.
 * - A failed request (network error, time-out, HTTP 5xx, 401/403, 404 "database not found", …) leaves the
 *   batch at the head of the buffer and is retried after an exponential backoff with jitter
 *   (`retry.initialMs` doubling up to `retry.maxMs`; each wait is drawn from [base/2, base]). After a 404
 *   the database and retention policy are created again before the retry. Delivery is at-least-once: a
 *   request that timed out may have been stored and is sent again, which InfluxDB absorbs (a point with
 *   the same series and timestamp overwrites itself).
 * - Points InfluxDB refuses for good are dropped and counted under their reason, never retried:
 *   a 400 "partial write" (e.g. "field type conflict", "points beyond retention policy") stores the rest
 *   of the batch and names how many it dropped; a 400/413 that refuses the whole batch makes the sink
 *   split the batch in halves (no backoff) until the refused point is alone, then drop it.
 * - Buffer bound and overflow policy: at most `maxBufferPoints` points are held, counting the batch in
 *   flight. Beyond that the OLDEST buffered points are dropped (counted under "buffer overflow"), except
 *   those of the request currently in flight, which cannot be recalled; a failed batch goes back to the
 *   head of the buffer and becomes droppable again. So during an outage the sink keeps the newest points.
 * - Accounting: at any moment, points passed to write() = written + dropped + buffered.
 * - `flush()` resolves once every point written before it is stored or dropped; it keeps waiting while
 *   the server is down (or before start()), as the retries go on. `close()` is the bounded one: it sends
 *   what it can within `closeTimeoutMs` (retrying as usual), then drops and counts the rest (reason
 *   "sink closed before delivery"), resolving pending flushes; write() after close() counts its points
 *   as dropped (reason "sink closed").
 *
 * Errors are logged with `err.message` only: the client's errors embed the whole HTTP request.
 */
import http from 'node:http';
import https from 'node:https';
import { InfluxDB, ResultError } from 'influx';
import { Pool, RequestError } from 'influx/lib/src/pool.js';
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { z } from 'zod';

import { encodePoint } from './line-protocol.ts';
import type { Point } from './point.ts';
import type { Sink, SinkStats } from './sink.ts';

// ---------------------------------------------------------------------------------------------------
// Options

/** InfluxQL duration: `INF`, or e.g. `0s` (also infinite), `30d`, `1h30m`. */
const INFLUXQL_DURATION = /^(?:INF|inf|(?:\d+(?:ns|u|µ|ms|s|m|h|d|w))+)$/;

const isScheduler = (v: unknown): v is SchedulerLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { schedule?: unknown }).schedule === 'function' &&
  typeof (v as { now?: unknown }).now === 'function';

export const influxSinkOptionsSchema = z
  .object({
    /** Name in logs and stats. */
    name: z.string().min(1).default('influxdb'),
    /** `http(s)://host:port`; alternatively `host` (+ `port`, `protocol`). */
    url: z.string().optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).default(8086),
    protocol: z.enum(['http', 'https']).default('http'),
    username: z.string().optional(),
    password: z.string().optional(),
    database: z.string().min(1),
    /**
     * Retention policy the sink writes into, created if missing. Replays of old drives need one whose
     * duration keeps old points (`0s` or `INF`), else InfluxDB drops them as "beyond retention policy".
     * An existing policy of that name is used as it is (a different definition is logged, not altered).
     */
    retentionPolicy: z
      .object({
        name: z.string().min(1),
        duration: z.string().regex(INFLUXQL_DURATION, 'an InfluxQL duration such as 0s, INF, 30d or 1h30m'),
        replication: z.number().int().min(1).default(1),
        default: z.boolean().default(false),
      })
      .optional(),
    /** Points per HTTP request. */
    batchSize: z.number().int().min(1).default(5000),
    /** Longest wait of a partial batch before it is sent. */
    batchIntervalMs: z.number().positive().default(1000),
    /** Bound on buffered points (in-flight batch included); the oldest beyond it are dropped. */
    maxBufferPoints: z.number().int().min(1).default(200_000),
    retry: z
      .object({
        initialMs: z.number().positive().default(100),
        maxMs: z.number().positive().default(30_000),
      })
      .prefault({}),
    /** Time-out of one HTTP request. */
    requestTimeoutMs: z.number().positive().default(10_000),
    /** How long start() keeps trying to reach the server before it rejects. */
    startTimeoutMs: z.number().positive().default(30_000),
    /** How long close() keeps trying to deliver buffered points. */
    closeTimeoutMs: z.number().nonnegative().default(10_000),
    /** Scheduler for every timer of the sink. */
    scheduler: z.custom<SchedulerLike>(isScheduler, 'an rxjs SchedulerLike').optional(),
    /** Log sink for one-line messages (default: console.warn with the sink's name). */
    log: z.custom<(message: string) => void>((v) => typeof v === 'function', 'a function').optional(),
    /** Random source in [0, 1) for the backoff jitter (injectable for tests). */
    random: z.custom<() => number>((v) => typeof v === 'function', 'a function').optional(),
    /**
     * Called with the points of every batch InfluxDB acknowledged in full, right after the response
     * (benchmarks measure write latency with it). When set, buffered entries keep their Point.
     */
    onAck: z
      .custom<(points: readonly Point[]) => void>((v) => typeof v === 'function', 'a function')
      .optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.url === undefined) === (o.host === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of url and host', path: ['url'] });
    }
    if (o.url !== undefined) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(o.url);
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || !['http:', 'https:'].includes(parsed.protocol) || parsed.hostname === '') {
        ctx.addIssue({ code: 'custom', message: 'url must look like http://host:port', path: ['url'] });
      }
    }
    if (o.batchSize > o.maxBufferPoints) {
      ctx.addIssue({
        code: 'custom',
        message: 'batchSize must not exceed maxBufferPoints',
        path: ['batchSize'],
      });
    }
    if (o.retry.initialMs > o.retry.maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: 'retry.initialMs must not exceed retry.maxMs',
        path: ['retry'],
      });
    }
  });

export type InfluxSinkOptions = z.input<typeof influxSinkOptionsSchema>;
type ResolvedOptions = z.output<typeof influxSinkOptionsSchema>;

export interface InfluxSinkStats extends SinkStats {
  /** `dropped`, broken down by reason (e.g. "buffer overflow", "field type conflict"). */
  readonly droppedByReason: Readonly<Record<string, number>>;
  /** Fields left out of otherwise written points because their value was not representable (NaN, ±∞). */
  readonly fieldsOmitted: number;
}

// ---------------------------------------------------------------------------------------------------
// Buffer

interface Entry {
  /** Position in write order, 1-based; flush() waits on it. */
  readonly seq: number;
  readonly line: string;
  /** Kept only when `onAck` is set. */
  readonly point?: Point;
}

/** FIFO of encoded points with O(1) amortised removal at the head and re-insertion of a failed batch. */
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

  /** Puts a batch back at the head (it was taken from there, so order is kept). */
  unshift(batch: readonly Entry[]): void {
    if (this.head >= batch.length) {
      this.head -= batch.length;
      for (let i = 0; i < batch.length; i++) this.items[this.head + i] = batch[i] as Entry;
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
// Server answers

type Outcome =
  | { readonly kind: 'ok' }
  /** Some points stored, `dropped` refused for good. */
  | { readonly kind: 'partial'; readonly dropped: number; readonly reason: string; readonly message: string }
  /** The whole request refused for good (400/413). */
  | { readonly kind: 'refused'; readonly reason: string; readonly message: string }
  | { readonly kind: 'missing-database'; readonly message: string }
  | { readonly kind: 'retry'; readonly message: string };

/** `err.message` only: the client's errors carry the whole request and response objects. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}

/** The `error` text of an InfluxDB JSON error body inside the client's RequestError message. */
function serverErrorText(message: string): string {
  const at = message.indexOf('error occurred: ');
  const body = at >= 0 ? message.slice(at + 'error occurred: '.length) : message;
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { error?: unknown }).error === 'string'
    ) {
      return (parsed as { error: string }).error;
    }
  } catch {
    // not JSON
  }
  return body.trim();
}

/** A short, low-cardinality reason for counting: "field type conflict", "points beyond retention policy". */
export function refusalReason(text: string): string {
  let t = text.replace(/^partial write:\s*/, '').replace(/\s*dropped=\d+\s*$/, '');
  if (t.startsWith('unable to parse')) return 'unable to parse';
  const colon = t.indexOf(':');
  if (colon > 0) t = t.slice(0, colon);
  t = t.trim();
  return t === '' ? 'refused by server' : t.slice(0, 80);
}

function classifyWriteError(err: unknown, batchLength: number): Outcome {
  const message = errorMessage(err);
  if (!(err instanceof RequestError)) return { kind: 'retry', message };
  const status = err.res.statusCode ?? 0;
  const text = serverErrorText(message);
  if (status === 404 && /database not found/i.test(text)) return { kind: 'missing-database', message };
  if (status === 400 || status === 413) {
    const partial = /^partial write:/.test(text);
    if (partial) {
      let dropped: number;
      if (/unable to parse '/.test(text)) {
        // InfluxDB reports dropped=0 for lines it could not parse; each one is listed.
        dropped = text.split("unable to parse '").length - 1;
      } else {
        dropped = Number(/dropped=(\d+)\s*$/.exec(text)?.[1] ?? batchLength);
      }
      return {
        kind: 'partial',
        dropped: Math.min(batchLength, dropped),
        reason: refusalReason(text),
        message,
      };
    }
    return { kind: 'refused', reason: status === 413 ? 'request too large' : refusalReason(text), message };
  }
  return { kind: 'retry', message };
}

/** Errors start() should retry: the server unreachable or failing (not a refusal of the request). */
function isTransient(err: unknown): boolean {
  if (err instanceof RequestError) return (err.res.statusCode ?? 0) >= 500;
  if (err instanceof ResultError) return false; // InfluxQL error: retrying cannot help
  return !(err instanceof TypeError);
}

/** ns of an InfluxQL (`30d`, `INF`) or Go (`720h0m0s`) duration; 0 means infinite. */
export function durationNs(text: string): bigint {
  if (/^inf$/i.test(text)) return 0n;
  const unit: Record<string, bigint> = {
    ns: 1n,
    u: 1_000n,
    µ: 1_000n,
    us: 1_000n,
    µs: 1_000n,
    ms: 1_000_000n,
    s: 1_000_000_000n,
    m: 60_000_000_000n,
    h: 3_600_000_000_000n,
    d: 86_400_000_000_000n,
    w: 604_800_000_000_000n,
  };
  let total = 0n;
  for (const m of text.matchAll(/(\d+)(ns|us|µs|u|µ|ms|s|m|h|d|w)/g)) {
    total += BigInt(m[1] ?? '0') * (unit[m[2] ?? ''] ?? 0n);
  }
  return total;
}

/** A host "backoff" that never takes the only host out of the client's pool: the sink does the retrying. */
const neverDisable: IBackoffStrategy = {
  getDelay: () => 0,
  next: () => neverDisable,
  reset: () => neverDisable,
};

// ---------------------------------------------------------------------------------------------------
// Sink

type State = 'new' | 'starting' | 'running' | 'closed';

export class InfluxSink implements Sink {
  readonly name: string;
  readonly database: string;
  readonly retentionPolicyName: string | undefined;
  /** Base URL of the server, e.g. http://127.0.0.1:8086 */
  readonly url: string;

  private readonly opts: ResolvedOptions;
  private readonly scheduler: SchedulerLike;
  private readonly log: (message: string) => void;
  private readonly random: () => number;
  private readonly agent: http.Agent;
  private readonly admin: InfluxDB;
  private readonly pool: Pool;
  private readonly auth: string | undefined;
  private readonly writeQuery: Readonly<Record<string, string>>;

  private state: State = 'new';
  private closing = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private wakeStart: (() => void) | undefined;

  private readonly queue = new EntryQueue();
  private inFlight: Entry[] | null = null;
  private inFlightAbort: AbortController | null = null;
  private seq = 0;
  private waiters: { readonly target: number; readonly resolve: () => void }[] = [];

  private batchTimer: Subscription | null = null;
  private retryTimer: Subscription | null = null;
  private batchDue = false;
  private retryDue = false;
  /** Consecutive retryable failures; drives the backoff. */
  private failures = 0;
  /** Batch size limit while isolating a point the server refuses together with its batch. */
  private splitLimit: number | null = null;
  private databaseMissing = false;

  private written = 0;
  private dropped = 0;
  private failedWrites = 0;
  private fieldsOmitted = 0;
  private lastError: string | undefined;
  private readonly droppedByReason = new Map<string, number>();

  constructor(options: InfluxSinkOptions) {
    const parsed = influxSinkOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`InfluxSink options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    this.opts = o;
    this.name = o.name;
    this.database = o.database;
    this.retentionPolicyName = o.retentionPolicy?.name;
    this.scheduler = o.scheduler ?? asyncScheduler;
    this.log = o.log ?? ((message: string) => console.warn(`[${o.name}] ${message}`));
    this.random = o.random ?? Math.random;

    let protocol: 'http' | 'https' = o.protocol;
    let host = o.host ?? '127.0.0.1';
    let port = o.port;
    if (o.url !== undefined) {
      const u = new URL(o.url);
      protocol = u.protocol === 'https:' ? 'https' : 'http';
      host = u.hostname.replace(/^\[(.*)\]$/, '$1');
      port = u.port === '' ? (protocol === 'https' ? 443 : 80) : Number(u.port);
    }
    this.url = `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    // Own keep-alive agent, destroyed by close(), so no socket outlives the sink.
    this.agent =
      protocol === 'https' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    const poolOptions = { maxRetries: 0, requestTimeout: o.requestTimeoutMs, backoff: neverDisable };
    this.admin = new InfluxDB({
      host,
      port,
      protocol,
      database: o.database,
      ...(o.username !== undefined ? { username: o.username, password: o.password ?? '' } : {}),
      options: { agent: this.agent },
      pool: poolOptions,
    });
    this.pool = new Pool(poolOptions);
    this.pool.addHost(this.url, { agent: this.agent });
    this.auth = o.username !== undefined ? `${o.username}:${o.password ?? ''}` : undefined;
    this.writeQuery = {
      db: o.database,
      precision: 'n',
      ...(o.retentionPolicy !== undefined ? { rp: o.retentionPolicy.name } : {}),
    };
  }

  // --- Sink API ------------------------------------------------------------------------------------

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
      let result: ReturnType<typeof encodePoint>;
      try {
        result = encodePoint(point);
      } catch {
        this.drop(1, 'malformed point');
        continue;
      }
      if (!result.ok) {
        this.drop(1, result.reason);
        continue;
      }
      this.fieldsOmitted += result.omittedFields.length;
      this.queue.push(
        this.opts.onAck
          ? { seq: ++this.seq, line: result.line, point }
          : { seq: ++this.seq, line: result.line },
      );
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

  stats(): InfluxSinkStats {
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

  // --- start / close -------------------------------------------------------------------------------

  private async runStart(): Promise<void> {
    this.state = 'starting';
    const startedAt = this.scheduler.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ensureSchema();
        break;
      } catch (err) {
        const message = errorMessage(err);
        const remaining = this.opts.startTimeoutMs - (this.scheduler.now() - startedAt);
        if (this.closing || !isTransient(err) || remaining <= 0) {
          if (this.state === 'starting') this.state = 'new';
          const why = this.closing
            ? 'closed while starting'
            : isTransient(err)
              ? `gave up after ${attempt} attempts`
              : 'refused';
          throw new Error(
            `${this.name}: cannot prepare database "${this.database}" at ${this.url} (${why}): ${message}`,
          );
        }
        const waitMs = Math.min(remaining, this.backoffMs(attempt));
        this.log(`InfluxDB at ${this.url} not ready (${message}); retrying in ${Math.round(waitMs)} ms`);
        await new Promise<void>((resolve) => {
          const timer = this.scheduler.schedule(() => resolve(), waitMs);
          this.wakeStart = () => {
            timer.unsubscribe();
            resolve();
          };
        });
        this.wakeStart = undefined;
      }
    }
    if (this.closing) {
      if (this.state === 'starting') this.state = 'new';
      throw new Error(`${this.name}: closed while starting`);
    }
    this.state = 'running';
    this.pump();
  }

  /** Creates the database and the retention policy if missing (CREATE DATABASE is idempotent). */
  private async ensureSchema(): Promise<void> {
    await this.admin.createDatabase(this.database);
    const rp = this.opts.retentionPolicy;
    if (rp === undefined) return;
    const existing = await this.admin.showRetentionPolicies(this.database);
    const found = existing.find((p) => p.name === rp.name);
    if (found === undefined) {
      await this.admin.createRetentionPolicy(rp.name, {
        database: this.database,
        duration: rp.duration,
        replication: rp.replication,
        isDefault: rp.default,
      });
    } else if (durationNs(found.duration) !== durationNs(rp.duration)) {
      this.log(
        `retention policy "${rp.name}" on "${this.database}" exists with duration ${found.duration} ` +
          `(configured ${rp.duration}); left unchanged`,
      );
    }
  }

  private async runClose(): Promise<void> {
    this.closing = true;
    this.wakeStart?.();
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
    let undelivered = this.queue.length;
    this.queue.clear();
    if (this.inFlight !== null) {
      undelivered += this.inFlight.length;
      this.inFlight = null;
      this.inFlightAbort?.abort();
      this.inFlightAbort = null;
    }
    if (undelivered > 0) {
      this.drop(undelivered, 'sink closed before delivery');
      this.log(`closed with ${undelivered} points undelivered (dropped)`);
    }
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
    this.agent.destroy();
  }

  // --- buffer and batches --------------------------------------------------------------------------

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

  /** Resolves the flush() calls whose points are all written or dropped. */
  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const head = this.headSeq() ?? Number.POSITIVE_INFINITY;
    const pending: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.target < head) waiter.resolve();
      else pending.push(waiter);
    }
    this.waiters = pending;
  }

  private backoffMs(attempt: number): number {
    const base = Math.min(this.opts.retry.maxMs, this.opts.retry.initialMs * 2 ** Math.min(attempt - 1, 30));
    return base / 2 + (this.random() * base) / 2;
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
    const limit = Math.min(this.opts.batchSize, this.splitLimit ?? Number.POSITIVE_INFINITY);
    const force = this.batchDue || this.retryDue || this.waiters.length > 0 || this.closing;
    if (this.queue.length < limit && !force) {
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
    const batch = this.queue.takeFront(limit);
    this.inFlight = batch;
    void this.send(batch);
  }

  private async send(batch: Entry[]): Promise<void> {
    const abort = new AbortController();
    this.inFlightAbort = abort;
    let outcome: Outcome;
    try {
      if (this.databaseMissing) await this.ensureSchema();
      this.databaseMissing = false;
      try {
        await this.pool.discard({
          method: 'POST',
          path: '/write',
          query: this.writeQuery,
          body: batch.map((e) => e.line).join('\n'),
          ...(this.auth !== undefined ? { auth: this.auth } : {}),
          signal: abort.signal,
        });
        outcome = { kind: 'ok' };
      } catch (err) {
        outcome = classifyWriteError(err, batch.length);
      }
    } catch (err) {
      outcome = { kind: 'retry', message: `re-creating database: ${errorMessage(err)}` };
    }
    if (this.inFlight !== batch) return; // close() gave up on this batch and counted it
    this.inFlight = null;
    this.inFlightAbort = null;
    this.settle(batch, outcome);
    this.enforceCapacity();
    this.settleWaiters();
    this.pump();
  }

  private settle(batch: Entry[], outcome: Outcome): void {
    const n = batch.length;
    switch (outcome.kind) {
      case 'ok':
        if (this.failures > 0) this.log(`write recovered after ${this.failures} failed attempts`);
        this.written += n;
        this.failures = 0;
        this.splitLimit = null;
        this.opts.onAck?.(batch.flatMap((e) => (e.point ? [e.point] : [])));
        return;
      case 'partial':
        this.written += n - outcome.dropped;
        this.drop(outcome.dropped, outcome.reason);
        this.failedWrites++;
        this.lastError = outcome.message;
        this.failures = 0;
        this.splitLimit = null;
        this.log(`InfluxDB dropped ${outcome.dropped} of ${n} points: ${outcome.message}`);
        return;
      case 'refused':
        this.failedWrites++;
        this.lastError = outcome.message;
        this.failures = 0;
        if (n > 1) {
          if (this.splitLimit === null)
            this.log(`InfluxDB refused a batch of ${n}; splitting it: ${outcome.message}`);
          this.splitLimit = Math.ceil(n / 2);
          this.queue.unshift(batch);
        } else {
          this.splitLimit = null;
          this.drop(1, outcome.reason);
          this.log(`InfluxDB refused a point: ${outcome.message}`);
        }
        return;
      case 'missing-database':
      case 'retry': {
        if (outcome.kind === 'missing-database') this.databaseMissing = true;
        this.failedWrites++;
        this.lastError = outcome.message;
        this.failures++;
        this.queue.unshift(batch);
        const delay = this.backoffMs(this.failures);
        this.log(
          `write of ${n} points failed (attempt ${this.failures}): ${outcome.message}; ` +
            `retrying in ${Math.round(delay)} ms, ${this.queue.length} points buffered`,
        );
        this.retryTimer = this.scheduler.schedule(() => {
          this.retryTimer = null;
          this.retryDue = true;
          this.pump();
        }, delay);
        return;
      }
    }
  }
}
