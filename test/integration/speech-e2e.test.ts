import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildSchedule, playSchedule } from '../../devices/drive-player.ts';
import type { ScheduledMessage } from '../../devices/drive-player.ts';
import { enhanceFile } from '../../src/cli/commands/enhance.ts';
import { startRuntime } from '../../src/cli/runtime.ts';
import type { Runtime } from '../../src/cli/runtime.ts';
import { DEFAULT_SPEECH_MODEL, resolveSpeechModelPath } from '../../src/config/schema.ts';
import { decodeAudio } from '../../src/streams/contracts/audio.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import type { MqttConnection } from '../../src/streams/mqtt-connection.ts';
import { readWavFile, writeWavFile } from '../../src/streams/readers/wav.ts';
import type { MosquittoService } from '../harness/services.ts';
import { ensureServicePackages, startMosquitto } from '../harness/services.ts';
import { sensorClient, testConfig, waitFor } from '../support/live.ts';
import { exportUntrainedSpeechModel } from '../support/speech-model.ts';

/**
 * Speech serving end to end on the real Mosquitto: the first 10 s of the sample drive's cabin audio (speech
 * in Berlin street noise at +5 dB SNR, 16 kHz s16) played by the drive player as 20 ms audio messages (QoS 0,
 * at 10× real time), enhanced by the runtime's speech operator, received back on `…/audio/enhanced`; the
 * concatenation must equal `drivesense enhance` (`enhanceFile`) on the same 10 s file with the same model.
 *
 * The model: the committed trained live model (features.speech's default path) when it exists, else a small
 * UNTRAINED one exported to a temp dir. "Scores better than the input" needs the trained model and a
 * reference: the drive's clean utterances are not in the repository (scripts/make-sample-drive.ts mixes them
 * from ../shared at build time), so the check is a reference-free proxy on the manifest's ground-truth
 * speech activity: the ratio of the energy in the speech spans to the energy in the speech-free spans must
 * rise (noise removed between utterances while the speech is kept). With the untrained model only the
 * equality is asserted, and the test says so in a diagnostic.
 */
const SAMPLE_DRIVE = fileURLToPath(new URL('../../devices/sample-drive', import.meta.url));
const VEHICLE = 'car-speech';
const SECONDS = 10;
const RATE = 16_000;
const TOL = 1e-5;

let mosquitto: MosquittoService;
let rt: Runtime | undefined;
let observer: MqttConnection;
let player: MqttConnection;
let dir = '';
let modelPath = '';
let trained = false;
let cleanupModel: (() => Promise<void>) | undefined;
const received: { tUs: number; samples: Float32Array }[] = [];

before(async () => {
  ensureServicePackages();
  dir = await mkdtemp(join(tmpdir(), 'speech-e2e-'));
  const committed = resolveSpeechModelPath(DEFAULT_SPEECH_MODEL).path;
  trained = existsSync(committed);
  if (trained) modelPath = committed;
  else {
    const exported = await exportUntrainedSpeechModel();
    modelPath = exported.path;
    cleanupModel = exported.cleanup;
  }
  mosquitto = await startMosquitto();
  observer = await sensorClient(mosquitto.url);
  observer.messages([{ filter: topicFor(VEHICLE, 'audio/enhanced'), qos: 0 }]).subscribe((m) => {
    const a = decodeAudio(m.payload);
    received.push({ tUs: a.tUs, samples: a.samples });
  });
  player = await sensorClient(mosquitto.url);
});

