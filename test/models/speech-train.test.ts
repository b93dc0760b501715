/**
 * AVDCNN training (src/models/speech/train.ts) on a tiny model (FC 32/32/32/64) and a tiny corpus built from
 * the committed speech fixtures (real recordings) with a synthetic mouth track for the AV clips, so it runs
 * without ../shared: the loss decreases; a run killed at step 4 (abort signal) and resumed to step 8 matches
 * an uninterrupted 8-step run (same example order, weights within 1e-6 with dropout 0); the trainer draws only
 * training speakers and training noise spans; export to ONNX with the sidecar metadata and parity ≤ 1e-4.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectTrainingBackend } from '../../src/models/common/backend.ts';
import { CheckpointStore } from '../../src/models/common/checkpoint.ts';
import { sidecarPathFor } from '../../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../../src/models/common/onnx-export.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import type { AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { AVDCNN_DEFAULTS, buildAvdcnn, resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { alignMouth } from '../../src/models/speech/corpus.ts';
import type {
  LoadedNoise,
  LoadedUtterance,
  MouthTrack,
  UtteranceEntry,
} from '../../src/models/speech/corpus.ts';
import type { MixerPools, Mixture } from '../../src/models/speech/mixing.ts';
import { assertDisjoint, buildSplit } from '../../src/models/speech/splits.ts';
import {
  exportTrainedSpeechModel,
  fillBatch,
  fitSpeechNormaliser,
  loadBestSpeechCheckpoint,
  logGainTrainTarget,
  noiseAwareParamsFor,
  passthroughMse,
  prepareMixture,
  reportPathFor,
  sidecarNoiseAware,
  speechModelId,
  mixingIdPart,
  trainSpeechModel,
  trainedSpeechModelMeta,
  validateSpeechModel,
  validationRefs,
} from '../../src/models/speech/train.ts';
import {
  LOG_GAIN_FLOOR_DB,
  amplitudeGainTarget,
  logGainTarget,
  signalWeights,
} from '../../src/models/speech/examples.ts';
import { buildEvaluationSet, SpeechMixer } from '../../src/models/speech/mixing.ts';
import {
  contextSpecOf,
  readSpeechModelMeta,
  speechModelMeta,
} from '../../src/models/speech/speech-model-meta.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import { centreAlignedMouth, centringAlpha } from '../../src/models/speech/mouth-centring.ts';
import type { SpeechModelRunner } from '../../src/models/speech/head.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { DEFAULT_NOISE_FLOOR } from '../../src/streams/features/audio/noise-floor.ts';
import type { NoiseAwareParams } from '../../src/streams/features/audio/noise-aware.ts';
import { DEFAULT_STD_FLOOR } from '../../src/streams/features/audio/normalize.ts';
import type {
  PreparedMixture,
  SpeechTrainExtra,
  SpeechTrainOptions,
  SpeechTrainResult,
  SpeechTrainingReport,
} from '../../src/models/speech/train.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_512_128,
  stft as computeStft,
} from '../../src/streams/features/audio/stft.ts';
import type { StftConfig } from '../../src/streams/features/audio/stft.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { fixture } from '../readers/shared-data.ts';

const TINY: Partial<AvdcnnConfig> = {
  fc1Units: 32,
  fc2Units: 32,
  fcAudioUnits: 32,
  fcVisualUnits: 64,
  dropout: 0,
  learningRate: 1e-3,
};

function utt(source: UtteranceEntry['source'], speaker: string, name: string, av = false): UtteranceEntry {
  return {
    id: `${source}/${name}`,
    source,
    speaker: `${source}:${speaker}`,
    speakerKnown: true,
    path: name,
    av,
  };
}

// Three speakers per held-out source → one train, one validation, one test speaker each; CMU ARCTIC (one
// speaker) wholly training. One 20 s noise recording → 70/15/15 % in time with 1 s guards.
const ENTRIES: UtteranceEntry[] = [
  utt('cmu_arctic', 'aew', 'cmu_arctic_us_aew_a0001'),
  utt('lombard_grid', 's30', 's30_p_a'),
  utt('lombard_grid', 's31', 's31_p_b'),
  utt('lombard_grid', 's32', 's32_p_c'),
  utt('grid', 's1', 's1_clip', true),
  utt('grid', 's2', 's2_clip', true),
  utt('grid', 's3', 's3_clip', true),
];
const NOISE_SAMPLES = 320_000;
const SPLIT = buildSplit(ENTRIES, [
  { id: 'synthetic/car', category: 'car-interior', samples: NOISE_SAMPLES },
]);

/** Exports a trained run, checks parity ≤ 1e-4 and reads the model's metadata back as serving does. */
async function exportAndRead(r: SpeechTrainResult, onnxPath: string) {
  const report = await exportTrainedSpeechModel({
    model: r.model,
    state: r.state,
    extra: r.extra,
    onnxPath,
    status: r.status,
    examplesPerS: r.examplesPerS,
    data: { note: 'test corpus' },
    backend: tf.getBackend(),
    command: {},
  });
  assert.ok(report.parity.maxAbs <= 1e-4, `parity ${report.parity.maxAbs}`);
  return { report, ...(await readSpeechModelMeta(onnxPath)) };
}

function mouthTrack(samples: number, seed: number): MouthTrack {
  const count = Math.ceil((samples / 16_000) * 25) + 1;
  const rng = new SeededRandom(seed);
  const ok = new Uint8Array(count).fill(1);
  ok[3] = 0; // one missing crop
  return {
    fps: 25,
    offsetS: 0,
    width: 24,
    height: 16,
    frameSize: 384,
    count,
    data: rng.floats(count * 384),
    ok,
  };
}

/**
 * The small causal run several tests train (live STFT): batches of 16 from 2 mixtures a round, 8 for the
 * normaliser, validated every `every` steps on 128 frames, `steps` steps.
 */
async function tinyCausalRun(
  every: number,
  steps: number,
): Promise<Omit<SpeechTrainOptions, 'checkpointDir'>> {
  const { train, validation } = await pools(LIVE_STFT_512_128);
  return {
    split: SPLIT,
    train,
    validation,
    model: { ...TINY, context: 'causal' },
    batchSize: 16,
    roundMixtures: 2,
    normMixtures: 8,
    validationEvery: every,
    validationFrames: 128,
    maxSteps: steps,
  };
}

