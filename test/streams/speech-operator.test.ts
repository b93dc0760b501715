import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noisySpeechFixture } from '../support/speech-fixtures.ts';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { parseConfig } from '../../src/config/schema.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { DEFAULT_SPEECH_MODEL } from '../../src/config/schema.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { SpeechEnhancerOptions } from '../../src/models/speech/enhancer.ts';
import type { SpeechModelRunner } from '../../src/models/speech/head.ts';
import { DEFAULT_SPEECH_MODEL_PATH, loadSpeechEnhancerModel } from '../../src/models/speech/enhancer-onnx.ts';
import type { SpeechEnhancerModel } from '../../src/models/speech/enhancer-onnx.ts';
import { startPipeline } from '../../src/pipeline.ts';
import type { PipelineHandle } from '../../src/pipeline.ts';
import { decodeAudio, encodeAudio } from '../../src/streams/contracts/audio.ts';
import { encodeCameraFrame } from '../../src/streams/contracts/camera.ts';
import { statusSchema } from '../../src/streams/contracts/outputs.ts';
import { topicFor } from '../../src/streams/contracts/topics.ts';
import type { RawMessage } from '../../src/streams/ingest.ts';
import { resample } from '../../src/streams/features/audio/resample.ts';
import type { SpeechModel } from '../../src/streams/speech-operator.ts';
import { T0_US } from '../support/fixtures.ts';
import { exportUntrainedSpeechModel } from '../support/speech-model.ts';

/**
 * The speech operator inside the pipeline (src/streams/speech-operator.ts): a small untrained AVDCNN exported
 * to a temp dir (test/support/speech-model.ts), served through ONNX Runtime exactly as `drivesense enhance`
 * serves it; audio (and camera) messages in through the pipeline's decoder, `…/audio/enhanced` messages
 * decoded back. Signals: the 0.5 s speech fixture plus seeded white noise (≈ 5 dB SNR), 20 ms chunks.
 */
const VEHICLE = 'car-sp';
const RATE = 16_000;
const CHUNK = 320;
const ENHANCED = topicFor(VEHICLE, 'audio/enhanced');
const TOL = 1e-5;

type SpeechInput = NonNullable<NonNullable<ConfigInput['features']>['speech']>;

function setup(model: SpeechModel, speech: SpeechInput = {}) {
  const raw = new Subject<RawMessage>();
  const published: { topic: string; payload: Uint8Array }[] = [];
  const logged: string[] = [];
  const config = parseConfig({
    streams: {
      ecg: { faultTimeoutMs: null, holdsWatermark: false },
      can: { faultTimeoutMs: null, holdsWatermark: false },
      audio: { faultTimeoutMs: null },
      camera: { faultTimeoutMs: null, holdsWatermark: false },
      weather: { faultTimeoutMs: null },
    },
    windows: { sizeMs: 1000, slideMs: 1000, allowedLatenessMs: 0 },
    features: {
      cardiac: { enabled: false },
      context: { enabled: false },
      stress: { model: null },
      speech: { maxPendingMs: 60_000, ...speech },
    },
  });
  const handle = startPipeline(config, {
    raw$: raw,
    sinks: [],
    publish: (topic, payload) => {
      published.push({ topic, payload });
      return true;
    },
    scheduler: new VirtualTimeScheduler(),
    speechModel: model,
    log: (m) => logged.push(m),
  });
  return { raw, published, logged, handle };
}

let seq = 0;
function audioMessage(
  tUs: number,
  samples: ArrayLike<number>,
  opts: { rate?: number; format?: 's16' | 'f32'; channels?: number } = {},
): RawMessage {
  return {
    topic: topicFor(VEHICLE, 'audio'),
    payload: encodeAudio({
      sessionId: 11,
      seq: seq++,
      tUs,
      sampleFormat: opts.format ?? 'f32',
      sampleRateHz: opts.rate ?? RATE,
      channels: opts.channels ?? 1,
      samples,
    }),
  };
}

