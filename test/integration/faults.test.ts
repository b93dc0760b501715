import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeCanBatch } from '../../src/streams/contracts/can.ts';
import { encodePhysio } from '../../src/streams/contracts/physio.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import type { MqttConnection } from '../../src/streams/mqtt-connection.ts';
import { startRuntime } from '../../src/cli/runtime.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import type { InfluxService, MosquittoService } from '../harness/services.ts';
import { ensureServicePackages, startInfluxd, startMosquitto } from '../harness/services.ts';
import { canFrame, T0_US } from '../support/fixtures.ts';
import { influxClient, num, queryRows, sensorClient, sleep, testConfig, waitFor } from '../support/live.ts';

/**
 * Faults on the real services. Mosquitto runs with persistence. Each scenario streams one vehicle's ECG
 * (QoS 1, 4 chunks/s) and CAN (QoS 1, 10 batches/s) in event time paced at ~4× real time.
 */
function ecgChunk(seq: number): Uint8Array {
  const tUs = T0_US + seq * 250_000;
  const samples = Float32Array.from({ length: 124 }, (_, i) => Math.sin((seq * 124 + i) / 20));
  return encodePhysio({
    sessionId: 21,
    seq,
    tUs,
    sampleFormat: 'float32',
    channels: [{ kind: 'ecg', rateHz: 496, samples }],
  });
}
function canBatch(seq: number): Uint8Array {
  const tUs = T0_US + seq * 100_000;
  return encodeCanBatch({
    sessionId: 22,
    seq,
    frames: Array.from({ length: 230 }, (_, i) =>
      canFrame(tUs + i * 430, 0x25, [i & 0xff, 0, 0, 0, 0, 0, 0, 0]),
    ),
  });
}

async function stream(
  sensors: MqttConnection,
  vehicle: string,
  fromSeq: number,
  toSeq: number,
): Promise<void> {
  // One ECG chunk per 2.5 CAN batches: drive both from the CAN clock (100 ms).
  for (let c = fromSeq; c < toSeq; c++) {
    sensors.publish(topicFor(vehicle, 'can'), canBatch(c), { qos: 1 });
    if (c % 5 === 0 || c % 5 === 2) {
      const e = Math.floor(c / 5) * 2 + (c % 5 === 0 ? 0 : 1);
      sensors.publish(topicFor(vehicle, 'ecg'), ecgChunk(e), { qos: 1 });
    }
    await sleep(25);
  }
}

interface LiveStack {
  mosquitto: MosquittoService;
  influxd: InfluxService;
  rt?: Runtime;
  sensors?: MqttConnection;
}

/** Per describe: Mosquitto (with persistence) and InfluxDB up before, everything closed after. */
function liveStack(): LiveStack {
  const ctx = {} as LiveStack;
  before(async () => {
    ensureServicePackages();
    [ctx.mosquitto, ctx.influxd] = await Promise.all([startMosquitto({ persistence: true }), startInfluxd()]);
  });
  after(async () => {
    await ctx.rt?.shutdown();
    await ctx.sensors?.close();
    await Promise.all([ctx.mosquitto?.close(), ctx.influxd?.close()]);
  });
  return ctx;
}