/** Train and validation pools of the tiny corpus, mouth crops aligned with `stft`. */
async function pools(stft: StftConfig): Promise<{ train: MixerPools; validation: MixerPools }> {
  const arctic = (await readWavFile(fixture('arctic-aew-a0001-head.wav'))).samples;
  const lombard = (await readWavFile(fixture('lombard-s30-lbwzzp-head.wav'))).samples;
  // Both excerpts are 0.5 s (8000 samples); the utterances are 6000-sample slices of them.
  const samples: Record<string, Float32Array> = {
    'cmu_arctic/cmu_arctic_us_aew_a0001': arctic.subarray(0, 6000),
    'lombard_grid/s30_p_a': lombard.subarray(0, 6000),
    'lombard_grid/s31_p_b': lombard.subarray(2000, 8000),
    'grid/s1_clip': arctic.subarray(2000, 8000).map((x) => x * 0.7),
    'grid/s2_clip': arctic.slice(0, 6000).reverse(),
  };
  const load = (name: 'train' | 'validation'): LoadedUtterance[] =>
    SPLIT.parts[name].utterances.map((u, i) => {
      const entry = ENTRIES.find((e) => e.id === u.id)!;
      const s = samples[u.id];
      assert.ok(s, `fixture for ${u.id}`);
      if (!entry.av) return { entry, samples: s };
      const track = mouthTrack(s.length, 10 + i);
      return { entry, samples: s, track, mouth: alignMouth(track, s.length, { stft }) };
    });
  // "Noise": the Lombard excerpt repeated plus seeded white noise (a real but non-stationary signal).
  const rng = new SeededRandom(99);
  const noise = new Float32Array(NOISE_SAMPLES);
  for (let i = 0; i < noise.length; i++) noise[i] = 0.5 * lombard[i % lombard.length]! + 0.01 * rng.normal();
  const n: LoadedNoise = {
    entry: { id: 'synthetic/car', category: 'car-interior', path: 'x', licence: 'test', committable: true },
    samples: noise,
  };
  return {
    train: { utterances: load('train'), noises: [n] },
    validation: { utterances: load('validation'), noises: [n] },
  };
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'speech-train-'));
  dirs.push(d);
  return d;
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length);
    for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(x[k]! - y[k]!));
  });
  return m;
}