let camSeq = 0;
/** A 90×72 gray frame whose brightness pattern moves with `k`. */
function cameraMessage(tUs: number, k: number): RawMessage {
  const w = 90;
  const h = 72;
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data[y * w + x] = (128 + 100 * Math.sin((x + 3 * k) / 5 + y / 7)) & 255;
  return {
    topic: topicFor(VEHICLE, 'camera'),
    payload: encodeCameraFrame({
      sessionId: 12,
      seq: camSeq++,
      tUs,
      pixelFormat: 'gray8',
      width: w,
      height: h,
      data,
    }),
  };
}

/** Sends `x` as 20 ms chunks from T0 (chunk k at T0 + k·20 ms), optionally skipping / replacing some. */
function sendChunks(
  raw: Subject<RawMessage>,
  x: Float32Array,
  opts: { skip?: ReadonlySet<number>; replace?: ReadonlyMap<number, Float32Array> } = {},
): void {
  for (let k = 0; k * CHUNK < x.length; k++) {
    if (opts.skip?.has(k)) continue;
    const chunk = opts.replace?.get(k) ?? x.subarray(k * CHUNK, Math.min(x.length, (k + 1) * CHUNK));
    raw.next(audioMessage(T0_US + k * 20_000, chunk));
  }
}

interface Received {
  tUs: number;
  samples: Float32Array;
}

function enhancedOf(published: readonly { topic: string; payload: Uint8Array }[]): Received[] {
  return published
    .filter((p) => p.topic === ENHANCED)
    .map((p) => {
      const m = decodeAudio(p.payload);
      assert.equal(m.sampleRateHz, RATE);
      assert.equal(m.channels, 1);
      assert.equal(m.sampleFormat, 'f32');
      return { tUs: m.tUs, samples: m.samples };
    });
}