describe('Mosquitto killed and restarted mid-stream', () => {
  const ctx = liveStack();
  const vehicle = 'car-broker';

  it('reconnects, resumes, and loses no QoS 1 message', async () => {
    const { mosquitto, influxd } = ctx;
    const cfg = testConfig(mosquitto.url, influxd.url);
    const rt = (ctx.rt = await startRuntime(cfg));
    await rt.ready();
    const sensors = (ctx.sensors = await sensorClient(mosquitto.url));
    await stream(sensors, vehicle, 0, 100); // 10 s of event time
    await waitFor(
      () => (rt.pipeline.stats().status.totals().can?.messages ?? 0) >= 100,
      10_000,
      'the first 100 CAN batches',
    );

    await mosquitto.kill(); // SIGKILL: no clean shutdown
    // The sensors keep producing while the broker is down: mqtt.js queues QoS 1 publishes and resends.
    const during = stream(sensors, vehicle, 100, 140);
    await sleep(1500);
    await mosquitto.restart();
    await during;
    await stream(sensors, vehicle, 140, 240);

    const totalCan = 240;
    const totalEcg = 96;
    await waitFor(
      () => (rt.pipeline.stats().status.totals().can?.messages ?? 0) >= totalCan,
      20_000,
      'every CAN batch after the restart',
    );
    await waitFor(
      () => (rt.pipeline.stats().status.totals().ecg?.messages ?? 0) >= totalEcg,
      20_000,
      'every ECG chunk',
    );
    const mqttStats = rt.mqtt.stats();
    assert.ok(mqttStats.connects >= 2, `reconnected (${JSON.stringify(mqttStats)})`);
    const totals = rt.pipeline.stats().status.totals();
    assert.equal(totals.can?.messages, totalCan);
    assert.equal(totals.can?.missing, 0, 'no QoS 1 CAN batch lost');
    assert.equal(totals.ecg?.messages, totalEcg);
    assert.equal(totals.ecg?.missing, 0, 'no QoS 1 ECG chunk lost');
    assert.equal(totals.can?.dropped, 0, 'no batch arrived after its window closed');

    await rt.shutdown();
    const db = influxClient(influxd.url, (cfg.influx as { database: string }).database);
    const [row] = await queryRows(
      db,
      `SELECT sum(messages) AS m FROM window_summary WHERE vehicle='${vehicle}' AND stream='can'`,
    );
    assert.equal(num(row, 'm'), totalCan, 'every batch is in a window summary in InfluxDB');
  });
});

describe('InfluxDB stopped for 30 s under load', () => {
  const ctx = liveStack();
  const vehicle = 'car-influx';

  it('buffers every window summary and delivers them all once InfluxDB is back', async () => {
    const { mosquitto, influxd } = ctx;
    const cfg = testConfig(mosquitto.url, influxd.url);
    const rt = (ctx.rt = await startRuntime(cfg));
    await rt.ready();
    const sensors = (ctx.sensors = await sensorClient(mosquitto.url));
    const sink = rt.sinks[0];
    assert.ok(sink);
    await stream(sensors, vehicle, 0, 40);
    await waitFor(() => sink.stats().written > 0, 10_000, 'first writes');

    await influxd.stop();
    const outageStarted = Date.now();
    let seq = 40;
    // Load continues throughout the 30 s outage: 4× real time, so 120 s of event time.
    while (Date.now() - outageStarted < 30_000) {
      await stream(sensors, vehicle, seq, seq + 40);
      seq += 40;
    }
    const bufferedDuringOutage = sink.stats().buffered;
    assert.ok(bufferedDuringOutage > 0, 'points accumulated while InfluxDB was down');
    assert.ok(sink.stats().failedWrites > 0, 'writes failed during the outage');
    await influxd.restart();
    await stream(sensors, vehicle, seq, seq + 20);
    seq += 20;
    await waitFor(
      () => (rt.pipeline.stats().status.totals().can?.messages ?? 0) >= seq,
      20_000,
      'all batches ingested',
    );
    await rt.shutdown(); // flushes the windows and the sink

    const s = sink.stats();
    assert.equal(s.dropped, 0, 'within capacity nothing is dropped');
    assert.equal(s.buffered, 0);
    assert.equal(s.written, rt.pipeline.stats().points, 'every point the pipeline produced was acknowledged');
    const db = influxClient(influxd.url, (cfg.influx as { database: string }).database);
    const [row] = await queryRows(
      db,
      `SELECT sum(messages) AS m, count(messages) AS windows FROM window_summary WHERE vehicle='${vehicle}' AND stream='can'`,
    );
    assert.equal(num(row, 'm'), seq, 'every CAN batch is counted in InfluxDB after the outage');
    assert.equal(num(row, 'windows'), seq / 10, 'one window per second of event time, none lost');
  });
});
