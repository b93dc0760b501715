/**
 * The pipeline under benchmark, run as its own process (pinned to one core by bench/run.ts with taskset).
 * It runs the same runtime as `drivesense run`, with a probe around the InfluxDB sink that measures, for
 * every window summary, (a) window close → InfluxDB acknowledgement, and (b) window end in event time →
 * acknowledgement (the age of the data when it becomes queryable; event time ≈ wall time in this bench).
 * Talks to the parent over IPC: `{ type: 'stats' }` → a WorkerStats reply; `{ type: 'stop' }` → exits.
 */
import { parseConfig } from '../src/config/schema.ts';
import type { ConfigInput } from '../src/config/schema.ts';
import { startRuntime } from '../src/cli/runtime.ts';
import { INPUT_STREAMS } from '../src/streams/contracts/topics.ts';
import type { InputStream } from '../src/streams/contracts/topics.ts';
import type { Point } from '../src/sinks/point.ts';
import { InfluxSink } from '../src/sinks/influx-sink.ts';
import type { Sink, SinkStats } from '../src/sinks/sink.ts';

export interface WorkerStats {
  readonly counts: Record<InputStream, number>;
  readonly missing: Record<InputStream, number>;
  /** Wall-clock ms of the first and the latest change of each stream's count. */
  readonly firstMs: Record<InputStream, number | null>;
  readonly lastMs: Record<InputStream, number | null>;
  readonly cpuUs: number;
  readonly wallMs: number;
  readonly rssBytes: number;
  readonly windows: number;
  readonly points: number;
  readonly closeToAckMs: number[];
  readonly eventEndToAckMs: number[];
  readonly sink: SinkStats;
}

const config = parseConfig(
  JSON.parse(process.env['DRIVESENSE_BENCH_CONFIG'] ?? '{}') as ConfigInput,
  'bench config',
);
const writtenAt = new WeakMap<Point, number>();
const closeToAck: number[] = [];
const eventEndToAck: number[] = [];

if (config.influx === null) throw new Error('the bench worker needs an influx section');
const inner = new InfluxSink({
  url: config.influx.url,
  database: config.influx.database,
  retentionPolicy: {
    name: config.influx.retentionPolicy.name,
    duration: config.influx.retentionPolicy.duration,
    default: true,
  },
  batchSize: config.influx.batchSize,
  batchIntervalMs: config.influx.batchIntervalMs,
  maxBufferPoints: config.influx.maxBufferPoints,
  onAck: (points: readonly Point[]) => {
    const now = Date.now();
    for (const p of points) {
      if (p.measurement !== 'window_summary') continue;
      const at = writtenAt.get(p);
      if (at !== undefined) closeToAck.push(now - at);
      const windowMs = p.fields['window_ms'];
      if (typeof windowMs === 'number') eventEndToAck.push(now - (Number(p.timeNs / 1_000_000n) + windowMs));
    }
  },
});
// The pipeline writes a window's points synchronously when the window closes: write time = close time.
const probe: Sink = {
  name: inner.name,
  start: () => inner.start(),
  write: (points) => {
    const now = Date.now();
    for (const p of points) writtenAt.set(p, now);
    inner.write(points);
  },
  flush: () => inner.flush(),
  close: () => inner.close(),
  stats: () => inner.stats(),
};

const rt = await startRuntime(config, { sinks: [probe] });
const startedMs = Date.now();
const cpu0 = process.cpuUsage();
const zero = <T>(v: T) => Object.fromEntries(INPUT_STREAMS.map((s) => [s, v])) as Record<InputStream, T>;
const firstMs = zero<number | null>(null);
const lastMs = zero<number | null>(null);
const prev = zero(0);
// Sample the counters every 10 ms: the first and last change of each give the receive span.
setInterval(() => {
  const totals = rt.pipeline.stats().status.totals();
  const now = Date.now();
  for (const s of INPUT_STREAMS) {
    const n = totals[s]?.messages ?? 0;
    if (n !== prev[s]) {
      firstMs[s] ??= now;
      lastMs[s] = now;
      prev[s] = n;
    }
  }
}, 10).unref();

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    const totals = rt.pipeline.stats().status.totals();
    const cpu = process.cpuUsage(cpu0);
    const stats: WorkerStats = {
      counts: Object.fromEntries(INPUT_STREAMS.map((s) => [s, totals[s]?.messages ?? 0])) as Record<
        InputStream,
        number
      >,
      missing: Object.fromEntries(INPUT_STREAMS.map((s) => [s, totals[s]?.missing ?? 0])) as Record<
        InputStream,
        number
      >,
      firstMs: { ...firstMs },
      lastMs: { ...lastMs },
      cpuUs: cpu.user + cpu.system,
      wallMs: Date.now() - startedMs,
      rssBytes: process.memoryUsage().rss,
      windows: rt.pipeline.stats().windows,
      points: rt.pipeline.stats().points,
      closeToAckMs: closeToAck.splice(0),
      eventEndToAckMs: eventEndToAck.splice(0),
      sink: inner.stats(),
    };
    process.send?.({ type: 'stats', stats });
  } else if (msg.type === 'stop') {
    void rt.shutdown().then(() => process.exit(0));
  }
});
process.send?.({ type: 'ready' });