describe('AVDCNN training', () => {
  before(async () => {
    await selectTrainingBackend();
  });
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('fillBatch: context rows with edge repeat, visual frames as channels, lip weights', () => {
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal' });
    const ctx = contextSpecOf(c);
    assert.deepEqual(ctx, { past: 4, future: 0 });
    assert.deepEqual(contextSpecOf(resolveAvdcnnConfig({ context: 'symmetric' })), { past: 2, future: 2 });
    const frames = 6;
    const noisy = Float32Array.from({ length: frames * 257 }, (_, i) => Math.floor(i / 257)); // value = frame
    const mouth = Float32Array.from(
      { length: frames * 384 },
      (_, i) => Math.floor(i / 384) + (i % 384) / 1000,
    );
    const present = Uint8Array.from([1, 1, 0, 1, 1, 1]);
    const items: PreparedMixture[] = [
      { id: 'a', frames, noisy, clean: noisy.map((v) => -v), mouth, present },
      { id: 'b', frames, noisy, clean: noisy },
    ];
    const b = fillBatch(
      [
        [0, 1],
        [0, 2],
        [1, 5],
      ],
      items,
      c,
      ctx,
    );
    assert.equal(b.size, 3);
    // Example 0 (t = 1): rows t−4…t = frames 0,0,0,0,1 (edge repeated).
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((r) => b.audio[r * 257]),
      [0, 0, 0, 0, 1],
    );
    assert.equal(b.clean[0], -1);
    // Visual [16][24][5]: pixel p, row r at p·5 + r; pixel 7 of example 0 row 4 = frame 1's pixel 7.
    assert.ok(Math.abs(b.visual[7 * 5 + 4]! - (1 + 7 / 1000)) < 1e-6);
    assert.deepEqual(Array.from(b.videoWeight!), [1, 0, 0]); // frame 2 has no crop; example 2 is audio-only
    assert.ok(b.visual.subarray(2 * 384 * 5).every((v) => v === 0));
    const absent = fillBatch([[0, 1]], items, c, ctx, 'absent');
    assert.ok(absent.visual.every((v) => v === 0) && absent.videoWeight![0] === 0);
  });

  test('log-gain target: clamp(lnC − lnX, 2·ln G_min, 0), 0 when clean = noisy; passthrough MSE', async () => {
    const floor = (LOG_GAIN_FLOOR_DB * Math.LN10) / 10; // 2·ln(10^(−25/20))
    assert.ok(Math.abs(floor - 2 * Math.log(10 ** (-25 / 20))) < 1e-12);
    const x = Float32Array.from([-3, 0, 5, -20, 1]);
    assert.ok(logGainTarget(x, x).every((g) => g === 0));
    const g = logGainTarget(Float32Array.from([-4, 2, -30, -20, 1 + floor / 2]), x);
    const want = [-1, 0, floor, 0, floor / 2];
    g.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${i}: ${v} vs ${want[i]}`));
    const t = logGainTrainTarget();
    assert.ok(t.kind === 'log-gain' && Math.abs(t.scale - Math.abs(floor)) < 1e-12);

    // On real mixtures (with a gain shift, which cancels): within [−1, 0] scaled; passthrough MSE = mean g².
    const { train } = await pools(LIVE_STFT_512_128);
    const mixer = new SpeechMixer(SPLIT, 'train', train, { seed: 3 });
    const mixes = [mixer.next(), mixer.next()];
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal' });
    const norm = fitSpeechNormaliser(mixes, LIVE_STFT_512_128, 1);
    const lg = prepareMixture(mixes[0]!, LIVE_STFT_512_128, norm, c, 4, t);
    assert.ok(lg.clean.every((v) => v >= -1 && v <= 0));
    assert.ok(lg.clean.some((v) => v < -0.01));
    const refs = Array.from({ length: lg.frames }, (_, i) => [0, i] as const);
    const meanSq = lg.clean.reduce((a, v) => a + v * v, 0) / lg.clean.length;
    assert.ok(Math.abs(passthroughMse([lg], refs) - meanSq) < 1e-9);
    // The ln-power target is unchanged; its passthrough is the noisy ln power in target units.
    const lp = prepareMixture(mixes[0]!, LIVE_STFT_512_128, norm, c, 4);
    assert.ok(lp.passthrough !== undefined && lp.clean.some((v) => v > 0));
    assert.ok(passthroughMse([lp], refs) > 0);
  });

  test('gain target: clamp(|C|/|X|, G_min, 1), 1 when clean = noisy; passthrough is G = 1', async () => {
    const x = Float32Array.from([-3, 0, 5, -20, 1]);
    assert.ok(amplitudeGainTarget(x, x).every((g) => Math.abs(g - 1) < 1e-6));
    const gMin = 10 ** (LOG_GAIN_FLOOR_DB / 20);
    // ln power −4 vs −3: amplitude ratio e^{−1/2}; +2: > 1 → 1; −30 vs 5: below G_min → G_min.
    const g = amplitudeGainTarget(Float32Array.from([-4, 2, -30, -20, 1 + 2 * Math.log(0.2)]), x);
    const want = [Math.exp(-0.5), 1, gMin, 1, 0.2];
    g.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${i}: ${v} vs ${want[i]}`));
    assert.throws(() => amplitudeGainTarget(x, x, 0), /gainFloorDb 0/);
    assert.throws(() => amplitudeGainTarget(x, x.subarray(1)), /5 clean vs 4 noisy/);

    // On a real mixture with a level shift (which cancels): within [G_min, 1]; passthrough MSE = mean (1 − G)².
    const { train } = await pools(LIVE_STFT_512_128);
    const mixes = [new SpeechMixer(SPLIT, 'train', train, { seed: 3 }).next()];
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal' });
    const norm = fitSpeechNormaliser(mixes, LIVE_STFT_512_128, 1);
    const target = { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB } as const;
    const p = prepareMixture(mixes[0]!, LIVE_STFT_512_128, norm, c, 4, target);
    const q = prepareMixture(mixes[0]!, LIVE_STFT_512_128, norm, c, 0, target);
    assert.ok(p.clean.every((v, i) => v >= gMin - 1e-7 && v <= 1 && Math.abs(v - q.clean[i]!) < 1e-4));
    assert.ok(p.clean.some((v) => v < 0.5) && p.clean.some((v) => v === 1));
    const refs = Array.from({ length: p.frames }, (_, i) => [0, i] as const);
    const meanSq = p.clean.reduce((a, v) => a + (1 - v) ** 2, 0) / p.clean.length;
    assert.ok(Math.abs(passthroughMse([p], refs) - meanSq) < 1e-6);
  });

  test('signal weighting: weights ∝ noisy power^q with mean 1 per mixture, in the batch and the loss', async () => {
    // ln powers 0 and ln 4 (power ×4): q = 1 → ratio 4, q = 0.5 → ratio 2; mean 1; a level shift cancels.
    const lnP = Float32Array.from([0, Math.log(4), 0, Math.log(4)]);
    for (const [q, ratio] of [
      [1, 4],
      [0.5, 2],
    ] as const) {
      const w = signalWeights(lnP, q);
      assert.ok(Math.abs(w[1]! / w[0]! - ratio) < 1e-5, `q ${q}: ratio ${w[1]! / w[0]!}`);
      assert.ok(Math.abs(w.reduce((a, v) => a + v, 0) / w.length - 1) < 1e-6);
      const shifted = signalWeights(
        lnP.map((v) => v + 30),
        q,
      );
      assert.ok(shifted.every((v, i) => Math.abs(v - w[i]!) < 1e-5));
    }
    // The floor of ln(|X|² + 1e-10) (digital silence) gets a weight near 0, not NaN.
    const silent = signalWeights(Float32Array.from([Math.log(1e-10), 0]), 1);
    assert.ok(silent[0]! >= 0 && silent[0]! < 1e-6 && Math.abs(silent[1]! - 2) < 1e-6);
    for (const q of [0, -1, 1.5, Number.NaN]) assert.throws(() => signalWeights(lnP, q), /exponent/);

    // A real mixture: the target is the same as unweighted, the weights follow the noisy power, and the
    // passthrough MSE and the batch carry them.
    const { train } = await pools(LIVE_STFT_512_128);
    const mix = new SpeechMixer(SPLIT, 'train', train, { seed: 3 }).next();
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal' });
    const norm = fitSpeechNormaliser([mix], LIVE_STFT_512_128, 1);
    const plain = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 0, {
      kind: 'gain',
      gainFloorDb: LOG_GAIN_FLOOR_DB,
    });
    const p = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 5, {
      kind: 'gain',
      gainFloorDb: LOG_GAIN_FLOOR_DB,
      signalWeight: 0.5,
    });
    assert.equal(plain.weight, undefined);
    assert.ok(p.weight !== undefined && p.weight.length === p.clean.length);
    // From the noisy power (not the clean) with exponent 0.5; the ±dB level shift does not change them.
    const fromNoisy = signalWeights(computeStft(mix.noisy, LIVE_STFT_512_128).logPower, 0.5);
    assert.ok(p.weight.every((v, i) => Math.abs(v - fromNoisy[i]!) < 1e-4 * Math.max(1, v)));
    const fromClean = signalWeights(computeStft(mix.clean, LIVE_STFT_512_128).logPower, 0.5);
    assert.ok(p.weight.some((v, i) => Math.abs(v - fromClean[i]!) > 0.1));
    assert.ok(p.clean.every((v, i) => Math.abs(v - plain.clean[i]!) < 1e-4));
    assert.ok(Math.abs(p.weight.reduce((a, v) => a + v, 0) / p.weight.length - 1) < 1e-4);
    const refs = Array.from({ length: p.frames }, (_, i) => [0, i] as const);
    const weightedSq = p.clean.reduce((a, v, i) => a + p.weight![i]! * (1 - v) ** 2, 0) / p.clean.length;
    assert.ok(Math.abs(passthroughMse([p], refs) - weightedSq) < 1e-6);
    assert.ok(Math.abs(passthroughMse([p], refs) - passthroughMse([plain], refs)) > 1e-3);
    const b = fillBatch([refs[7]!, refs[2]!], [p], c, contextSpecOf(c));
    assert.deepEqual(
      Array.from(b.cleanWeight!.subarray(c.bins, 2 * c.bins)),
      Array.from(p.weight.subarray(2 * c.bins, 3 * c.bins)),
    );
    assert.equal(fillBatch([refs[7]!], [plain], c, contextSpecOf(c)).cleanWeight, undefined);
  });

  const cases: readonly { name: string; channels: 2 | 3; params: NoiseAwareParams | undefined }[] = [
    { name: '2 channels, no start hold (models before it)', channels: 2, params: DEFAULT_NOISE_FLOOR },
    { name: '2 channels', channels: 2, params: noiseAwareParamsFor(2, LIVE_STFT_512_128) },
    { name: '3 channels', channels: 3, params: noiseAwareParamsFor(3, LIVE_STFT_512_128) },
    {
      name: '3 channels, SPP tracker',
      channels: 3,
      params: noiseAwareParamsFor(3, LIVE_STFT_512_128, 'spp'),
    },
  ];
  for (const { name, channels, params } of cases)
    test(`noise-aware input (${name}): training features equal the streaming enhancer input; the added channels ignore level`, async () => {
      const { train } = await pools(LIVE_STFT_512_128);
      const mix = new SpeechMixer(SPLIT, 'train', train, { seed: 4 }).next();
      const c = resolveAvdcnnConfig({ ...TINY, context: 'causal', audioChannels: channels });
      assert.equal(params?.prior !== undefined, channels === 3);
      const norm = fitSpeechNormaliser([mix], LIVE_STFT_512_128, 1, DEFAULT_STD_FLOOR, params);
      assert.ok(norm.snr !== undefined);
      assert.equal(norm.prior !== undefined, channels === 3);
      const target = { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB } as const;
      const p = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 0, target);
      // The recording 6 dB louder: the ln power moves, the added channels do not.
      const louder = { ...mix, noisy: mix.noisy.map((v) => 2 * v), clean: mix.clean.map((v) => 2 * v) };
      const loud = prepareMixture(louder, LIVE_STFT_512_128, norm, c, 0, target);
      const bins = c.bins;
      assert.equal(p.noisy.length, p.frames * bins * channels);
      let moved = 0;
      for (let i = 0; i < p.noisy.length; i++)
        if (i % channels !== 0) moved = Math.max(moved, Math.abs(loud.noisy[i]! - p.noisy[i]!));
      assert.ok(moved < 1e-3, `added channels moved by ${moved}`);
      assert.ok(Math.abs(loud.noisy[0]! - p.noisy[0]!) > 0.1);
      // One channel's normaliser for a two-channel model is refused.
      const plain = fitSpeechNormaliser([mix], LIVE_STFT_512_128, 1);
      assert.throws(
        () => prepareMixture(mix, LIVE_STFT_512_128, plain, c, 0, target),
        new RegExp(`${channels}`),
      );

      const meta = speechModelMeta(
        c,
        LIVE_STFT_512_128,
        { kind: 'global', mean: norm.input.mean, std: norm.input.std },
        {
          target,
          output: 'mask',
          noiseAware: sidecarNoiseAware(norm, norm.snr),
        },
      );
      const rows: Float32Array[] = [];
      const fb = bins * channels;
      const runner: SpeechModelRunner = (batch) => {
        for (let i = 0; i < batch.size; i++)
          rows.push(
            batch.audio.slice(
              (i * c.contextFrames + c.contextFrames - 1) * fb,
              (i * c.contextFrames + c.contextFrames) * fb,
            ),
          );
        return Promise.resolve({ clean: new Float32Array(batch.size * bins).fill(1) });
      };
      await enhanceSamples(new SpeechEnhancer(meta, runner), mix.noisy, 320);
      assert.ok(rows.length >= p.frames);
      let worst = 0;
      for (let t = 0; t < p.frames; t++)
        for (let j = 0; j < fb; j++) worst = Math.max(worst, Math.abs(rows[t]![j]! - p.noisy[t * fb + j]!));
      assert.ok(worst < 1e-3, `training vs serving input: max abs ${worst}`);
    });

  test('a longer causal context (9 frames): the enhancer stacks the audio input as training does; trains, exports with parity, 40 ms delay', async () => {
    const { train, validation } = await pools(LIVE_STFT_512_128);
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal', contextFrames: 9 });
    const ctx = contextSpecOf(c);
    assert.deepEqual(ctx, { past: 8, future: 0 });
    // Serving input of every frame = the training example of that frame (all 9 rows, edges repeated).
    const mix = new SpeechMixer(SPLIT, 'train', train, { seed: 5 }).next();
    const norm = fitSpeechNormaliser([mix], LIVE_STFT_512_128, 1);
    const target = { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB } as const;
    const p = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 0, target);
    const meta = speechModelMeta(
      c,
      LIVE_STFT_512_128,
      { kind: 'global', mean: norm.input.mean, std: norm.input.std },
      { target, output: 'mask' },
    );
    const seen: Float32Array[] = [];
    const rowValues = c.contextFrames * c.bins;
    const runner: SpeechModelRunner = (batch) => {
      for (let i = 0; i < batch.size; i++) seen.push(batch.audio.slice(i * rowValues, (i + 1) * rowValues));
      return Promise.resolve({ clean: new Float32Array(batch.size * c.bins).fill(1) });
    };
    await enhanceSamples(new SpeechEnhancer(meta, runner), mix.noisy, 320);
    assert.ok(seen.length >= p.frames, `${seen.length} model inputs for ${p.frames} frames`);
    let worst = 0;
    for (let t = 0; t < p.frames; t++) {
      const expected = fillBatch([[0, t]], [p], c, ctx, 'absent').audio;
      for (let j = 0; j < rowValues; j++) worst = Math.max(worst, Math.abs(seen[t]![j]! - expected[j]!));
    }
    assert.ok(worst < 1e-3, `training vs serving context: max abs ${worst}`);

    const dir = await tempDir();
    const r = await trainSpeechModel({
      split: SPLIT,
      train,
      validation,
      model: { ...TINY, context: 'causal', contextFrames: 9 },
      checkpointDir: path.join(dir, 'ckpt'),
      target: 'gain',
      batchSize: 16,
      roundMixtures: 2,
      normMixtures: 8,
      validationEvery: 4,
      validationFrames: 128,
      maxSteps: 4,
    });
    try {
      assert.match(
        speechModelId(r.extra, r.state),
        /^avdcnn-causal-ctx9-32-32-32-64-drop0-gain-seed1-step4$/,
      );
      const { meta: exported, sidecar } = await exportAndRead(
        r,
        path.join(dir, 'model', 'avdcnn-causal.onnx'),
      );
      assert.equal(exported.model.contextFrames, 9);
      assert.deepEqual(sidecar.inputs[0]!.shape, [null, 9, 257, 1]);
      assert.deepEqual(sidecar.inputs[1]!.shape, [null, 16, 24, 9]);
      assert.equal(exported.training!['algorithmicDelayMs'], 40);
      assert.deepEqual(exported.training!['context'], {
        mode: 'causal',
        past: 8,
        future: 0,
        currentFrameIndex: 8,
      });
    } finally {
      r.model.dispose();
    }
  });

  let run: SpeechTrainResult | undefined;
  let runDir = '';
  const drawn: Mixture[] = [];

  test('tiny causal model: the training loss decreases; progress lines; best checkpoint restored', async () => {
    const { train, validation } = await pools(LIVE_STFT_512_128);
    runDir = await tempDir();
    const losses: number[] = [];
    const lines: string[] = [];
    run = await trainSpeechModel({
      split: SPLIT,
      train,
      validation,
      model: { ...TINY, context: 'causal' },
      checkpointDir: path.join(runDir, 'ckpt'),
      batchSize: 16,
      roundMixtures: 2,
      normMixtures: 8,
      validationEvery: 20,
      validationFrames: 256,
      checkpointEvery: 10,
      logEvery: 10,
      maxSteps: 40,
      data: { corpus: 'committed test fixtures' },
      log: (l) => lines.push(l),
      onMixture: (m) => drawn.push(m),
      onStep: (_, l) => losses.push(l.total),
    });
    assert.equal(run.status, 'max-steps');
    assert.equal(run.state.step, 40);
    assert.equal(losses.length, 40);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 8));
    const last = mean(losses.slice(-8));
    assert.ok(last < 0.8 * first, `train loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    assert.equal(run.state.history.length, 2);
    assert.ok(
      lines.some((l) => /^step 10 \| [\d.]+ ex\/s \| train loss/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /validation @ step 20: log-gain MSE [\d.]+ \(passthrough [\d.]+;/.test(l)),
      lines.join('\n'),
    );
    assert.equal(run.extra.target?.kind, 'log-gain');
    assert.ok(run.state.history.every((h) => h['valPassthrough']! > 0));
    assert.equal(run.normaliser.input.mean.length, 257);
    assert.equal(run.extra.stft.hop, 128);
    const best = run.extra.bestStep!;
    assert.ok(best === 20 || best === 40);
  });

  test('the trainer draws only training speakers and training noise spans', async () => {
    assert.ok(drawn.length > 0);
    assertDisjoint(SPLIT);
    const trainSpeakers = new Set(SPLIT.parts.train.speakers);
    const [trainSpan] = SPLIT.parts.train.noise;
    assert.ok(trainSpan);
    const heldOut = [...SPLIT.parts.validation.noise, ...SPLIT.parts.test.noise];
    for (const m of drawn) {
      assert.equal(m.split, 'train');
      assert.ok(trainSpeakers.has(m.speaker), `${m.speaker} is not a training speaker`);
      // Every noise sample used lies in the training span (read circularly inside it when short).
      const len = m.noisy.length;
      const off = m.noiseStart - trainSpan.start;
      const spanLen = trainSpan.end - trainSpan.start;
      const first = trainSpan.start + (off % spanLen);
      const lastIdx = trainSpan.start + ((off + len - 1) % spanLen);
      assert.equal(m.span, trainSpan);
      for (const idx of [first, lastIdx]) {
        assert.ok(idx >= trainSpan.start && idx < trainSpan.end);
        for (const h of heldOut) assert.ok(idx < h.start || idx >= h.end, `noise sample ${idx} is held out`);
      }
    }
    // Handing the trainer validation material as training material is refused.
    const { validation } = await pools(LIVE_STFT_512_128);
    await assert.rejects(
      trainSpeechModel({
        split: SPLIT,
        train: validation,
        validation,
        model: TINY,
        checkpointDir: path.join(await tempDir(), 'ckpt'),
        maxSteps: 1,
      }),
      /not in the train split/,
    );
  });

  test('extra speech: mixed into training (normaliser too) at its share, never validated; in the fingerprint', async () => {
    const { train, validation } = await pools(LIVE_STFT_512_128);
    const arctic = (await readWavFile(fixture('arctic-aew-a0001-head.wav'))).samples;
    const extraUtt = (name: string, from: number): LoadedUtterance => ({
      entry: {
        id: `extra/tts/${name}`,
        source: 'extra',
        speaker: 'extra:tts',
        speakerKnown: true,
        path: 'x',
        av: false,
      },
      samples: arctic.slice(from, from + 6000).map((x) => x * 0.8),
    });
    const extra = [extraUtt('a', 0), extraUtt('b', 1500)];
    const dir = path.join(await tempDir(), 'ckpt');
    const seen: Mixture[] = [];
    const options = {
      split: SPLIT,
      validation,
      model: { ...TINY, context: 'causal' as const },
      checkpointDir: dir,
      batchSize: 16,
      roundMixtures: 4,
      normMixtures: 16,
      validationEvery: 4,
      validationFrames: 64,
      maxSteps: 4,
    };
    const r = await trainSpeechModel({
      ...options,
      train: { ...train, extra },
      extraShare: 0.5,
      onMixture: (m) => seen.push(m),
    });
    r.model.dispose();
    const fromExtra = seen.filter((m) => m.source === 'extra').length;
    assert.ok(
      fromExtra > 0 && fromExtra < seen.length,
      `${fromExtra} of ${seen.length} mixtures from the extra speech`,
    );
    assert.ok(seen.every((m) => m.split === 'train'));
    // Other extra speech (or none) is another run: the checkpoint refuses it.
    await assert.rejects(
      trainSpeechModel({ ...options, maxSteps: 8, train: { ...train, extra: [extra[0]!] } }),
      /another configuration/,
    );
    await assert.rejects(trainSpeechModel({ ...options, maxSteps: 8, train }), /another configuration/);
    await assert.rejects(
      trainSpeechModel({ ...options, checkpointDir: `${dir}-2`, train, extraShare: 0.5 }),
      /extraShare without extra speech/,
    );
  });

  test('fine-tuning (initFrom): the best weights and normaliser, step 0 validated, resumes; another model refused', async () => {
    assert.ok(run);
    const source = path.join(runDir, 'ckpt');
    const { train, validation } = await pools(LIVE_STFT_512_128);
    const dir = path.join(await tempDir(), 'ckpt');
    const options = (o: Partial<SpeechTrainOptions> = {}): SpeechTrainOptions => ({
      split: SPLIT,
      train,
      validation,
      model: { ...TINY, context: 'causal', learningRate: 1e-5 },
      checkpointDir: dir,
      initFrom: source,
      seed: 2,
      batchSize: 16,
      roundMixtures: 2,
      normMixtures: 8,
      validationEvery: 10,
      validationFrames: 256,
      checkpointEvery: 10,
      maxSteps: 10,
      ...o,
    });
    const lines: string[] = [];
    const ft = await trainSpeechModel(options({ log: (l) => lines.push(l) }));
    try {
      assert.ok(
        lines.some((l) => /^fine-tuning avdcnn-causal-.*-step\d+ \(best validation/.test(l)),
        lines.join('\n'),
      );
      // Step 0 is validated on the source's weights: the source's best score, on the same validation set.
      const [first] = ft.state.history;
      assert.ok(first);
      assert.equal(first['step'], 0);
      const srcBest = run.state.bestScore!;
      assert.ok(Math.abs(first['valCriterion']! - srcBest) <= 1e-6, `${first['valCriterion']} vs ${srcBest}`);
      assert.deepEqual(ft.normaliser, run.normaliser);
      assert.equal(ft.extra.initFrom?.step, run.extra.bestStep);
      assert.equal(ft.extra.initFrom?.score, srcBest);
      assert.ok(ft.state.bestScore! <= srcBest, 'the fine-tuned best is never worse than its start');
      const id = speechModelId(ft.extra, ft.state);
      assert.ok(id.startsWith(`${speechModelId(run.extra, run.state)}-ft-lr0.00001-seed2-step`), id);
      // The restored best is the source's weights when step 0 stayed best, else the fine-tuned ones.
      const src = await loadBestSpeechCheckpoint(source);
      try {
        const d = maxAbsDiff(weightsOf(ft.model), weightsOf(src.model));
        if (ft.extra.bestStep === 0) assert.ok(d <= 1e-7, `kept weights differ from the source's by ${d}`);
        else assert.ok(d > 0, 'a fine-tuned best differs from the source');
      } finally {
        src.model.dispose();
      }
    } finally {
      ft.model.dispose();
    }
    // The same options resume it; without initFrom the same directory is another configuration.
    const resumedLines: string[] = [];
    const more = await trainSpeechModel(options({ maxSteps: 20, log: (l) => resumedLines.push(l) }));
    more.model.dispose();
    assert.ok(
      resumedLines.some((l) => /resumed from .* at step 10/.test(l)),
      resumedLines.join('\n'),
    );
    assert.equal(more.state.step, 20);
    await assert.rejects(trainSpeechModel(options({ initFrom: undefined })), /another configuration/);
    // Another model, the run's own directory, or an empty one are refused before anything is trained.
    const fresh = path.join(await tempDir(), 'ckpt');
    await assert.rejects(
      trainSpeechModel(
        options({ checkpointDir: fresh, model: { ...TINY, context: 'causal', dropout: 0.3 } }),
      ),
      /is another model — model config .*"dropout":0\.3/,
    );
    await assert.rejects(
      trainSpeechModel(options({ checkpointDir: fresh, target: 'gain' })),
      /is another model — target/,
    );
    await assert.rejects(trainSpeechModel(options({ initFrom: dir })), /the run's own checkpoint directory/);
    await assert.rejects(
      trainSpeechModel(options({ checkpointDir: fresh, initFrom: path.join(fresh, 'none') })),
      /no checkpoint in/,
    );
  });

  test('the data options are recorded by a new run and named in its id', async () => {
    const r = await trainSpeechModel({
      ...(await tinyCausalRun(4, 4)),
      checkpointDir: path.join(await tempDir(), 'ckpt'),
      noiseWeights: { 'car-interior': 3 },
      speedFactors: [0.9, 1.1],
      visualAugment: true,
    });
    try {
      assert.deepEqual(r.extra.mixing, {
        speedFactors: [0.9, 1.1],
        visualAugment: true,
        noiseWeights: { 'car-interior': 3 },
      });
      assert.match(
        speechModelId(r.extra, r.state),
        /-32-32-32-64-drop0-speed0\.9_1\.1-noise-car-interior3-mouthaug-seed1-step4$/,
      );
    } finally {
      r.model.dispose();
    }
    // Each option alone, several weights in name order, and none (the id of a run recorded before them).
    assert.equal(mixingIdPart(undefined), '');
    assert.equal(mixingIdPart({}), '');
    assert.equal(mixingIdPart({ extraShare: 0.1 }), '-extra0.1');
    assert.equal(mixingIdPart({ noiseWeights: { street: 2, babble: 0.5 } }), '-noise-babble0.5-street2');
    assert.equal(
      mixingIdPart({ speedFactors: [1], noiseWeights: { engine: 2 }, extraShare: 0.2, visualAugment: true }),
      '-speed1-noise-engine2-extra0.2-mouthaug',
    );
  });

  test('centred mouth input: recorded, named and put in the sidecar; input and lip target centred; bad τ refused', async () => {
    // The training loop centres what it trains and validates on (every talking-face mixture it prepares).
    const alpha = centringAlpha(0.5, 128 / 16_000);
    const checked = { train: 0, validation: 0 };
    const centredDir = path.join(await tempDir(), 'ckpt');
    const r = await trainSpeechModel({
      ...(await tinyCausalRun(2, 2)),
      checkpointDir: centredDir,
      visualCentreS: 0.5,
      onPrepared: (mix, p, use) => {
        if (mix.mouth === undefined) return;
        assert.deepEqual(p.mouth, centreAlignedMouth(mix.mouth, alpha).data);
        checked[use]++;
      },
    });
    assert.ok(checked.train > 0 && checked.validation > 0, JSON.stringify(checked));
    try {
      assert.deepEqual(r.extra.mixing, { visualCentreS: 0.5 });
      assert.match(speechModelId(r.extra, r.state), /-mouthcentre0\.5-seed1-step2$/);
      const meta = trainedSpeechModelMeta(r.extra, r.state, {});
      assert.deepEqual(meta.visualInput, { kind: 'centred', timeConstantS: 0.5 });
      assert.equal(trainedSpeechModelMeta({ ...r.extra, mixing: {} }, r.state, {}).visualInput, undefined);
    } finally {
      r.model.dispose();
    }
    await assert.rejects(
      trainSpeechModel({
        ...(await tinyCausalRun(2, 2)),
        checkpointDir: path.join(await tempDir(), 'ckpt'),
        visualCentreS: 0,
      }),
      /visual centring time constant 0/,
    );
    assert.equal(mixingIdPart({ visualAugment: true, visualCentreS: 1 }), '-mouthaug-mouthcentre1');
    // A fine-tuning run must centre as its source did.
    await assert.rejects(
      trainSpeechModel({
        ...(await tinyCausalRun(2, 2)),
        checkpointDir: path.join(await tempDir(), 'ckpt'),
        initFrom: centredDir,
      }),
      /is another model — visual centring \(s\): null here, 0\.5 in the source/,
    );

    // A talking-face mixture: the prepared mouth (the model input and the lip target) is the centred crops.
    const { train } = await pools(LIVE_STFT_512_128);
    const mixer = new SpeechMixer(SPLIT, 'train', train, { seed: 3 });
    let mix = mixer.next();
    while (mix.mouth === undefined) mix = mixer.next();
    const c = resolveAvdcnnConfig({ ...TINY, context: 'causal' });
    const norm = fitSpeechNormaliser([mix], LIVE_STFT_512_128, 1);
    const target = { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB } as const;
    const raw = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 0, target);
    const centred = prepareMixture(mix, LIVE_STFT_512_128, norm, c, 0, target, 0.5);
    assert.deepEqual(raw.mouth, mix.mouth.data);
    assert.deepEqual(centred.mouth, centreAlignedMouth(mix.mouth, centringAlpha(0.5, 128 / 16_000)).data);
    assert.deepEqual(centred.present, mix.mouth.present);
    assert.notDeepEqual(centred.mouth, raw.mouth);
    assert.deepEqual(centred.clean, raw.clean);
  });

  test('asymmetric loss (underWeight): trains and validates on it, named in the id and log; refused with another target', async () => {
    const base = await tinyCausalRun(6, 6);
    await assert.rejects(
      trainSpeechModel({ ...base, checkpointDir: path.join(await tempDir(), 'ckpt'), underWeight: 1 }),
      /underWeight needs the 'gain' target/,
    );
    for (const bad of [0, -1, 11, Number.NaN])
      await assert.rejects(
        trainSpeechModel({
          ...base,
          checkpointDir: path.join(await tempDir(), 'ckpt'),
          target: 'gain',
          underWeight: bad,
        }),
        /under-estimation weight .* must be in \(0, 10\]/,
      );
    const lines: string[] = [];
    const dir = path.join(await tempDir(), 'ckpt');
    const r = await trainSpeechModel({
      ...base,
      checkpointDir: dir,
      target: 'gain',
      underWeight: 1,
      log: (l) => lines.push(l),
    });
    try {
      assert.deepEqual(r.extra.target, { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB, underWeight: 1 });
      assert.match(speechModelId(r.extra, r.state), /-drop0-gain-uw1-seed1-step6$/);
      assert.ok(
        lines.some((l) => /a gain below its target costs 2×/.test(l)),
        lines.join('\n'),
      );
      // Resuming with another β, or without it, is another configuration.
      for (const other of [{}, { underWeight: 2 }])
        await assert.rejects(
          trainSpeechModel({ ...base, checkpointDir: dir, target: 'gain', maxSteps: 8, ...other }),
          /another configuration/,
        );
    } finally {
      r.model.dispose();
    }
  });

  test('signal-weighted gain target: trains and validates on the weighted MSE; refused with another target', async () => {
    const base = await tinyCausalRun(6, 6);
    await assert.rejects(
      trainSpeechModel({ ...base, checkpointDir: path.join(await tempDir(), 'ckpt'), signalWeight: 0.5 }),
      /signalWeight needs the 'gain' target/,
    );
    const lines: string[] = [];
    const dir = path.join(await tempDir(), 'ckpt');
    const r = await trainSpeechModel({
      ...base,
      checkpointDir: dir,
      target: 'gain',
      signalWeight: 0.5,
      log: (l) => lines.push(l),
    });
    try {
      assert.equal(r.state.step, 6);
      assert.deepEqual(r.extra.target, { kind: 'gain', gainFloorDb: LOG_GAIN_FLOOR_DB, signalWeight: 0.5 });
      assert.match(speechModelId(r.extra, r.state), /-32-32-32-64-drop0-gain-sw0\.5-seed1-step6$/);
      assert.ok(run !== undefined && !speechModelId(run.extra, run.state).includes('-sw'), 'unweighted id');
      // The target is named (none for the default log-gain), and G_min when it is not the default.
      assert.match(speechModelId(run.extra, run.state), /-32-32-32-64-drop0-seed1-step\d+$/);
      const other = (target: SpeechTrainExtra['target']): string =>
        speechModelId(
          { ...r.extra, ...(target !== undefined ? { target } : { target: undefined }) },
          r.state,
        );
      assert.match(other({ kind: 'gain', gainFloorDb: -30 }), /-64-drop0-gain-floor-30-seed1/);
      // Dropout is named when it is not the paper's 0.1 (the base options train with 0, as above).
      const withDropout = (dropout: number): string =>
        speechModelId({ ...r.extra, config: { ...r.extra.config, dropout } }, r.state);
      assert.match(withDropout(0.3), /-32-32-32-64-drop0\.3-gain-sw0\.5-seed1-step6$/);
      assert.ok(!withDropout(AVDCNN_DEFAULTS.dropout).includes('-drop'), 'the default dropout is not named');
      assert.match(other({ kind: 'ln-power' }), /-64-drop0-lnpower-seed1/);
      assert.match(other(undefined), /-64-drop0-lnpower-seed1/);
      // Resuming the weighted run without the weighting (or with another Q) is another configuration.
      for (const other of [{}, { signalWeight: 1 }])
        await assert.rejects(
          trainSpeechModel({ ...base, checkpointDir: dir, target: 'gain', maxSteps: 8, ...other }),
          /another configuration/,
        );
      assert.ok(
        lines.some((l) => /loss weighted by noisy power\^0\.5/.test(l)),
        lines.join('\n'),
      );
      const h = r.state.history[0]!;
      assert.ok(Number.isFinite(h['valPassthrough']) && h['valPassthrough']! > 0);
    } finally {
      r.model.dispose();
    }
  });

  test('weight average: validated, kept as best and exported; training itself unchanged; resumes exactly', async () => {
    const small = await tinyCausalRun(4, 12);
    const base = (dir: string): SpeechTrainOptions => ({
      ...small,
      checkpointDir: dir,
      target: 'gain',
      checkpointEvery: 2,
      patience: 100,
    });
    const latestOf = async (dir: string, which: 'raw' | 'average'): Promise<Float32Array[]> => {
      const m = buildAvdcnn(resolveAvdcnnConfig({ ...TINY, context: 'causal' }), 1);
      try {
        assert.ok(
          await new CheckpointStore(dir).loadLatest(m, undefined, { weights: which }),
          'latest checkpoint',
        );
        return weightsOf(m);
      } finally {
        m.dispose();
      }
    };

    // Interrupted at step 5 and resumed to 12, against an uninterrupted run, against a run without the average.
    const dirA = path.join(await tempDir(), 'ckpt');
    const dirC = path.join(await tempDir(), 'ckpt');
    const dirPlain = path.join(await tempDir(), 'ckpt');
    const abort = new AbortController();
    const lines: string[] = [];
    const a1 = await trainSpeechModel({
      ...base(dirA),
      averageDecay: 0.9,
      signal: abort.signal,
      log: (l) => lines.push(l),
      onStep: (step) => {
        if (step === 5) abort.abort();
      },
    });
    assert.equal(a1.status, 'interrupted');
    a1.model.dispose();
    assert.ok(
      lines.some((l) => /validates the weights' moving average \(decay 0\.9\)/.test(l)),
      'log line',
    );
    const a = await trainSpeechModel({ ...base(dirA), averageDecay: 0.9 });
    const c = await trainSpeechModel({ ...base(dirC), averageDecay: 0.9 });
    const plain = await trainSpeechModel(base(dirPlain));
    try {
      for (const r of [a, c, plain]) assert.equal(r.state.step, 12);
      // The average does not change what the optimiser does: the raw weights are the plain run's.
      const rawVsPlain = maxAbsDiff(await latestOf(dirC, 'raw'), await latestOf(dirPlain, 'raw'));
      assert.ok(rawVsPlain <= 1e-6, `raw weights with and without the average differ by ${rawVsPlain}`);
      // A resumed run carries the average on exactly.
      const rawResumed = maxAbsDiff(await latestOf(dirA, 'raw'), await latestOf(dirC, 'raw'));
      assert.ok(rawResumed <= 1e-6, `resumed raw weights differ by ${rawResumed}`);
      const averageResumed = maxAbsDiff(await latestOf(dirA, 'average'), await latestOf(dirC, 'average'));
      assert.ok(averageResumed <= 1e-6, `resumed average differs by ${averageResumed}`);
      assert.equal(a.state.history.length, c.state.history.length, 'validation rounds after the resume');
      a.state.history.forEach((h, i) =>
        assert.ok(
          Math.abs(h['valCriterion']! - c.state.history[i]!['valCriterion']!) <= 1e-6,
          `validation ${i} after the resume`,
        ),
      );
      // The average is not the raw weights, and the validation saw the average.
      const averageVsRaw = maxAbsDiff(await latestOf(dirC, 'average'), await latestOf(dirC, 'raw'));
      assert.ok(averageVsRaw > 1e-4, `the average is the raw weights (${averageVsRaw})`);
      // …and it followed the training: nearer the last weights than the initial ones are.
      const init = buildAvdcnn(c.config, 1);
      const initVsRaw = maxAbsDiff(weightsOf(init), await latestOf(dirC, 'raw'));
      init.dispose();
      assert.ok(averageVsRaw < 0.5 * initVsRaw, `average ${averageVsRaw} vs initial weights ${initVsRaw}`);
      const items = buildEvaluationSet(SPLIT, 'validation', small.validation, { snrsDb: [-5, 0, 5] }).map(
        (m) => prepareMixture(m, LIVE_STFT_512_128, c.normaliser, c.config, 0, c.extra.target!),
      );
      const refs = validationRefs(items, 128);
      const best = c.extra.bestStep!;
      const recorded = c.state.history.find((h) => h['step'] === best)!['valCriterion']!;
      const atBest = async (weights: 'raw' | 'average'): Promise<number> => {
        const m = buildAvdcnn(c.config, 1);
        try {
          assert.ok(await new CheckpointStore(dirC).loadBest(m, undefined, { weights }), 'best checkpoint');
          return (await validateSpeechModel(m, items, refs, c.config, contextSpecOf(c.config))).criterion;
        } finally {
          m.dispose();
        }
      };
      assert.ok(
        Math.abs((await atBest('average')) - recorded) <= 1e-6,
        'the recorded criterion is the average',
      );
      assert.ok(Math.abs((await atBest('raw')) - recorded) > 1e-6, 'and not the raw weights');
      // The returned (exported) model is the best average, as is the export-only path's.
      const exported = await loadBestSpeechCheckpoint(dirC);
      try {
        assert.equal(maxAbsDiff(weightsOf(c.model), weightsOf(exported.model)), 0);
        assert.equal(
          (await validateSpeechModel(c.model, items, refs, c.config, contextSpecOf(c.config))).criterion,
          recorded,
        );
      } finally {
        exported.model.dispose();
      }
      assert.equal(c.extra.averageDecay, 0.9);
      assert.match(speechModelId(c.extra, c.state), /-gain-ema0\.9-seed1-step\d+$/);
      assert.ok(!speechModelId(plain.extra, plain.state).includes('-ema'), 'plain id');
      // Another decay, or none, is another configuration.
      for (const other of [{}, { averageDecay: 0.99 }])
        await assert.rejects(
          trainSpeechModel({ ...base(dirC), maxSteps: 14, ...other }),
          /another configuration/,
        );
      await assert.rejects(trainSpeechModel({ ...base(dirC), averageDecay: 1 }), /in \(0, 1\)/);
    } finally {
      for (const r of [a, c, plain]) r.model.dispose();
    }
  });

  test('export: ONNX + sidecar (normaliser, STFT, context, history), parity ≤ 1e-4, report', async () => {
    assert.ok(run);
    const onnxPath = path.join(runDir, 'model', 'avdcnn-causal.onnx');
    // The serving side's reader accepts it (schema and graph shapes checked).
    const { report, meta, sidecar } = await exportAndRead(run, onnxPath);
    assert.equal(meta.model.context, 'causal');
    assert.equal(meta.stft.hop, 128);
    assert.equal(meta.normalization.kind, 'global');
    assert.deepEqual(meta.target, logGainTrainTarget(-25));
    assert.equal(meta.output, 'mask');
    if (meta.normalization.kind === 'global')
      assert.deepEqual(meta.normalization.std, run.normaliser.input.std);
    // A checkpoint of the ln-power target (or from before targets were recorded) exports as before.
    const old = trainedSpeechModelMeta({ ...run.extra, target: { kind: 'ln-power' } }, run.state, {});
    assert.equal(old.target?.kind, 'global');
    assert.equal(old.output, 'spectrum');
    if (old.target?.kind === 'global') assert.deepEqual(old.target.mean, run.normaliser.target.mean);
    const training = meta.training!;
    assert.equal(training['splitHash'], SPLIT.hash);
    assert.equal(training['algorithmicDelayMs'], 40);
    assert.deepEqual(training['context'], { mode: 'causal', past: 4, future: 0, currentFrameIndex: 4 });
    assert.equal((training['history'] as unknown[]).length, 2);
    assert.deepEqual(
      sidecar.inputs.map((i) => i.name),
      ['audio', 'visual'],
    );
    const raw = JSON.parse(await readFile(sidecarPathFor(onnxPath), 'utf8')) as OnnxSidecar;
    assert.deepEqual(raw.metadata['speech'], meta);
    const written = JSON.parse(await readFile(reportPathFor(onnxPath), 'utf8')) as SpeechTrainingReport;
    assert.equal(written.steps, 40);
    assert.equal(written.id, report.id);
    // --export-only path: the best checkpoint gives the same weights as the restored model.
    const loaded = await loadBestSpeechCheckpoint(path.join(runDir, 'ckpt'));
    try {
      assert.ok(maxAbsDiff(weightsOf(loaded.model), weightsOf(run.model)) === 0);
      assert.equal(loaded.extra.bestStep, run.extra.bestStep);
      // The data description travels in the checkpoint, for the export's report.
      assert.deepEqual(loaded.extra.data, { corpus: 'committed test fixtures' });
    } finally {
      loaded.model.dispose();
      run.model.dispose();
    }
  });

  test('kill at step 4 and resume to 8 = an uninterrupted 8-step run (example order, weights ≤ 1e-6)', async () => {
    const { train, validation } = await pools(AVDCNN_STFT);
    const base = (dir: string): SpeechTrainOptions => ({
      split: SPLIT,
      train,
      validation,
      model: { ...TINY, context: 'symmetric', visualAbsentProbability: 0.4 },
      checkpointDir: dir,
      batchSize: 8,
      roundMixtures: 1, // 6000 samples → 19 frames at hop 320: two batches a round, so rounds turn over
      normMixtures: 4,
      validationEvery: 3,
      validationFrames: 64,
      checkpointEvery: 2,
      patience: 100,
      maxSteps: 8,
      gainDb: 6,
      target: 'ln-power', // the first run's target (the default log-gain one is trained above)
    });
    const dirA = path.join(await tempDir(), 'ckpt');
    const dirC = path.join(await tempDir(), 'ckpt');
    const order = (sink: Map<number, string[]>) => (step: number, ids: readonly string[]) =>
      sink.set(step, [...ids]);

    const abort = new AbortController();
    const seenA = new Map<number, string[]>();
    const a = await trainSpeechModel({
      ...base(dirA),
      signal: abort.signal,
      data: { corpus: 'first invocation' },
      onBatch: order(seenA),
      onStep: (step) => {
        if (step === 4) abort.abort();
      },
    });
    assert.equal(a.status, 'interrupted');
    assert.equal(a.state.step, 4);
    a.model.dispose();

    const seenB = new Map<number, string[]>();
    const lines: string[] = [];
    const b = await trainSpeechModel({ ...base(dirA), onBatch: order(seenB), log: (l) => lines.push(l) });
    assert.ok(lines.some((l) => /resumed from .* at step 4/.test(l)));
    assert.deepEqual(b.extra.data, { corpus: 'first invocation' }); // kept when the resume gives none
    assert.deepEqual([...seenB.keys()], [5, 6, 7, 8]);

    const seenC = new Map<number, string[]>();
    const c = await trainSpeechModel({ ...base(dirC), onBatch: order(seenC) });
    assert.equal(b.status, 'max-steps');
    assert.equal(c.status, 'max-steps');
    for (let s = 1; s <= 8; s++)
      assert.deepEqual(s <= 4 ? seenA.get(s) : seenB.get(s), seenC.get(s), `step ${s}`);
    assert.equal(b.extra.examples, c.extra.examples);
    assert.deepEqual(b.state.rng, c.state.rng);
    assert.equal(b.extra.roundMixerPosition, c.extra.roundMixerPosition);
    // Latest weights of both runs (step 8), and the validation history.
    const latest = async (dir: string): Promise<Float32Array[]> => {
      const m = buildAvdcnn(c.config, 1);
      try {
        assert.ok(await new CheckpointStore(dir).loadLatest(m));
        return weightsOf(m);
      } finally {
        m.dispose();
      }
    };
    const diff = maxAbsDiff(await latest(dirA), await latest(dirC));
    assert.ok(diff <= 1e-6, `weights differ by ${diff}`);
    assert.equal(b.state.history.length, c.state.history.length);
    b.state.history.forEach((h, i) =>
      assert.ok(Math.abs(h['valCriterion']! - c.state.history[i]!['valCriterion']!) <= 1e-6),
    );
    b.model.dispose();
    c.model.dispose();

    // Another configuration on the same checkpoint directory is refused: another seed, dropout or context.
    await assert.rejects(trainSpeechModel({ ...base(dirA), seed: 2 }), /another configuration/);
    for (const change of [{ dropout: 0.3 }, { contextFrames: 7 }])
      await assert.rejects(
        trainSpeechModel({ ...base(dirA), model: { ...base(dirA).model, ...change } }),
        /another configuration/,
        JSON.stringify(change),
      );
  });
});
