import { encodeAudio } from '../src/streams/contracts/audio.ts';
import { encodeCameraFrame } from '../src/streams/contracts/camera.ts';
import { encodeCanBatch } from '../src/streams/contracts/can.ts';
import { newSessionId } from '../src/streams/contracts/header.ts';
import type { CanFrame, PhysioChannelKind } from '../src/streams/contracts/messages.ts';
import { encodePhysio } from '../src/streams/contracts/physio.ts';
import type { InputStream } from '../src/streams/contracts/topics.ts';
import { topicFor } from '../src/streams/contracts/topics.ts';
import { encodeWeather } from '../src/streams/contracts/weather.ts';

/**
 * The drive player: turns a recorded drive into the exact messages the sensors would have published —
 * ECG chunks of `ecgChunkMs`, CAN batches of `canBatchMs`, 20 ms audio chunks, one message per camera frame,
 * a weather observation every `weatherEveryMs` — each stamped with its recorded event time, and publishes
 * them in time order, paced at `speed` × real time (0: as fast as the publisher accepts).
 *
 * Faults can be injected for demos and tests (a stream falling silent for a span, corrupted payloads),
 * never silently: the schedule reports what it injected.
 */
export interface DriveTracks {
  readonly ecg?: {
    readonly startUs: number;
    readonly channels: readonly {
      readonly kind: PhysioChannelKind;
      readonly rateHz: number;
      readonly samples: Float32Array;
      /** Quantisation step for int16 transport (physical units per count). */
      readonly scale: number;
    }[];
  };
  readonly can?: { readonly frames: readonly CanFrame[] };
  readonly weather?: {
    readonly observation: Readonly<Record<string, unknown>>;
    readonly startUs: number;
    readonly endUs: number;
  };
  readonly audio?: {
    readonly startUs: number;
    readonly sampleRateHz: number;
    readonly samples: Float32Array;
  };
  readonly camera?: { readonly frames: readonly { readonly tUs: number; readonly jpeg: Uint8Array }[] };
}

export interface ScheduledMessage {
  readonly tUs: number;
  readonly stream: InputStream;
  readonly topic: string;
  readonly payload: Uint8Array;
}

export interface ScheduleOptions {
  readonly vehicleId: string;
  readonly ecgChunkMs?: number;
  readonly canBatchMs?: number;
  readonly audioChunkMs?: number;
  readonly weatherEveryMs?: number;
  /** Spans during which a stream publishes nothing (event time, µs). */
  readonly silence?: readonly {
    readonly stream: InputStream;
    readonly fromUs: number;
    readonly toUs: number;
  }[];
  /** Replace every n-th message of a stream by a truncated copy (an invalid payload). */
  readonly corruptEvery?: Partial<Record<InputStream, number>>;
  readonly random?: () => number;
}

export interface ScheduleReport {
  readonly messages: Record<InputStream, number>;
  readonly corrupted: Record<InputStream, number>;
  readonly silenced: Record<InputStream, number>;
}

function zeroCounts(): Record<InputStream, number> {
  return { ecg: 0, can: 0, weather: 0, audio: 0, camera: 0 };
}

