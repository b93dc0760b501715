import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { encodeAudio } from '../../src/streams/contracts/audio.ts';
import { encodeCameraFrame } from '../../src/streams/contracts/camera.ts';
import { encodeCanBatch } from '../../src/streams/contracts/can.ts';
import type { Alert, SensorFaultAlert, Status } from '../../src/streams/contracts/outputs.ts';
import { encodePhysio } from '../../src/streams/contracts/physio.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import { encodeWeather } from '../../src/streams/contracts/weather.ts';
import type { MqttConnection } from '../../src/streams/mqtt-connection.ts';
import { startRuntime } from '../../src/cli/runtime.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import type { InfluxService, MosquittoService } from '../harness/services.ts';
import { ensureServicePackages, startInfluxd, startMosquitto } from '../harness/services.ts';
import { canFrame, T0_US } from '../support/fixtures.ts';
import {
  influxClient,
  num,
  queryByTag,
  queryRows,
  sensorClient,
  sleep,
  testConfig,
  waitFor,
} from '../support/live.ts';

/**
 * End to end on the real services: the five sensor streams of one vehicle published to Mosquitto come
 * out as window summaries in InfluxDB, a camera that falls silent raises a sensor_fault alert on the alert
 * topic and clears it when frames return, and malformed payloads are counted and reported on status.
 */
let mosquitto: MosquittoService;
let influxd: InfluxService;
let rt: Runtime;
let sensors: MqttConnection;
let observer: MqttConnection;
const alerts: Alert[] = [];
let lastStatus: Status | undefined;
const config = () =>
  testConfig(mosquitto.url, influxd.url, {
    streams: {
      camera: { faultTimeoutMs: 2000, idleMs: 2000 },
      ecg: { faultTimeoutMs: 2000 },
      can: { faultTimeoutMs: 2000 },
      audio: { faultTimeoutMs: 2000 },
    },
  });
let cfg: ReturnType<typeof config>;

const SECONDS = 12;
const VEHICLE = 'car-it';
const sent = { ecg: 0, can: 0, audio: 0, camera: 0, weather: 0, garbage: 0 };

before(async () => {
  ensureServicePackages();
  [mosquitto, influxd] = await Promise.all([startMosquitto(), startInfluxd()]);
  cfg = config();
  rt = await startRuntime(cfg);
  await rt.ready();
  observer = await sensorClient(mosquitto.url);
  observer
    .messages([
      { filter: topicFor(VEHICLE, 'alert'), qos: 1 },
      { filter: topicFor(VEHICLE, 'status'), qos: 1 },
    ])
    .subscribe((m) => {
      const json: unknown = JSON.parse(Buffer.from(m.payload).toString('utf8'));
      if (m.topic.endsWith('/alert')) alerts.push(json as Alert);
      else lastStatus = json as Status;
    });
  await observer.subscribed();
  sensors = await sensorClient(mosquitto.url);
});

after(async () => {
  await rt?.shutdown();
  await sensors?.close();
  await observer?.close();
  await Promise.all([mosquitto?.close(), influxd?.close()]);
});

async function publishDrive(): Promise<void> {
  const pub = (stream: 'ecg' | 'can' | 'audio' | 'camera' | 'weather', payload: Uint8Array, qos: 0 | 1) => {
    assert.ok(sensors.publish(topicFor(VEHICLE, stream), payload, { qos }));
  };
  pub(
    'weather',
    encodeWeather({
      v: 1,
      session: 1,
      seq: 0,
      tUs: T0_US,
      current: { temperature_2m: 4.5, weather_code: 61 },
    }),
    1,
  );
  sent.weather++;
  // Event time runs over SECONDS; messages go out at ~5× real time, in time order per 20 ms step.
  for (let step = 0; step < SECONDS * 50; step++) {
    const tUs = T0_US + step * 20_000;
    const tMs = step * 20;
    if (tMs % 200 === 0) {
      // 200 ms chunks: ECG at 500 Hz (a 1.2 Hz sine), EDA at 25 Hz.
      const ecg = Float32Array.from({ length: 100 }, (_, i) =>
        Math.sin(2 * Math.PI * 1.2 * (tMs / 1000 + i / 500)),
      );
      const channels = [
        { kind: 'ecg' as const, rateHz: 500, samples: ecg },
        { kind: 'eda' as const, rateHz: 25, samples: [2, 2, 2, 2, 2] },
      ];
      pub('ecg', encodePhysio({ sessionId: 11, seq: sent.ecg++, tUs, sampleFormat: 'float32', channels }), 1);
    }
    if (tMs % 100 === 0) {
      const frames = Array.from({ length: 230 }, (_, i) =>
        canFrame(tUs + i * 430, 0xaa + (i % 5), [i & 0xff, 1, 2, 3, 4, 5, 6, 7]),
      );
      pub('can', encodeCanBatch({ sessionId: 12, seq: sent.can++, frames }), 1);
    }
    pub(
      'audio',
      encodeAudio({
        sessionId: 13,
        seq: sent.audio++,
        tUs,
        sampleFormat: 's16',
        sampleRateHz: 16000,
        channels: 1,
        samples: new Float32Array(320).fill(0.25),
      }),
      0,
    );
    // Camera at 25 fps, silent from 4 s to 8 s of event time.
    if (tMs % 40 === 0 && (tMs < 4000 || tMs >= 8000)) {
      pub(
        'camera',
        encodeCameraFrame({
          sessionId: 14,
          seq: sent.camera++,
          tUs,
          pixelFormat: 'gray8',
          width: 24,
          height: 16,
          data: new Uint8Array(384).fill(7),
        }),
        0,
      );
    }
    if (step === 100 || step === 101 || step === 102) {
      pub('ecg', Uint8Array.from([0x44, 0x53, 1, 1, 0, 0]), 1); // truncated header
      sent.garbage++;
    }
    if (step % 10 === 9) await sleep(40);
  }
}