/** Asserts the chunks follow each other without a gap or overlap (±1 µs rounding); returns them joined. */
function contiguous(chunks: readonly Received[], startUs: number): Float32Array {
  let expected = startUs;
  let n = 0;
  for (const c of chunks) {
    assert.ok(Math.abs(c.tUs - Math.round(expected)) <= 1, `chunk at ${c.tUs} µs, expected ${expected}`);
    expected += (c.samples.length * 1e6) / RATE;
    n += c.samples.length;
  }
  const out = new Float32Array(n);
  let p = 0;
  for (const c of chunks) {
    out.set(c.samples, p);
    p += c.samples.length;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function lastStatus(published: readonly { topic: string; payload: Uint8Array }[]) {
  const s = published.filter((p) => p.topic === topicFor(VEHICLE, 'status')).at(-1);
  assert.ok(s, 'a status message');
  return statusSchema.parse(JSON.parse(Buffer.from(s.payload).toString('utf8')));
}

async function finish(t: { raw: Subject<RawMessage>; handle: PipelineHandle }): Promise<void> {
  t.raw.complete();
  await t.handle.done;
}

describe('speech operator with a small untrained exported model', () => {
  let model: SpeechEnhancerModel;
  let cleanup: () => Promise<void>;
  let x: Float32Array;
  before(async () => {
    const exported = await exportUntrainedSpeechModel();
    cleanup = exported.cleanup;
    model = await loadSpeechEnhancerModel(exported.path);
    x = await noisySpeechFixture();
  });
  after(async () => {
    await model?.release();
    await cleanup?.();
  });

  it('uses the same default model path as `drivesense enhance`', () => {
    assert.equal(DEFAULT_SPEECH_MODEL, DEFAULT_SPEECH_MODEL_PATH);
  });

  it('publishes enhanced 16 kHz chunks with contiguous event times that join to the whole-file output (1e-5)', async () => {
    const t = setup(model, { useCamera: false });
    sendChunks(t.raw, x);
    await finish(t);
    const got = enhancedOf(t.published);
    assert.equal(got[0]?.tUs, T0_US);
    const joined = contiguous(got, T0_US);
    const whole = await enhanceSamples(model.createEnhancer(), x, CHUNK);
    const diff = maxAbsDiff(joined, whole);
    assert.ok(diff <= TOL, `max |streamed − whole file| = ${diff}`);
    assert.ok(maxAbsDiff(joined, x) > 1e-3, 'the model changed the audio');
    const s = t.handle.stats().speech;
    assert.ok(s !== undefined);
    const chunks = Math.ceil(x.length / CHUNK);
    assert.equal(s.chunksIn, chunks);
    assert.equal(s.samplesIn, x.length);
    assert.equal(s.samplesOut, x.length);
    assert.equal(s.chunksOut, got.length);
    assert.deepEqual(
      [s.resampled, s.refused, s.passthrough, s.dropped, s.modelErrors, s.errors, s.backlogMs, s.gaps],
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(lastStatus(t.published).speech, s);
  });

  it('resamples 48 kHz chunks to 16 kHz (counted) and enhances them as the whole file resampled', async () => {
    const x48 = resample(x, RATE, 48_000);
    const t = setup(model, { useCamera: false });
    const n = 960; // 20 ms
    for (let k = 0; k * n < x48.length; k++)
      t.raw.next(
        audioMessage(T0_US + k * 20_000, x48.subarray(k * n, Math.min(x48.length, (k + 1) * n)), {
          rate: 48_000,
        }),
      );
    await finish(t);
    const joined = contiguous(enhancedOf(t.published), T0_US);
    const x16 = resample(x48, 48_000, RATE);
    const whole = await enhanceSamples(model.createEnhancer(), x16, CHUNK);
    const diff = maxAbsDiff(joined, whole);
    assert.ok(diff <= TOL, `max |streamed − whole file| = ${diff}`);
    const s = t.handle.stats().speech!;
    assert.equal(s.resampled, Math.ceil(x48.length / n));
    assert.equal(s.refused, 0);
  });

  it('conceals and counts NaN, clipped, silent and missing chunks; the output stays whole and equal', async () => {
    const nan = x.slice(5 * CHUNK, 6 * CHUNK);
    for (let i = 0; i < 10; i++) nan[i * 7] = NaN;
    const loud = x.slice(9 * CHUNK, 10 * CHUNK).map((v, i) => (i % 2 === 0 ? 1.5 : v));
    const silent = new Float32Array(CHUNK);
    const t = setup(model, { useCamera: false });
    sendChunks(t.raw, x, {
      skip: new Set([3, 14]),
      replace: new Map([
        [5, nan],
        [9, loud],
        [12, silent],
      ]),
    });
    await finish(t);
    const joined = contiguous(enhancedOf(t.published), T0_US);
    // What the enhancer is given: NaN → 0, clamped to ±1, zeros for the silent and the missing chunks.
    const conditioned = x.slice();
    for (const k of [3, 12, 14]) conditioned.fill(0, k * CHUNK, (k + 1) * CHUNK);
    for (let i = 0; i < CHUNK; i++) {
      conditioned[5 * CHUNK + i] = Number.isNaN(nan[i]!) ? 0 : nan[i]!;
      conditioned[9 * CHUNK + i] = Math.max(-1, Math.min(1, loud[i]!));
    }
    const whole = await enhanceSamples(model.createEnhancer(), conditioned, CHUNK);
    const diff = maxAbsDiff(joined, whole);
    assert.ok(diff <= TOL, `max |streamed − whole file| = ${diff}`);
    for (const v of joined) assert.ok(Number.isFinite(v));
    const s = t.handle.stats().speech!;
    assert.equal(s.nonFinite, 10);
    assert.ok(s.clipped >= CHUNK / 2, `clipped ${s.clipped}`);
    assert.equal(s.silent, 1);
    assert.equal(s.gaps, 2);
    assert.ok(Math.abs(s.gapFillMs - 40) < 1e-9, `gap fill ${s.gapFillMs} ms`);
    assert.equal(s.chunksIn, Math.ceil(x.length / CHUNK) - 2);
    assert.equal(s.samplesOut, x.length);
  });

  it('keeps the audio going when the camera stops mid-utterance; late frames are dropped, counted', async () => {
    const t = setup(model, { useCamera: true });
    const chunks = Math.ceil(x.length / CHUNK);
    // Camera at 25 fps for the first 0.2 s only, each frame sent before the audio chunk containing its time;
    // messages arrive one event-loop turn apart, as from the network.
    const turn = () => new Promise((r) => setImmediate(r));
    let frame = 0;
    for (let k = 0; k < chunks; k++) {
      const endUs = (k + 1) * 20_000;
      while (frame * 40_000 < endUs && frame * 40_000 < 200_000) {
        t.raw.next(cameraMessage(T0_US + frame * 40_000, frame));
        frame++;
        await turn();
      }
      t.raw.next(
        audioMessage(T0_US + k * 20_000, x.subarray(k * CHUNK, Math.min(x.length, (k + 1) * CHUNK))),
      );
      await turn();
    }
    // Let the audio be processed, then send frames of times long passed: late.
    while ((t.handle.stats().speech?.backlogMs ?? 0) > 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) t.raw.next(cameraMessage(T0_US + 60_000 + i * 1000, 99 + i));
    await finish(t);
    const joined = contiguous(enhancedOf(t.published), T0_US);
    assert.equal(joined.length, x.length, 'all the audio came out');
    const s = t.handle.stats().speech!;
    assert.equal(s.cameraFrames, frame + 3);
    assert.equal(s.cameraUsed, frame, JSON.stringify(s));
    assert.equal(s.cameraLate, 3);
    assert.equal(s.cameraDropped, 0);
    assert.equal(s.samplesOut, x.length);
    assert.equal(s.modelErrors, 0);
    // The mouth crops reached the model: the first 200 ms differ from the audio-only output.
    const audioOnly = await enhanceSamples(model.createEnhancer(), x, CHUNK);
    assert.ok(
      maxAbsDiff(joined.subarray(0, 3200), audioOnly.subarray(0, 3200)) > 1e-6,
      'the camera was used',
    );
  });

  it('budgets camera decodes in processing time (maxCameraFps): a burst is dropped undecoded, the audio goes on', async () => {
    const t = setup(model, { useCamera: true, maxCameraFps: 0.5 });
    const started = performance.now();
    const chunks = Math.ceil(x.length / CHUNK);
    let frame = 0;
    for (let k = 0; k < chunks; k++) {
      const endUs = (k + 1) * 20_000;
      while (frame * 40_000 < endUs) t.raw.next(cameraMessage(T0_US + frame * 40_000, frame++));
      t.raw.next(
        audioMessage(T0_US + k * 20_000, x.subarray(k * CHUNK, Math.min(x.length, (k + 1) * CHUNK))),
      );
      await new Promise((r) => setImmediate(r));
    }
    await finish(t);
    const elapsedS = (performance.now() - started) / 1000;
    const s = t.handle.stats().speech!;
    assert.equal(s.cameraFrames, frame);
    // One token to start with, 0.5 more per second of the run.
    const budget = 1 + Math.ceil(elapsedS * 0.5);
    assert.ok(s.cameraUsed + s.cameraLate <= budget, `${JSON.stringify(s)} in ${elapsedS.toFixed(2)} s`);
    assert.ok(s.cameraDropped >= frame - budget, JSON.stringify(s));
    assert.equal(s.samplesOut, x.length);
    assert.equal(contiguous(enhancedOf(t.published), T0_US).length, x.length);
  });

  it('the mask settings of features.speech reach the enhancer; unset ones stay the model default', async () => {
    const given: (SpeechEnhancerOptions | undefined)[] = [];
    const spy: SpeechModel = {
      meta: model.meta,
      createEnhancer: (o) => {
        given.push(o);
        return model.createEnhancer(o);
      },
    };
    const t = setup(spy, {
      useCamera: false,
      maskStrength: 0.6,
      maskStrengthVisual: 0.9,
      maskFloorDb: -20,
      maskSmoothingBins: 3,
      maskSmoothingTime: 0.3,
      maskExpansionKneeDb: -10,
      maskExpansionRatio: 2,
    });
    sendChunks(t.raw, x.subarray(0, 3200));
    await finish(t);
    assert.deepEqual(given[0], {
      maskFloorDb: -20,
      maskStrength: 0.6,
      maskStrengthVisual: 0.9,
      maskSmoothingBins: 3,
      maskSmoothingTime: 0.3,
      maskExpansionKneeDb: -10,
      maskExpansionRatio: 2,
    });
    given.length = 0;
    const u = setup(spy, { useCamera: false });
    sendChunks(u.raw, x.subarray(0, 3200));
    await finish(u);
    assert.deepEqual(given[0], {});
  });

  it('passes the audio through unenhanced when the model fails, counted and logged; the pipeline stays healthy', async () => {
    let calls = 0;
    const failing: SpeechModelRunner = () => {
      calls++;
      return Promise.reject(new Error('boom'));
    };
    const broken: SpeechModel = {
      meta: model.meta,
      createEnhancer: (o) => new SpeechEnhancer(model.meta, failing, o),
    };
    const t = setup(broken, { useCamera: false });
    sendChunks(t.raw, x);
    await finish(t);
    const joined = contiguous(enhancedOf(t.published), T0_US);
    const diff = maxAbsDiff(joined, x);
    assert.ok(diff < 1e-4, `passthrough differs from the input by ${diff}`);
    const s = t.handle.stats().speech!;
    assert.equal(s.modelErrors, calls);
    assert.ok(calls > 0);
    assert.equal(s.errors, 0);
    assert.equal(s.samplesOut, x.length);
    assert.match(t.logged[0] ?? '', /speech enhancement of car-sp: speech model failed .*boom/);
    assert.ok(t.logged.length <= 3, `logged sparsely: ${t.logged.length} lines`);
  });

  it('bounds the backlog of a slow model: flush, passthrough, drop — never an overlap', async () => {
    const slow: SpeechModelRunner = async (batch) => {
      await new Promise((r) => setTimeout(r, 10));
      return model.runner(batch);
    };
    const slowModel: SpeechModel = {
      meta: model.meta,
      createEnhancer: (o) => new SpeechEnhancer(model.meta, slow, o),
    };
    const t = setup(slowModel, { useCamera: false, maxPendingMs: 100 });
    sendChunks(t.raw, x); // 0.5 s at once: five times the allowed backlog
    await finish(t);
    const got = enhancedOf(t.published);
    let end = -Infinity;
    for (const c of got) {
      assert.ok(c.tUs >= end - 1, `chunk at ${c.tUs} overlaps the previous end ${end}`);
      end = c.tUs + (c.samples.length * 1e6) / RATE;
    }
    const s = t.handle.stats().speech!;
    assert.ok(s.passthrough > 0 && s.dropped > 0, JSON.stringify(s));
    assert.equal(s.samplesOut + s.dropped * CHUNK, s.samplesIn);
    assert.equal(s.backlogMs, 0);
    // The first 100 ms are enhanced (flushed to their end), the next 100 ms pass through unchanged.
    const first = contiguous(
      got.filter((c) => c.tUs < T0_US + 200_000),
      T0_US,
    );
    assert.equal(first.length, 2 * 1600);
    assert.ok(maxAbsDiff(first.subarray(1600), x.subarray(1600, 3200)) === 0, 'passed through as is');
    assert.match(t.logged.join('\n'), /behind by over 100 ms/);
  });
});
