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
 *
 * The buffer, batching, retries, lifecycle and counters are BatchBuffer's (src/sinks/batch-buffer.ts), as
 * for FileSink; this file has the HTTP side: database preparation, the write request, the classification
 * of refusals, batch splitting, database re-creation and `onAck`.
 */
import http from 'node:http';
import https from 'node:https';
import { InfluxDB, ResultError } from 'influx';
import { Pool, RequestError } from 'influx/lib/src/pool.js';
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js';
import type { SchedulerLike } from 'rxjs';
import { z } from 'zod';

import {
  BatchBuffer,
  batchingOptionsShape,
  checkBatchFitsBuffer,
  encodeLineProtocol,
  runtimeOptionsShape,
  type BatchBufferStats,
  type BufferEntry,
} from './batch-buffer.ts';
import type { Point } from './point.ts';
import type { Sink } from './sink.ts';

// ---------------------------------------------------------------------------------------------------
// Options

/** InfluxQL duration: `INF`, or e.g. `0s` (also infinite), `30d`, `1h30m`. */
const INFLUXQL_DURATION = /^(?:INF|inf|(?:\d+(?:ns|u|µ|ms|s|m|h|d|w))+)$/;

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
    /** batchSize (points per HTTP request), batchIntervalMs, maxBufferPoints, retry. */
    ...batchingOptionsShape,
    /** Time-out of one HTTP request. */
    requestTimeoutMs: z.number().positive().default(10_000),
    /** How long start() keeps trying to reach the server before it rejects. */
    startTimeoutMs: z.number().positive().default(30_000),
    /** closeTimeoutMs, scheduler, log. */
    ...runtimeOptionsShape,
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
    checkBatchFitsBuffer(o, ctx);
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

/** `droppedByReason` and `fieldsOmitted` besides the SinkStats counters (see BatchBufferStats). */
export type InfluxSinkStats = BatchBufferStats;

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

export class InfluxSink implements Sink {
  readonly name: string;
  readonly database: string;
  readonly retentionPolicyName: string | undefined;
  /** Base URL of the server, e.g. http://127.0.0.1:8086 */
  readonly url: string;

  private readonly opts: ResolvedOptions;
  /** Buffer, batches, retries, lifecycle and counters; this class does the HTTP and judges the answers. */
  private readonly buffer: BatchBuffer;
  private readonly scheduler: SchedulerLike;
  private readonly log: (message: string) => void;
  private readonly agent: http.Agent;
  private readonly admin: InfluxDB;
  private readonly pool: Pool;
  private readonly auth: string | undefined;
  private readonly writeQuery: Readonly<Record<string, string>>;

  private wakeStart: (() => void) | undefined;
  private databaseMissing = false;

  constructor(options: InfluxSinkOptions) {
    const parsed = influxSinkOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`InfluxSink options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    this.opts = o;
    this.name = o.name;
    this.database = o.database;
    this.retentionPolicyName = o.retentionPolicy?.name;
    this.buffer = new BatchBuffer(o, {
      encode: encodeLineProtocol,
      keepPoints: o.onAck !== undefined,
      random: o.random ?? Math.random,
      // A request can be given up on: close() counts its batch as undelivered and aborts it.
      inFlightOnClose: 'abort',
      deliver: (batch, signal) => this.send(batch, signal),
      messages: {
        recovered: (failures) => `write recovered after ${failures} failed attempts`,
        retrying: (r) =>
          `write of ${r.points} points failed (attempt ${r.attempt}): ${r.error}; ` +
          `retrying in ${Math.round(r.delayMs)} ms, ${r.buffered} points buffered`,
        closedUndelivered: (points) => `closed with ${points} points undelivered (dropped)`,
      },
    });
    this.scheduler = this.buffer.scheduler;
    this.log = this.buffer.log;

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
    return this.buffer.start(() => this.prepare());
  }

  write(points: readonly Point[]): void {
    this.buffer.write(points);
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  close(): Promise<void> {
    return this.buffer.close({
      // A start() still retrying stops waiting and gives up ("closed while starting").
      before: () => {
        this.wakeStart?.();
        return undefined;
      },
      after: () => {
        this.agent.destroy();
        return undefined;
      },
    });
  }

  stats(): InfluxSinkStats {
    return this.buffer.stats();
  }

  // --- start --------------------------------------------------------------------------------------

  /** start()'s own part: creates what is missing, retrying with backoff while the server is not up. */
  private async prepare(): Promise<void> {
    const startedAt = this.scheduler.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ensureSchema();
        break;
      } catch (err) {
        const message = errorMessage(err);
        const remaining = this.opts.startTimeoutMs - (this.scheduler.now() - startedAt);
        if (this.buffer.closing || !isTransient(err) || remaining <= 0) {
          const why = this.buffer.closing
            ? 'closed while starting'
            : isTransient(err)
              ? `gave up after ${attempt} attempts`
              : 'refused';
          throw new Error(
            `${this.name}: cannot prepare database "${this.database}" at ${this.url} (${why}): ${message}`,
          );
        }
        const waitMs = Math.min(remaining, this.buffer.backoffMs(attempt));
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
    if (this.buffer.closing) throw new Error(`${this.name}: closed while starting`);
    this.buffer.opened();
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

  // --- batches -------------------------------------------------------------------------------------

  private async send(batch: readonly BufferEntry[], signal: AbortSignal): Promise<void> {
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
          signal,
        });
        outcome = { kind: 'ok' };
      } catch (err) {
        outcome = classifyWriteError(err, batch.length);
      }
    } catch (err) {
      outcome = { kind: 'retry', message: `re-creating database: ${errorMessage(err)}` };
    }
    if (!this.buffer.endBatch(batch)) return; // close() gave up on this batch and counted it
    this.settle(batch, outcome);
    this.buffer.advance();
  }

  private settle(batch: readonly BufferEntry[], outcome: Outcome): void {
    const n = batch.length;
    switch (outcome.kind) {
      case 'ok':
        this.buffer.delivered(n);
        this.buffer.batchCap = null;
        this.opts.onAck?.(batch.flatMap((e) => (e.point ? [e.point] : [])));
        return;
      case 'partial':
        this.buffer.countWritten(n - outcome.dropped);
        this.buffer.drop(outcome.dropped, outcome.reason);
        this.buffer.countRefusal(outcome.message);
        this.buffer.batchCap = null;
        this.log(`InfluxDB dropped ${outcome.dropped} of ${n} points: ${outcome.message}`);
        return;
      case 'refused':
        this.buffer.countRefusal(outcome.message);
        if (n > 1) {
          // Halve the batches (no backoff) until the refused point is alone.
          if (this.buffer.batchCap === null)
            this.log(`InfluxDB refused a batch of ${n}; splitting it: ${outcome.message}`);
          this.buffer.batchCap = Math.ceil(n / 2);
          this.buffer.requeue(batch);
        } else {
          this.buffer.batchCap = null;
          this.buffer.drop(1, outcome.reason);
          this.log(`InfluxDB refused a point: ${outcome.message}`);
        }
        return;
      case 'missing-database':
      case 'retry':
        if (outcome.kind === 'missing-database') this.databaseMissing = true;
        this.buffer.retryLater(batch, outcome.message);
        return;
    }
  }
}
