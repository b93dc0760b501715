import type { Point } from './point.ts';

/** Counters every sink reports; monotonic over the sink's life. */
export interface SinkStats {
  /** Points acknowledged by the backend (or written to disk). */
  readonly written: number;
  /** Points waiting in the sink's bounded buffer. */
  readonly buffered: number;
  /** Points given up on: buffer overflow or a backend that refused them for good. */
  readonly dropped: number;
  /** Failed write attempts (each retry counts). */
  readonly failedWrites: number;
  readonly lastError?: string;
}

/**
 * One interface for every time-series sink (InfluxDB, files).
 *
 * Lifecycle: construct (no I/O) → `start()` (connects, creates what is missing) → `write()` any number of
 * times → `close()` (flushes what it can, then releases resources). `write()` never blocks and never throws
 * for backend trouble: points go into a bounded buffer, and what overflows is counted in `dropped`.
 * Single-threaded (Node event loop); `write()` may be called from any RxJS subscriber.
 */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  write(points: readonly Point[]): void;
  /** Resolves once every point written before the call is acknowledged or dropped. */
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): SinkStats;
}