/** Builds the whole schedule in event-time order (the sample drive is small; a drive of hours streams by track). */
export function buildSchedule(
  drive: DriveTracks,
  opts: ScheduleOptions,
): { messages: ScheduledMessage[]; report: ScheduleReport } {
  const random = opts.random ?? Math.random;
  const out: { tUs: number; stream: InputStream; encode: (seq: number, session: number) => Uint8Array }[] =
    [];
  const ecgChunkUs = (opts.ecgChunkMs ?? 250) * 1000;
  if (drive.ecg) {
    const ecg = drive.ecg;
    const durationUs = Math.max(...ecg.channels.map((c) => (c.samples.length / c.rateHz) * 1e6));
    for (let t = 0; t < durationUs; t += ecgChunkUs) {
      const channels = ecg.channels.map((c) => {
        const from = Math.ceil((t / 1e6) * c.rateHz - 1e-9);
        const to = Math.min(c.samples.length, Math.ceil(((t + ecgChunkUs) / 1e6) * c.rateHz - 1e-9));
        return {
          kind: c.kind,
          rateHz: c.rateHz,
          scale: c.scale,
          samples: c.samples.subarray(from, to),
          firstUs: (from / c.rateHz) * 1e6,
        };
      });
      // The chunk time is the first sample of the fastest channel; every channel starts within one period of it.
      const tUs = ecg.startUs + Math.round(Math.min(...channels.map((c) => c.firstUs)));
      out.push({
        tUs,
        stream: 'ecg',
        encode: (seq, session) =>
          encodePhysio({ sessionId: session, seq, tUs, sampleFormat: 'int16', channels }),
      });
    }
  }
  if (drive.can && drive.can.frames.length > 0) {
    const frames = drive.can.frames;
    const batchUs = (opts.canBatchMs ?? 100) * 1000;
    let i = 0;
    while (i < frames.length) {
      const first = frames[i] as CanFrame;
      const end = first.tUs - (first.tUs % batchUs) + batchUs;
      let j = i;
      while (j < frames.length && (frames[j] as CanFrame).tUs < end && j - i < 4096) j++;
      const batch = frames.slice(i, j);
      out.push({
        tUs: first.tUs,
        stream: 'can',
        encode: (seq, session) => encodeCanBatch({ sessionId: session, seq, frames: batch }),
      });
      i = j;
    }
  }
  if (drive.audio) {
    const a = drive.audio;
    const n = Math.round(((opts.audioChunkMs ?? 20) / 1000) * a.sampleRateHz);
    for (let k = 0; k < a.samples.length; k += n) {
      const tUs = a.startUs + Math.round((k / a.sampleRateHz) * 1e6);
      const samples = a.samples.subarray(k, Math.min(a.samples.length, k + n));
      out.push({
        tUs,
        stream: 'audio',
        encode: (seq, session) =>
          encodeAudio({
            sessionId: session,
            seq,
            tUs,
            sampleFormat: 's16',
            sampleRateHz: a.sampleRateHz,
            channels: 1,
            samples,
          }),
      });
    }
  }
  if (drive.camera) {
    for (const f of drive.camera.frames) {
      out.push({
        tUs: f.tUs,
        stream: 'camera',
        encode: (seq, session) =>
          encodeCameraFrame({
            sessionId: session,
            seq,
            tUs: f.tUs,
            pixelFormat: 'jpeg',
            width: 0,
            height: 0,
            data: f.jpeg,
          }),
      });
    }
  }
  if (drive.weather) {
    const w = drive.weather;
    for (let tUs = w.startUs; tUs < w.endUs; tUs += (opts.weatherEveryMs ?? 60_000) * 1000) {
      out.push({
        tUs,
        stream: 'weather',
        encode: (seq, session) =>
          encodeWeather({
            ...(w.observation as { current: Record<string, number | string | null> }),
            v: 1,
            session,
            seq,
            tUs,
          }),
      });
    }
  }
  out.sort((a, b) => a.tUs - b.tUs);

  const report: ScheduleReport = { messages: zeroCounts(), corrupted: zeroCounts(), silenced: zeroCounts() };
  const seqs = zeroCounts();
  const sessions = Object.fromEntries(
    (['ecg', 'can', 'weather', 'audio', 'camera'] as const).map((s) => [s, newSessionId(random)]),
  ) as Record<InputStream, number>;
  const messages: ScheduledMessage[] = [];
  for (const m of out) {
    if (opts.silence?.some((s) => s.stream === m.stream && m.tUs >= s.fromUs && m.tUs < s.toUs)) {
      report.silenced[m.stream]++;
      continue;
    }
    const seq = seqs[m.stream]++;
    let payload = m.encode(seq, sessions[m.stream]);
    const every = opts.corruptEvery?.[m.stream];
    if (every !== undefined && every > 0 && seq % every === every - 1) {
      payload = payload.subarray(0, Math.floor(payload.byteLength / 2));
      report.corrupted[m.stream]++;
    }
    report.messages[m.stream]++;
    messages.push({ tUs: m.tUs, stream: m.stream, topic: topicFor(opts.vehicleId, m.stream), payload });
  }
  return { messages, report };
}

export interface PlayOptions {
  /** × real time; 0 publishes as fast as `publish` resolves. */
  readonly speed: number;
  readonly onProgress?: (doneUs: number, totalUs: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Publishes a schedule. `publish` may return a promise (QoS 1 acknowledgement): at most `maxInFlight`
 * are outstanding at once, which bounds memory when playing faster than the broker accepts.
 */
export async function playSchedule(
  messages: readonly ScheduledMessage[],
  publish: (m: ScheduledMessage) => void | Promise<void>,
  opts: PlayOptions,
  maxInFlight = 256,
): Promise<void> {
  const first = messages[0];
  const last = messages.at(-1);
  if (first === undefined || last === undefined) return;
  const startedMs = performance.now();
  const inFlight = new Set<Promise<void>>();
  let lastProgress = -1;
  for (const m of messages) {
    if (opts.signal?.aborted) break;
    const offsetUs = m.tUs - first.tUs;
    if (opts.speed > 0) {
      const dueMs = startedMs + offsetUs / 1000 / opts.speed;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
    }
    const p = publish(m);
    if (p instanceof Promise) {
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    const decile = Math.floor((offsetUs / Math.max(1, last.tUs - first.tUs)) * 10);
    if (opts.onProgress && decile !== lastProgress) {
      lastProgress = decile;
      opts.onProgress(offsetUs, last.tUs - first.tUs);
    }
  }
  await Promise.all(inFlight);
}
