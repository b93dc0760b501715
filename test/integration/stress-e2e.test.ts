import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildSchedule, playSchedule } from '../../devices/drive-player.ts';
import type { ScheduledMessage } from '../../devices/drive-player.ts';
import type { LoadedDrive } from '../../devices/drive-tracks.ts';
import { loadDriveTracks, loopDrive } from '../../devices/drive-tracks.ts';
import { startRuntime } from '../../src/cli/runtime.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import type { StressEstimate } from '../../src/streams/contracts/outputs.ts';
import { STRESS_MODALITIES, stressSchema } from '../../src/streams/contracts/outputs.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import type { MqttConnection } from '../../src/streams/mqtt-connection.ts';
import type { InfluxService, MosquittoService } from '../harness/services.ts';
import { ensureServicePackages, startInfluxd, startMosquitto } from '../harness/services.ts';
import { influxClient, num, queryRows, sensorClient, testConfig, waitFor } from '../support/live.ts';
import { DEFAULT_STRESS_MODEL } from '../../src/config/schema.ts';
import { readStressModelMeta } from '../../src/models/stress/estimator.ts';
import type { StressModelMeta } from '../../src/models/stress/estimator.ts';

/**
 * Stress serving end to end on the real services, with the committed model: the committed sample drive
 * (60 s of drivedb drive05 ECG/GSR/RESP, a RAV4 CAN log, weather) played three times back to back by the
 * drive player to Mosquitto at 20× real time, the runtime calibrating on the first 60 s (the shortest the
 * model's 60 s windows allow; the model's own is 300 s), estimates read back from the `…/stress` topic and
 * from InfluxDB's `stress` measurement.
 */
const SAMPLE_DRIVE = fileURLToPath(new URL('../../devices/sample-drive', import.meta.url));
const RAV4_PROFILE = fileURLToPath(new URL('../../devices/profiles/toyota-rav4-2018.json', import.meta.url));
const VEHICLE = 'car-stress';
const CALIBRATION_S = 60;
const MODEL = fileURLToPath(new URL(`../../${DEFAULT_STRESS_MODEL}`, import.meta.url));

let mosquitto: MosquittoService;
let influxd: InfluxService;
let rt: Runtime;
let player: MqttConnection;
let observer: MqttConnection;
let meta: StressModelMeta;
let drive: LoadedDrive;
let database: string;
const received: StressEstimate[] = [];

before(async () => {
  ensureServicePackages();
  [mosquitto, influxd, meta, drive] = await Promise.all([
    startMosquitto(),
    startInfluxd(),
    readStressModelMeta(MODEL),
    loadDriveTracks(SAMPLE_DRIVE).then((d) => loopDrive(d, 3)),
  ]);
  const cfg = testConfig(mosquitto.url, influxd.url, {
    // The excerpt plays physio, CAN and weather: audio and camera are not sent, so they neither hold the
    // windows nor raise faults.
    streams: {
      audio: { faultTimeoutMs: null, holdsWatermark: false },
      camera: { faultTimeoutMs: null, holdsWatermark: false },
    },
    features: {
      driving: { profile: RAV4_PROFILE },
      stress: { model: MODEL, calibrationS: CALIBRATION_S, maxPending: 16 },
    },
  });
  database = (cfg.influx as { database: string }).database;
  rt = await startRuntime(cfg, { log: () => undefined });
  await rt.ready();
  observer = await sensorClient(mosquitto.url);
  observer.messages([{ filter: topicFor(VEHICLE, 'stress'), qos: 1 }]).subscribe((m) => {
    received.push(stressSchema.parse(JSON.parse(Buffer.from(m.payload).toString('utf8'))));
  });
  await observer.subscribed();
  player = await sensorClient(mosquitto.url);
});

after(async () => {
  await rt?.shutdown();
  await player?.close();
  await observer?.close();
  await Promise.all([mosquitto?.close(), influxd?.close()]);
});

