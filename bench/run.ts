/**
 * `npm run bench`: ingest throughput and publish-to-InfluxDB latency through the real Mosquitto and
 * InfluxDB on this machine. The pipeline runs in its own process pinned to CPU 0 (taskset); the broker,
 * InfluxDB and this load generator are pinned to CPU 1, as "one core keeps up with 10 vehicles" means.
 *
 * Writes bench/results/ingest.json and the summary table in docs/performance.md (between markers).
 * Then the feature extractors' benchmarks (bench/features.ts), pinned to CPU 0.
 * Options: --quick (shorter ingest runs, for a smoke check; results are still written),
 *          --only=ingest | --only=features.
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { InputStream } from '../src/streams/contracts/topics.ts';
import { topicFor } from '../src/streams/contracts/topics.ts';
import { newSessionId } from '../src/streams/contracts/header.ts';
import type { ConfigInput } from '../src/config/schema.ts';
import { ensureServicePackages, startInfluxd, startMosquitto } from '../test/harness/services.ts';
import type { ServiceHandle } from '../test/harness/services.ts';
import { CAMERA_JPEG_BYTES, LOADS } from './load.ts';
import type { StreamLoad } from './load.ts';
import type { WorkerStats } from './pipeline-worker.ts';
import { nearestRank } from './stats.ts';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const BATCH_INTERVALS_MS = [1000, 100] as const;
const LATENCY_SECONDS = quick ? 8 : 30;
const THROUGHPUT_MESSAGES: Record<string, number> = quick
  ? { ecg: 2000, can: 2000, audio: 5000, camera: 2000 }
  : { ecg: 20_000, can: 10_000, audio: 50_000, camera: 15_000 };

function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pidOf(service: ServiceHandle): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-f', service.configFile], { encoding: 'utf8' }).trim().split('\n')[0];
    return out ? Number(out) : undefined;
  } catch {
    return undefined;
  }
}

class Worker {
  private constructor(private readonly child: ChildProcess) {}

  static async start(config: ConfigInput): Promise<Worker> {
    const child = fork(fileURLToPath(new URL('./pipeline-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DRIVESENSE_BENCH_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
    });
    if (child.pid === undefined || !pin(child.pid, 0))
      console.error('warning: could not pin the pipeline to CPU 0');
    return new Worker(child);
  }

  stats(): Promise<WorkerStats> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { type: string; stats: WorkerStats }) => resolve(m.stats));
      this.child.send({ type: 'stats' });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'stop' });
    await exited;
  }
}

async function connect(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId: `bench-load-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    queueQoSZero: false,
  });
}

async function waitSettled(
  worker: Worker,
  done: (s: WorkerStats) => boolean,
  quietMs: number,
  timeoutMs: number,
): Promise<WorkerStats> {
  const deadline = Date.now() + timeoutMs;
  let last = await worker.stats();
  let lastChange = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const s = await worker.stats();
    const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
    const prevTotal = Object.values(last.counts).reduce((a, b) => a + b, 0);
    if (total !== prevTotal) lastChange = Date.now();
    last = {
      ...s,
      closeToAckMs: [...last.closeToAckMs, ...s.closeToAckMs],
      eventEndToAckMs: [...last.eventEndToAckMs, ...s.eventEndToAckMs],
    };
    if (done(s) || Date.now() - lastChange > quietMs || Date.now() > deadline) return last;
  }
}

interface ThroughputResult {
  stream: InputStream;
  qos: 0 | 1;
  payloadBytes: number;
  samplesPerMessage: number;
  published: number;
  received: number;
  lost: number;
  messagesPerS: number;
  samplesPerS: number;
  mbPerS: number;
  realTimeMessagesPerS: number;
  vehiclesSustained: number;
  pipelineCpuPercent: number;
}

async function throughput(load: StreamLoad, url: string, baseConfig: ConfigInput): Promise<ThroughputResult> {
  const worker = await Worker.start(baseConfig);
  const client = await connect(url);
  const n = THROUGHPUT_MESSAGES[load.stream] as number;
  const vehicle = `tp-${load.stream}`;
  const topic = topicFor(vehicle, load.stream);
  const session = newSessionId();
  const t0 = Date.now() * 1000;
  const payloads = Array.from({ length: Math.min(n, 500) }, (_, k) =>
    load.make(k, t0 + k * load.periodUs, session),
  );
  const before = await worker.stats();
  const inFlight = new Set<Promise<unknown>>();
  // Closed loop: keep the backlog (published, not yet taken in by the pipeline) under MAX_BACKLOG, below
  // Mosquitto's per-client queue (max_queued_messages 1000), so the run measures the sustainable rate
  // rather than the broker's overflow policy. Any loss that still happens is reported.
  const MAX_BACKLOG = 800;
  let taken = 0;
  for (let k = 0; k < n; k++) {
    if (k % 100 === 0) {
      for (;;) {
        taken = (await worker.stats()).counts[load.stream] - before.counts[load.stream];
        if (k - taken < MAX_BACKLOG) break;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    // Re-encode only the header fields that change: cheap enough, and keeps sequence numbers real.
    const payload =
      k < payloads.length ? (payloads[k] as Uint8Array) : load.make(k, t0 + k * load.periodUs, session);
    const p = client.publishAsync(topic, Buffer.from(payload), { qos: load.qos });
    if (load.qos === 1) {
      const tracked: Promise<unknown> = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= 500) await Promise.race(inFlight);
    } else if (k % 100 === 99) {
      await new Promise((r) => setImmediate(r));
    }
  }
  await Promise.all(inFlight);
  const after = await waitSettled(worker, (s) => s.counts[load.stream] >= n, 3000, 120_000);
  await client.endAsync();
  await worker.stop();
  const received = after.counts[load.stream];
  const spanMs = Math.max(1, (after.lastMs[load.stream] ?? 0) - (after.firstMs[load.stream] ?? 0));
  const perS = ((received - 1) / spanMs) * 1000;
  const realTime = 1e6 / load.periodUs;
  const bytes = (payloads[0] as Uint8Array).byteLength;
  return {
    stream: load.stream,
    qos: load.qos,
    payloadBytes: load.stream === 'camera' ? CAMERA_JPEG_BYTES + 32 : bytes,
    samplesPerMessage: load.samplesPerMessage,
    published: n,
    received,
    lost: n - received,
    messagesPerS: Math.round(perS),
    samplesPerS: Math.round(perS * load.samplesPerMessage),
    mbPerS: Number(((perS * bytes) / 1e6).toFixed(2)),
    realTimeMessagesPerS: Number(realTime.toFixed(2)),
    vehiclesSustained: Math.floor(perS / realTime),
    pipelineCpuPercent: Math.round(
      ((after.cpuUs - before.cpuUs) / 1000 / Math.max(1, after.wallMs - before.wallMs)) * 100,
    ),
  };
}

interface LatencyResult {
  vehicles: number;
  seconds: number;
  batchIntervalMs: number;
  published: Record<string, number>;
  received: Record<string, number>;
  windows: number;
  points: number;
  closeToAckMs: { p50: number | null; p99: number | null; max: number | null; n: number };
  eventEndToAckMs: { p50: number | null; p99: number | null; max: number | null; n: number };
  pipelineCpuPercent: number;
  pipelineRssMb: number;
  sinkDropped: number;
}

async function latency(
  vehicles: number,
  batchIntervalMs: number,
  url: string,
  baseConfig: ConfigInput,
): Promise<LatencyResult> {
  const worker = await Worker.start({ ...baseConfig, influx: { ...baseConfig.influx, batchIntervalMs } });
  const client = await connect(url);
  const startMs = Date.now();
  const t0 = startMs * 1000;
  const streams = LOADS.map((load) => ({ load, next: 0 }));
  const sessions = Array.from({ length: vehicles }, () => LOADS.map(() => newSessionId()));
  const published: Record<string, number> = {};
  const before = await worker.stats();
  const endUs = t0 + LATENCY_SECONDS * 1e6;
  // Real-time pacing: every 5 ms publish whatever is due for every vehicle.
  while (Date.now() * 1000 < endUs) {
    const nowUs = Date.now() * 1000;
    streams.forEach((s, i) => {
      while (t0 + s.next * s.load.periodUs <= nowUs) {
        const tUs = t0 + s.next * s.load.periodUs;
        for (let v = 0; v < vehicles; v++) {
          const payload = s.load.make(s.next, tUs, (sessions[v] as number[])[i] as number);
          void client.publishAsync(topicFor(`veh-${v}`, s.load.stream), Buffer.from(payload), {
            qos: s.load.qos,
          });
          published[s.load.stream] = (published[s.load.stream] ?? 0) + 1;
        }
        s.next++;
      }
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  const total = Object.values(published).reduce((a, b) => a + b, 0);
  const after = await waitSettled(
    worker,
    (s) => Object.values(s.counts).reduce((a, b) => a + b, 0) >= total && s.closeToAckMs.length === 0,
    batchIntervalMs + 3000,
    30_000,
  );
  const closeToAck = [...before.closeToAckMs, ...after.closeToAckMs].sort((a, b) => a - b);
  const endToAck = [...before.eventEndToAckMs, ...after.eventEndToAckMs].sort((a, b) => a - b);
  await client.endAsync();
  await worker.stop();
  const pct = (xs: number[]) => ({
    p50: nearestRank(xs, 50),
    p99: nearestRank(xs, 99),
    max: xs.at(-1) ?? null,
    n: xs.length,
  });
  return {
    vehicles,
    seconds: LATENCY_SECONDS,
    batchIntervalMs,
    published,
    received: after.counts,
    windows: after.windows,
    points: after.points,
    closeToAckMs: pct(closeToAck),
    eventEndToAckMs: pct(endToAck),
    pipelineCpuPercent: Math.round(
      ((after.cpuUs - before.cpuUs) / 1000 / Math.max(1, after.wallMs - before.wallMs)) * 100,
    ),
    pipelineRssMb: Math.round(after.rssBytes / 1e6),
    sinkDropped: after.sink.dropped,
  };
}

function renderMarkdown(r: {
  date: string;
  machine: string;
  throughput: ThroughputResult[];
  latency: LatencyResult[];
}): string {
  const t = r.throughput
    .map(
      (x) =>
        `| ${x.stream} | ${x.qos} | ${x.payloadBytes} | ${x.messagesPerS.toLocaleString('en-US')} | ${x.samplesPerS.toLocaleString('en-US')} | ${x.mbPerS} | ${x.realTimeMessagesPerS} | **${x.vehiclesSustained.toLocaleString('en-US')}** | ${x.lost} | ${x.pipelineCpuPercent} % |`,
    )
    .join('\n');
  const l = r.latency
    .map(
      (x) =>
        `| ${x.vehicles} | ${x.seconds} s | ${x.batchIntervalMs} ms | ${x.closeToAckMs.p50} / ${x.closeToAckMs.p99} / ${x.closeToAckMs.max} | ${x.eventEndToAckMs.p50} / ${x.eventEndToAckMs.p99} | ${x.pipelineCpuPercent} % | ${x.pipelineRssMb} MB | ${Object.values(x.received).reduce((a, b) => a + b, 0)} / ${Object.values(x.published).reduce((a, b) => a + b, 0)} | ${x.sinkDropped} |`,
    )
    .join('\n');
  return `<!-- ingest:begin (written by npm run bench; do not edit) -->
Measured ${r.date} on ${r.machine}. Pipeline pinned to one core; broker, InfluxDB and load generator on the other.

**Ingest throughput** (one stream type at a time, published as fast as the pipeline takes it in — the generator keeps
at most 800 messages in the broker's queue for it — through Mosquitto into the full pipeline: decode, sequence
tracking, windows, summaries, InfluxDB writes):

| stream | QoS | payload B | messages/s | samples/s | MB/s | one vehicle's rate (msg/s) | × one vehicle | lost | pipeline CPU |
|---|---|---|---|---|---|---|---|---|---|
${t}

**Latency at real rates** (every vehicle publishes all five streams at their real rates: ECG 4 msg/s,
CAN 10 batches/s of 230 frames, audio 50 chunks/s, camera 30 JPEG/s, weather 1/min; 1 s tumbling windows,
500 ms allowed lateness). *close → ack* is from the moment a window closes (its watermark passes) to
InfluxDB acknowledging the write, with the batch interval beside it; *window end → ack* adds the window's
wait for its watermark and lateness (the age of the data when it is queryable).

| vehicles | run | batch interval | close → ack p50 / p99 / max (ms) | window end → ack p50 / p99 (ms) | pipeline CPU (one core) | RSS | messages received / sent | points dropped |
|---|---|---|---|---|---|---|---|---|
${l}
<!-- ingest:end -->`;
}

/** The feature extractors' benchmarks, in their own process pinned to CPU 0. */
function runFeatureBenches(): void {
  const script = fileURLToPath(new URL('./features.ts', import.meta.url));
  const args = ['-c', '0', process.execPath, '--import', 'tsx', script];
  try {
    execFileSync('taskset', args, { stdio: 'inherit' });
  } catch {
    execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  }
}