after(async () => {
  await rt?.shutdown();
  await player?.close();
  await observer?.close();
  await mosquitto?.close();
  await cleanupModel?.();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Energy of `x` over the spans, from `startUs` on the drive clock (µs offsets). */
function energy(x: Float32Array, spans: readonly [number, number][]): number {
  let e = 0;
  let n = 0;
  for (const [a, b] of spans) {
    const i0 = Math.max(0, Math.round((a / 1e6) * RATE));
    const i1 = Math.min(x.length, Math.round((b / 1e6) * RATE));
    for (let i = i0; i < i1; i++) e += x[i]! * x[i]!;
    n += Math.max(0, i1 - i0);
  }
  return e / Math.max(1, n);
}

it('streams a noisy recording through Mosquitto and gets back exactly what `drivesense enhance` gives for the file', async (t) => {
  const wav = await readWavFile(join(SAMPLE_DRIVE, 'audio.wav'));
  assert.equal(wav.sampleRateHz, RATE);
  const samples = wav.samples.slice(0, SECONDS * RATE);
  const manifest = JSON.parse(await readFile(join(SAMPLE_DRIVE, 'manifest.json'), 'utf8')) as {
    startUs: number;
    streams: { audio: { utterances: { offsetUs: number; durationUs: number }[] } };
  };
  const startUs = manifest.startUs;

  const cfg = testConfig(mosquitto.url, null, {
    streams: {
      ecg: { faultTimeoutMs: null, holdsWatermark: false },
      can: { faultTimeoutMs: null, holdsWatermark: false },
      camera: { faultTimeoutMs: null, holdsWatermark: false },
      weather: { faultTimeoutMs: null, holdsWatermark: false },
    },
    features: {
      stress: { model: null },
      // A backlog bound longer than the clip: the pipeline's CPU share in this test is not guaranteed (the
      // machine may be busy), and passthrough would (correctly) break the equality. Backlog: unit tests.
      speech: { model: modelPath, maxPendingMs: 60_000 },
    },
  });
  const log: string[] = [];
  rt = await startRuntime(cfg, { log: (m) => log.push(m) });
  await rt.ready(); // the first chunks must not be published before the broker routes them to the pipeline
  await observer.subscribed();
  assert.ok(rt.speechModel, `the speech model is served: ${log.join('\n')}`);

  const { messages } = buildSchedule(
    { audio: { startUs, sampleRateHz: RATE, samples } },
    { vehicleId: VEHICLE, audioChunkMs: 20 },
  );
  assert.equal(messages.length, SECONDS * 50);
  await playSchedule(
    messages,
    (m: ScheduledMessage) => {
      assert.ok(player.publish(m.topic, m.payload, { qos: 0 }));
    },
    { speed: 10 },
  );
  const runtime = rt;
  await waitFor(
    () => runtime.mqtt.stats().received >= messages.length,
    20_000,
    () => `every chunk at the pipeline (${runtime.mqtt.stats().received} of ${messages.length} received)`,
  );
  await rt.shutdown(); // flushes the enhancer: the last chunk is published before the connection closes
  const stats = rt.pipeline.stats().speech;
  assert.ok(stats !== undefined);
  const total = () => received.reduce((a, c) => a + c.samples.length, 0);
  await waitFor(() => total() >= samples.length, 20_000, 'every enhanced sample on MQTT');
  t.diagnostic(`counters ${JSON.stringify(stats)}`);
  assert.equal(stats.chunksIn, messages.length);
  assert.equal(stats.samplesOut, samples.length);
  assert.equal(received.length, stats.chunksOut);
  assert.deepEqual([stats.passthrough, stats.dropped, stats.modelErrors, stats.errors], [0, 0, 0, 0]);

  // Contiguous event times from the first chunk's, joined in time order.
  received.sort((a, b) => a.tUs - b.tUs);
  const streamed = new Float32Array(total());
  let at = 0;
  for (const c of received) {
    const expected = startUs + Math.round((at * 1e6) / RATE);
    assert.ok(Math.abs(c.tUs - expected) <= 1, `chunk at ${c.tUs} µs, expected ${expected}`);
    streamed.set(c.samples, at);
    at += c.samples.length;
  }

  // `drivesense enhance` on the same 10 s as a file.
  const input = join(dir, 'noisy-10s.wav');
  const output = join(dir, 'enhanced-10s.wav');
  await writeWavFile(input, { sampleRateHz: RATE, channels: 1, samples }, 'pcm16');
  const report = await enhanceFile({ input, output, model: modelPath });
  assert.equal(report.samples, samples.length);
  const file = (await readWavFile(output)).samples;
  assert.equal(streamed.length, file.length);
  let diff = 0;
  for (let i = 0; i < file.length; i++) diff = Math.max(diff, Math.abs(streamed[i]! - file[i]!));
  t.diagnostic(`max |streamed − drivesense enhance| = ${diff.toExponential(2)} over ${file.length} samples`);
  assert.ok(diff <= TOL, `max |streamed − file| = ${diff}`);

  // Score against the input (see the file comment).
  const speech: [number, number][] = manifest.streams.audio.utterances
    .map((u): [number, number] => [u.offsetUs, u.offsetUs + u.durationUs])
    .filter(([a]) => a < SECONDS * 1e6);
  const pad = 100_000;
  const quiet: [number, number][] = [];
  let from = 0;
  for (const [a, b] of speech) {
    if (a - pad > from + pad) quiet.push([from + pad, a - pad]);
    from = b;
  }
  if (SECONDS * 1e6 - pad > from + pad) quiet.push([from + pad, SECONDS * 1e6 - pad]);
  const ratioDb = (x: Float32Array) => 10 * Math.log10(energy(x, speech) / energy(x, quiet));
  const before = ratioDb(samples);
  const afterDb = ratioDb(streamed);
  t.diagnostic(
    `speech-span / speech-free-span energy: input ${before.toFixed(2)} dB, enhanced ${afterDb.toFixed(2)} dB (${trained ? 'trained' : 'UNTRAINED'} model ${modelPath})`,
  );
  if (!trained) {
    t.diagnostic(
      `no trained model at ${DEFAULT_SPEECH_MODEL}: equality checked with an untrained model; "scores better than the input" needs the trained model (not asserted)`,
    );
    return;
  }
  assert.ok(
    afterDb > before + 1,
    `the enhanced audio keeps the speech and removes the noise between utterances`,
  );
});