it('publishes five streams to Mosquitto and finds their window summaries in InfluxDB', async () => {
  await publishDrive();
  await waitFor(
    () => (rt.pipeline.stats().status.totals().ecg?.messages ?? 0) >= sent.ecg,
    10_000,
    'all ECG messages',
  );
  await waitFor(() => alerts.some((a) => a.state === 'cleared'), 10_000, 'the camera alert to clear');
  await rt.shutdown(); // closes the last windows and flushes the sinks
  const db = influxClient(influxd.url, (cfg.influx as { database: string }).database);
  const byStream = await queryByTag(
    db,
    `SELECT sum(messages) AS messages, sum(samples) AS samples, sum(invalid) AS invalid, count(messages) AS windows FROM window_summary WHERE vehicle='${VEHICLE}' AND present=true GROUP BY stream`,
    'stream',
  );
  const ecg = byStream.get('ecg');
  assert.equal(num(ecg, 'messages'), sent.ecg);
  assert.equal(num(ecg, 'samples'), sent.ecg * (100 + 5));
  assert.equal(num(ecg, 'invalid'), sent.garbage);
  assert.equal(num(ecg, 'windows'), SECONDS);
  assert.equal(num(byStream.get('can'), 'messages'), sent.can);
  assert.equal(num(byStream.get('can'), 'samples'), sent.can * 230);
  assert.equal(num(byStream.get('weather'), 'messages'), 1);
  // QoS 0 streams may lose messages in principle; on loopback they arrive, and every loss would be counted.
  assert.ok(
    num(byStream.get('audio'), 'messages') >= sent.audio * 0.99,
    `audio ${num(byStream.get('audio'), 'messages')} of ${sent.audio}`,
  );
  assert.ok(num(byStream.get('camera'), 'messages') >= sent.camera * 0.99);

  // One window's figures: ECG 5 chunks per second, statistics of the ECG channel.
  const [row] = await queryRows(
    db,
    `SELECT messages, samples, min, max, rms, mean FROM window_summary WHERE vehicle='${VEHICLE}' AND stream='ecg' AND time = ${(T0_US + 5_000_000) * 1000}`,
  );
  assert.equal(num(row, 'messages'), 5);
  assert.equal(num(row, 'samples'), 5 * 105);
  assert.ok(
    num(row, 'max') > 0.99 && num(row, 'min') < -0.99 && Math.abs(num(row, 'rms') - Math.SQRT1_2) < 0.02,
    JSON.stringify(row),
  );
  // Audio RMS of a constant 0.25 (8192/32768 exactly).
  const [audio] = await queryRows(
    db,
    `SELECT max(rms) AS rms FROM window_summary WHERE vehicle='${VEHICLE}' AND stream='audio'`,
  );
  assert.equal(num(audio, 'rms'), 0.25);

  // The camera's silence is visible as missing windows, not zeros.
  const [missing] = await queryRows(
    db,
    `SELECT count(messages) AS n FROM window_summary WHERE vehicle='${VEHICLE}' AND stream='camera' AND present=false`,
  );
  assert.ok(num(missing, 'n') >= 2);
});

it('raised and cleared a sensor_fault alert for the silent camera, on MQTT and in InfluxDB', async () => {
  const camera = alerts.filter(
    (a): a is SensorFaultAlert => a.kind === 'sensor_fault' && a.stream === 'camera',
  );
  assert.deepEqual(
    camera.map((a) => [a.kind, a.state, a.reason]),
    [
      ['sensor_fault', 'raised', 'silent'],
      ['sensor_fault', 'cleared', 'silent'],
    ],
  );
  const [raised, cleared] = camera as [SensorFaultAlert, SensorFaultAlert];
  // Silent from 4 s (last frame 3.96 s); timeout 2 s; frames again at 8 s.
  assert.ok(
    raised.tUs > T0_US + 5_960_000 && raised.tUs < T0_US + 7_000_000,
    `raised at ${raised.tUs - T0_US}`,
  );
  assert.equal(raised.lastDataUs, T0_US + 3_960_000);
  assert.equal(cleared.tUs, T0_US + 8_000_000);
  assert.equal(
    alerts.filter((a) => a.kind !== 'sensor_fault' || a.stream !== 'camera').length,
    0,
    JSON.stringify(alerts),
  );
  const db = influxClient(influxd.url, (cfg.influx as { database: string }).database);
  const rows = await queryRows(db, `SELECT state FROM alert WHERE vehicle='${VEHICLE}' AND stream='camera'`);
  assert.deepEqual(
    rows.map((r) => r['state']),
    ['raised', 'cleared'],
  );
});

it('reported the malformed payloads on the retained status topic', async () => {
  await waitFor(
    () => (lastStatus?.streams?.ecg?.invalid ?? 0) === sent.garbage,
    5000,
    'status with the invalid count',
  );
  assert.equal(lastStatus?.streams?.ecg?.messages, sent.ecg);
  assert.equal(lastStatus?.recentErrors?.[0]?.code, 'truncated');
  assert.equal(lastStatus?.recentErrors?.[0]?.count, sent.garbage);
});