async function main(): Promise<void> {
  if (only === 'features') return runFeatureBenches();
  ensureServicePackages();
  pin(process.pid, 1);
  const [mosquitto, influxd] = await Promise.all([startMosquitto(), startInfluxd()]);
  for (const s of [mosquitto, influxd]) {
    const pid = pidOf(s);
    if (pid === undefined || !pin(pid, 1)) console.error(`warning: could not pin ${s.url} to CPU 1`);
  }
  try {
    const baseConfig: ConfigInput = {
      pipelineId: 'bench',
      mqtt: { url: mosquitto.url, protocol: 5 },
      influx: { url: influxd.url, database: 'bench' },
      windows: { sizeMs: 1000, slideMs: 1000, allowedLatenessMs: 500 },
      // Ingest without speech enhancement: its cost per vehicle (the model and the camera's mouth path) is
      // measured on its own by the speech bench (bench/models/speech.ts), and at these rates it would turn
      // the ingest figures into the enhancer's backlog policy.
      features: { speech: { model: null } },
    };
    const throughputResults: ThroughputResult[] = [];
    for (const load of LOADS.filter((l) => l.stream !== 'weather')) {
      console.error(`throughput: ${load.stream} …`);
      const r = await throughput(load, mosquitto.url, baseConfig);
      console.error(
        `  ${r.messagesPerS} msg/s, ${r.samplesPerS} samples/s, ${r.vehiclesSustained}× one vehicle, lost ${r.lost}`,
      );
      throughputResults.push(r);
    }
    const latencyResults: LatencyResult[] = [];
    for (const [vehicles, batchMs] of BATCH_INTERVALS_MS.flatMap((b) =>
      [1, 10].map((v) => [v, b] as const),
    )) {
      console.error(
        `latency: ${vehicles} vehicle(s), batch interval ${batchMs} ms, for ${LATENCY_SECONDS} s …`,
      );
      const r = await latency(vehicles, batchMs, mosquitto.url, baseConfig);
      console.error(
        `  close→ack p50 ${r.closeToAckMs.p50} ms p99 ${r.closeToAckMs.p99} ms; CPU ${r.pipelineCpuPercent} %`,
      );
      latencyResults.push(r);
    }
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const result = {
      date: new Date().toISOString().slice(0, 10),
      machine: `${cpus().length} × ${cpu}, Node ${process.version}, Mosquitto 2 and InfluxDB 1.6 from Debian`,
      quick,
      throughput: throughputResults,
      latency: latencyResults,
    };
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}ingest.json`, JSON.stringify(result, null, 2) + '\n');
    const docPath = fileURLToPath(new URL('../docs/performance.md', import.meta.url));
    const doc = await readFile(docPath, 'utf8').catch(
      () => '# Performance\n\n<!-- ingest:begin -->\n<!-- ingest:end -->\n',
    );
    const updated = doc.replace(/<!-- ingest:begin[\s\S]*?<!-- ingest:end -->/, renderMarkdown(result));
    await writeFile(docPath, updated);
    console.error(`wrote bench/results/ingest.json and docs/performance.md`);
  } finally {
    await Promise.all([mosquitto.close(), influxd.close()]);
  }
  if (only !== 'ingest') runFeatureBenches();
}

await main();
