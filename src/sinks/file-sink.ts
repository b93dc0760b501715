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
 *
 * The buffer, batching, retries, lifecycle and counters are BatchBuffer's (src/sinks/batch-buffer.ts), as
 * for InfluxSink; this file has the JSONL encoding and the file I/O (append, truncate on failure).
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

import {
  BatchBuffer,
  batchingOptionsShape,
  checkBatchFitsBuffer,
  encodeLineProtocol,
  runtimeOptionsShape,
  type BatchBufferStats,
  type BufferEntry,
  type Encoded,
} from './batch-buffer.ts';
import { formatFloat } from './line-protocol.ts';
import type { Point } from './point.ts';
import type { Sink } from './sink.ts';

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
    ...batchingOptionsShape,
    ...runtimeOptionsShape,
  })
  .strict()
  .superRefine((o, ctx) => {
    checkBatchFitsBuffer(o, ctx);
  });

export type FileSinkOptions = z.input<typeof fileSinkOptionsSchema>;
type ResolvedOptions = z.output<typeof fileSinkOptionsSchema>;

/** `droppedByReason` and `fieldsOmitted` besides the SinkStats counters (see BatchBufferStats). */
export type FileSinkStats = BatchBufferStats;

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

export class FileSink implements Sink {
  readonly name: string;
  /** The file the sink appends to. */
  readonly filePath: string;
  readonly format: 'lp' | 'jsonl';

  private readonly opts: ResolvedOptions;
  /** Buffer, batches, retries, lifecycle and counters; this class does the file I/O. */
  private readonly buffer: BatchBuffer;

  private file: FileHandle | undefined;
  /** Size of the file after the last successful append (for cutting back a failed one). */
  private fileSize = 0;
  /** Set when close() finds an append in flight: that append closes the file when it completes. */
  private closeAfterAppend: FileHandle | undefined;

  constructor(options: FileSinkOptions = {}) {
    const parsed = fileSinkOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`FileSink options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    this.opts = o;
    this.name = o.name;
    this.format = o.format;
    this.filePath = path.join(o.dir, `${o.fileName}.${o.format}`);
    this.buffer = new BatchBuffer(o, {
      encode: o.format === 'lp' ? encodeLineProtocol : toJsonLine,
      // An append cannot be recalled: close() lets it finish, and it is counted then.
      inFlightOnClose: 'finish',
      deliver: (batch) => this.append(batch),
      messages: {
        recovered: (failures) => `append recovered after ${failures} failed attempts`,
        retrying: (r) =>
          `append of ${r.points} points failed: ${r.error}; retrying in ${Math.round(r.delayMs)} ms`,
        closedUndelivered: (points) => `closed with ${points} points unwritten (dropped)`,
      },
    });
  }

  start(): Promise<void> {
    return this.buffer.start(() => this.openFile());
  }

  write(points: readonly Point[]): void {
    this.buffer.write(points);
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  close(): Promise<void> {
    return this.buffer.close({
      // Let a start() in progress finish, so that what is buffered can still be appended.
      before: () => this.buffer.starting?.catch(() => undefined),
      after: () => {
        const file = this.file;
        this.file = undefined;
        if (!this.buffer.sending) return file?.close();
        this.closeAfterAppend = file;
        return undefined;
      },
    });
  }

  stats(): FileSinkStats {
    return this.buffer.stats();
  }

  private async openFile(): Promise<void> {
    try {
      await mkdir(this.opts.dir, { recursive: true });
      const file = await open(this.filePath, 'a');
      this.fileSize = (await file.stat()).size;
      if (this.buffer.closing) {
        await file.close();
        throw new Error('closed while starting');
      }
      this.file = file;
    } catch (err) {
      throw new Error(`${this.name}: cannot open ${this.filePath} for appending: ${(err as Error).message}`);
    }
    this.buffer.opened();
  }

  private async append(batch: readonly BufferEntry[]): Promise<void> {
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
    this.buffer.endBatch(batch); // always true: close() lets an append finish
    if (error === undefined) this.buffer.delivered(batch.length);
    else this.buffer.retryLater(batch, error); // dropped instead once the sink is closed
    if (this.closeAfterAppend !== undefined) {
      const toClose = this.closeAfterAppend;
      this.closeAfterAppend = undefined;
      await toClose.close().catch(() => undefined);
    }
    this.buffer.advance();
  }
}