it('serves the model on the recorded drive: one estimate per second after calibration, on MQTT and in InfluxDB', async (t) => {
  assert.equal(rt.stressModel?.meta.id, meta.id);
  const { audio: _audio, camera: _camera, ...tracks } = drive.tracks;
  const { messages } = buildSchedule(tracks, { vehicleId: VEHICLE });
  await playSchedule(
    messages,
    (m: ScheduledMessage) => {
      assert.ok(player.publish(m.topic, m.payload, { qos: 1 }));
    },
    { speed: 20 },
  );
  await waitFor(() => rt.mqtt.stats().received >= messages.length, 20_000, 'every message at the pipeline');
  await rt.shutdown(); // closes the last windows, drains the estimates in flight, flushes the sinks
  const stats = rt.pipeline.stats().stress;
  assert.ok(stats !== undefined);
  await waitFor(() => received.length >= stats.estimates, 10_000, 'every estimate on MQTT');

  // Ticks at +1 … +180 s; the calibration ends 60 s after the first physio sample (the drive's start).
  const driveS = Math.round((drive.endUs - drive.startUs) / 1e6);
  const due = driveS - CALIBRATION_S + 1;
  assert.equal(stats.calibrating, CALIBRATION_S - 1);
  assert.equal(stats.estimates + stats.dropped + stats.noInput, due, JSON.stringify(stats));
  assert.ok(
    stats.estimates >= due - 2,
    `${stats.estimates} estimates of ${due} due: ${JSON.stringify(stats)}`,
  );
  assert.equal(stats.errors, 0);
  assert.equal(received.length, stats.estimates);

  const calEndUs = drive.startUs + CALIBRATION_S * 1_000_000;
  assert.ok(
    received.every((e) => e.tUs >= calEndUs && e.tUs <= drive.endUs),
    'none during the calibration',
  );
  assert.ok(
    received.every((e) => (e.tUs - calEndUs) % 1_000_000 === 0),
    'on the 1 s grid',
  );
  assert.equal(new Set(received.map((e) => e.tUs)).size, received.length, 'one per tick');
  for (const e of received) {
    assert.equal(e.vehicleId, VEHICLE);
    assert.equal(e.model, meta.id);
    assert.equal(e.windowS, meta.windows.windowS);
  }
  // Real ECG (QRS → HR), GSR and respiration are fed to the model; the RAV4 CAN log decodes to driving
  // signals; the weather observation gives the context.
  const share = (m: (typeof STRESS_MODALITIES)[number]) =>
    received.filter((e) => e.modalities[m] === 'used').length / received.length;
  const shares = Object.fromEntries(STRESS_MODALITIES.map((m) => [m, share(m)]));
  t.diagnostic(
    `counters ${JSON.stringify(stats)}; share of estimates using each modality ${JSON.stringify(shares)}`,
  );
  for (const m of ['hr', 'eda', 'resp'] as const) assert.ok(shares[m]! >= 0.9, JSON.stringify(shares));

  const db = influxClient(influxd.url, database);
  const [count] = await queryRows(
    db,
    `SELECT count(p_high) AS n, min(confidence) AS cmin, max(confidence) AS cmax FROM stress WHERE vehicle='${VEHICLE}'`,
  );
  assert.equal(num(count, 'n'), stats.estimates);
  assert.ok(num(count, 'cmin') >= 0 && num(count, 'cmax') <= 1);
  const rows = await queryRows(
    db,
    `SELECT p_low, p_medium, p_high, level_index, use_hr, use_eda, use_resp, use_vehicle, faults FROM stress WHERE vehicle='${VEHICLE}' GROUP BY level`,
  );
  assert.equal(rows.length, stats.estimates);
  const byTime = new Map(received.map((e) => [e.tUs * 1000, e]));
  for (const r of rows) {
    const e = byTime.get(Number((r['time'] as unknown as { getNanoTime(): string }).getNanoTime()));
    assert.ok(e, `a point for every published estimate: ${JSON.stringify(r)}`);
    assert.equal(r['level'], e.level);
    assert.ok(Math.abs(num(r, 'p_high') - e.probabilities.high) < 1e-9);
    assert.equal(r['level_index'], ['low', 'medium', 'high'].indexOf(e.level));
    assert.equal(r['use_hr'], e.modalities.hr);
    assert.equal(r['use_vehicle'], e.modalities.vehicle);
    assert.equal(num(r, 'faults'), e.faults.length);
  }
});
