import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { parseConfig } from '../src/config/schema.ts';
import { startPipeline } from '../src/pipeline.ts';
import type { Point } from '../src/sinks/point.ts';
import type { Sink, SinkStats } from '../src/sinks/sink.ts';
import { encodeAudio } from '../src/streams/contracts/audio.ts';
import { encodeCanBatch } from '../src/streams/contracts/can.ts';
import type { Alert } from '../src/streams/contracts/outputs.ts';
import { topicFor } from '../src/streams/contracts/topics.ts';
import type { RawMessage } from '../src/streams/ingest.ts';
import { canFrame, T0_US } from './support/fixtures.ts';

/**
 * The wiring in virtual time: a Subject stands in for the MQTT source (the transport is tested against
 * Mosquitto in test/integration), a recording sink for the sinks (their own contract suite runs against
 * InfluxDB and files), and a VirtualTimeScheduler drives the processing-time parts.
 */
class RecordingSink implements Sink {
  readonly name = 'recording';
  readonly points: Point[] = [];
  async start(): Promise<void> {}
  write(points: readonly Point[]): void {
    this.points.push(...points);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): SinkStats {
    return { written: this.points.length, buffered: 0, dropped: 0, failedWrites: 0 };
  }
}

function setup(connected: { since: number | null }, maxVehicles = 100) {
  const scheduler = new VirtualTimeScheduler();
  const raw = new Subject<RawMessage>();
  const sink = new RecordingSink();
  const published: { topic: string; body: unknown }[] = [];
  const config = parseConfig({
    // This vehicle has only audio and CAN: the other streams neither hold windows nor raise faults.
    streams: {
      audio: { faultTimeoutMs: 2000, idleMs: 2000 },
      can: { faultTimeoutMs: 2000, idleMs: 2000 },
      ecg: { faultTimeoutMs: null, holdsWatermark: false },
      camera: { faultTimeoutMs: null, holdsWatermark: false },
      weather: { faultTimeoutMs: null },
    },
    windows: { sizeMs: 1000, slideMs: 1000, allowedLatenessMs: 0 },
    status: { quietMs: 3000, intervalMs: 1000 },
    maxVehicles,
  });
  const handle = startPipeline(config, {
    raw$: raw,
    sinks: [sink],
    publish: (topic, payload) => {
      published.push({ topic, body: JSON.parse(Buffer.from(payload).toString('utf8')) });
      return true;
    },
    scheduler,
    sourceConnectedSinceMs: () => connected.since,
  });
  const advanceTo = (ms: number) => {
    scheduler.maxFrames = ms;
    scheduler.flush();
  };
  return { scheduler, raw, sink, published, handle, advanceTo };
}

/** One second of audio (50 chunks) and CAN (10 batches) of a vehicle, starting at second `s`. */
function second(raw: Subject<RawMessage>, s: number, vehicle = 'v1'): void {
  for (let k = 0; k < 50; k++) {
    const seq = s * 50 + k;
    const tUs = T0_US + seq * 20_000;
    raw.next({
      topic: topicFor(vehicle, 'audio'),
      payload: encodeAudio({
        sessionId: 1,
        seq,
        tUs,
        sampleFormat: 's16',
        sampleRateHz: 16000,
        channels: 1,
        samples: new Float32Array(320),
      }),
    });
    if (k % 5 === 0) {
      const c = s * 10 + k / 5;
      raw.next({
        topic: topicFor(vehicle, 'can'),
        payload: encodeCanBatch({ sessionId: 2, seq: c, frames: [canFrame(T0_US + c * 100_000, 0x25, [1])] }),
      });
    }
  }
}

const alertsOf = (published: { topic: string; body: unknown }[]) =>
  published.filter((p) => p.topic.endsWith('/alert')).map((p) => p.body as Alert);

it('a vehicle that falls silent as a whole: after quietMs its clock runs on, windows close, faults are raised', () => {
  const t = setup({ since: 0 });
  for (let s = 0; s < 3; s++) {
    t.advanceTo(s * 1000);
    second(t.raw, s);
  }
  t.advanceTo(3000);
  // Data up to 3 s of event time. [0, 1) and [1, 2) close on the data; [2, 3) waits, because the last CAN
  // batch (2.9 s) holds the watermark below 3 s.
  const windowsBefore = t.handle.stats().windows;
  assert.equal(windowsBefore, 2);
  assert.deepEqual(alertsOf(t.published), []);
  // Quiet for less than quietMs (3 s) after the last message at wall 2 s: nothing moves.
  t.advanceTo(4900);
  assert.equal(t.handle.stats().windows, windowsBefore);
  // Beyond the grace the clock advances with processing time: faults after a further 2 s timeout.
  t.advanceTo(9000);
  const alerts = alertsOf(t.published);
  assert.deepEqual(
    alerts.map((a) => (a.kind === 'sensor_fault' ? [a.stream, a.state, a.reason] : [a.kind, a.state])).sort(),
    [
      ['audio', 'raised', 'silent'],
      ['can', 'raised', 'silent'],
    ],
  );
  for (const a of alerts) {
    assert.ok(
      a.tUs > T0_US + 5_000_000 && a.tUs <= T0_US + 6_000_000,
      `raised at ${(a.tUs - T0_US) / 1e6} s`,
    );
  }
  assert.ok(t.handle.stats().windows > windowsBefore, 'empty windows closed by the quiet clock');
  const missing = t.sink.points.filter(
    (p) =>
      p.measurement === 'window_summary' && p.fields['present'] === false && p.tags['stream'] === 'audio',
  );
  assert.ok(missing.length >= 1, 'the silence is visible as missing windows');
  t.handle.stop();
});

it('while our own broker connection is down, a quiet vehicle is not made silent', () => {
  const connected: { since: number | null } = { since: 0 };
  const t = setup(connected);
  second(t.raw, 0);
  t.advanceTo(500);
  connected.since = null; // we are deaf, not the vehicle silent
  t.advanceTo(20_000);
  assert.deepEqual(alertsOf(t.published), []);
  assert.equal(t.handle.stats().windows, 0, 'no window closed by processing time while disconnected');
  // Reconnected at 20 s: the grace starts again from the reconnection.
  connected.since = 20_000;
  t.advanceTo(22_900);
  assert.deepEqual(alertsOf(t.published), []);
  second(t.raw, 1); // redelivered after the reconnect: nothing is late
  t.advanceTo(23_000);
  const late = t.sink.points.filter(
    (p) => p.measurement === 'window_summary' && Number(p.fields['late_dropped'] ?? 0) > 0,
  );
  assert.deepEqual(late, []);
  assert.equal(t.handle.stats().windows, 1, 'window [0 s, 1 s) closed by the redelivered data');
  t.handle.stop();
});

it('serves at most maxVehicles vehicles, counts the refused messages, and marks served vehicles offline at the end', async () => {
  const t = setup({ since: 0 }, 2);
  for (const v of ['a', 'b', 'c']) second(t.raw, 0, v);
  const stats = t.handle.stats();
  assert.deepEqual(
    stats.status.vehicleIds().sort(),
    ['a', 'b', 'c'],
    'every vehicle is still counted on status',
  );
  assert.equal(stats.refusedVehicleMessages, 60, 'vehicle c: 50 audio chunks and 10 CAN batches refused');
  t.raw.complete();
  await t.handle.done;
  const last = new Map(
    t.published.filter((p) => p.topic.endsWith('/status')).map((p) => [p.topic, p.body as { state: string }]),
  );
  assert.equal(last.get(topicFor('a', 'status'))?.state, 'offline');
  assert.equal(last.get(topicFor('b', 'status'))?.state, 'offline');
  const windowsOfC = t.sink.points.filter((p) => p.tags['vehicle'] === 'c');
  assert.deepEqual(windowsOfC, [], 'no windows kept for a refused vehicle');
});
