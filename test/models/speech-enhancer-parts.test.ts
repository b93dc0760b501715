/**
 * The speech enhancer's parts on their own: the camera path of a segment (camera-input.ts), a model's head
 * (head.ts) and the front-end rules (front-end.ts). The enhancer's own tests hold them composed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CameraInput, emptyCameraStats } from '../../src/models/speech/camera-input.ts';
import type { SpeechEnhancerCameraStats } from '../../src/models/speech/camera-input.ts';
import { frontEndMismatch, servingMode } from '../../src/models/speech/front-end.ts';
import { createHead, headAudioInput, headLogPower, runHead } from '../../src/models/speech/head.ts';
import { MaskChain } from '../../src/models/speech/mask/chain.ts';
import { SERVING_NONE } from '../../src/models/speech/mask/settings.ts';
import { centringAlpha } from '../../src/models/speech/mouth-centring.ts';
import { CAUSAL_CONTEXT } from '../../src/streams/features/audio/context.ts';
import { DEFAULT_NOISE_FLOOR } from '../../src/streams/features/audio/noise-floor.ts';
import { RunningNormalizer } from '../../src/streams/features/audio/normalize.ts';
import { DEFAULT_PRIOR_SNR } from '../../src/streams/features/audio/prior-snr.ts';
import { gainModelMeta } from '../support/speech-meta.ts';

const cameraStats = emptyCameraStats;
const crop = (tUs: number, v: number, pixels = 4) => ({ tUs, data: new Float32Array(pixels).fill(v) });

describe('speech enhancer parts: the camera path of a segment', () => {
  const camera = (stats: SpeechEnhancerCameraStats, centring?: number) =>
    new CameraInput(
      {
        pixels: 4,
        context: CAUSAL_CONTEXT,
        maxGapUs: 100_000,
        ...(centring !== undefined
          ? { centring: { input: { kind: 'centred', timeConstantS: centring }, hopS: 0.008 } }
          : {}),
      },
      stats,
    );

  it('holds the latest crop at or before each audio frame for up to maxGapUs, then gives zeros', () => {
    const stats = cameraStats();
    const c = camera(stats);
    c.intake([crop(0, 0.25), crop(40_000, 0.5)]);
    const newest = (tUs: number) => c.next(tUs).visual[0]!.features.subarray(16);
    assert.deepEqual([...newest(10_000)], [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual([...newest(40_000)], [0.5, 0.5, 0.5, 0.5], 'a frame at the centre time is used');
    assert.deepEqual([...newest(140_000)], [0.5, 0.5, 0.5, 0.5], 'held exactly maxGapUs');
    assert.deepEqual([...newest(140_001)], [0, 0, 0, 0], 'older than maxGapUs: the camera-absent input');
    assert.equal(stats.audioFramesWithVisual, 3);
    assert.equal(stats.audioFramesWithoutVisual, 1);
  });

  it('stacks the camera presence with the causal context, oldest first', () => {
    const c = camera(cameraStats());
    c.intake([crop(20_000, 1)]);
    const presence = [0, 10_000, 20_000, 30_000, 130_000].map((t) => [...c.next(t).presence[0]!.features]);
    assert.deepEqual(presence.at(-1), [0, 0, 1, 1, 0]);
    assert.deepEqual(c.flush(), { visual: [], presence: [] }, 'no look-ahead: nothing is held at the end');
  });

  it('drops late, reordered and wrong-size frames, counted, without disturbing the frames it holds', () => {
    const stats = cameraStats();
    const c = camera(stats);
    c.intake([crop(0, 0.25), crop(30_000, 0.5)]);
    c.next(20_000);
    c.intake([
      crop(20_000, 0.9), // at the newest audio frame's centre: late
      crop(10_000, 0.9), // before it: late
      crop(25_000, 0.9), // after it, but before the newest frame accepted: out of order
      crop(50_000, 0.9, 5), // wrong size
      crop(60_000, 0.75),
    ]);
    assert.deepEqual({ received: stats.received, accepted: stats.accepted }, { received: 7, accepted: 3 });
    assert.deepEqual(
      { late: stats.late, outOfOrder: stats.outOfOrder, badSize: stats.badSize },
      { late: 2, outOfOrder: 1, badSize: 1 },
    );
    assert.deepEqual([...c.next(40_000).visual[0]!.features.subarray(16)], [0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual([...c.next(60_000).visual[0]!.features.subarray(16)], [0.75, 0.75, 0.75, 0.75]);
  });

  it('centred crops: each crop minus the running mean it updates, zeros without a crop', () => {
    const c = camera(cameraStats(), 0.05);
    const alpha = centringAlpha(0.05, 0.008);
    c.intake([crop(0, 0.5), crop(8_000, 0.5), crop(16_000, 0.8)]);
    const v = (t: number) => c.next(t).visual[0]!.features[16]!;
    assert.equal(v(0), 0, 'the first crop is its own mean');
    assert.ok(Math.abs(v(8_000)) < 1e-7, 'a still mouth centres to zero');
    assert.ok(Math.abs(v(16_000) - 0.3 * (1 - alpha)) < 1e-6, 'a move of 0.3 shows as 0.3·(1 − α)');
    assert.equal(v(200_000), 0, 'no crop: zeros');
  });
});

describe('speech enhancer parts: a head', () => {
  const bins = 257;
  const head = (normalization = gainModelMeta().normalization) =>
    createHead(
      {
        meta: gainModelMeta({}, normalization),
        runModel: (b) => Promise.resolve({ clean: new Float32Array(b.size * bins).fill(0.5) }),
      },
      {},
      { bins, frameRateHz: 125 },
    );

  it('normalises its input as the model was trained: none (a copy) or global statistics', () => {
    const x = new Float32Array(bins).map((_, k) => k);
    const none = headAudioInput(head(), x, []);
    assert.deepEqual(none, x);
    assert.notEqual(none, x, 'a copy');
    const global = head({
      kind: 'global',
      mean: new Array<number>(bins).fill(10),
      std: new Array<number>(bins).fill(2),
    });
    assert.equal(headAudioInput(global, x, [])[30], 10);
  });

  it('runHead batches the examples in order; a throw or the wrong number of values is an error, not a crash', async () => {
    const seen: number[] = [];
    const h = head();
    const ok = await runHead(
      {
        ...h,
        runModel: (b) => (seen.push(...b.audio), Promise.resolve({ clean: new Float32Array(2 * bins) })),
      },
      [Float32Array.of(1, 2), Float32Array.of(3, 4)],
      new Float32Array(0),
      bins,
    );
    assert.ok('clean' in ok);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    const short = await runHead(
      { ...h, runModel: () => Promise.resolve({ clean: new Float32Array(3) }) },
      [Float32Array.of(1)],
      new Float32Array(0),
      bins,
    );
    assert.deepEqual(short, { error: `the model returned 3 values for 1 frames × ${bins} bins` });
    const thrown = await runHead(
      { ...h, runModel: () => Promise.reject(new Error('boom')) },
      [Float32Array.of(1)],
      new Float32Array(0),
      bins,
    );
    assert.deepEqual(thrown, { error: 'boom' });
  });

  it('headLogPower: a failed run passes x; a gain of 0.5 lowers ln power by ln 4; non-finite values count', () => {
    const h = head();
    const chain = new MaskChain({
      settings: SERVING_NONE,
      trainingFloorLog: h.trainingFloorLog,
      hopS: 0.008,
    });
    const x = new Float32Array(bins).fill(-3);
    const synthesis = { frames: 5, decoded: new Float64Array(bins), maxLogPower: 10 };
    assert.equal(headLogPower(h, chain, x, undefined, 0, synthesis).logPower, x);
    const half = headLogPower(h, chain, x, new Float32Array(bins).fill(0.5), 0, synthesis);
    assert.ok(Math.abs(half.logPower[7]! - (-3 - Math.log(4))) < 1e-6);
    assert.equal(half.nonFinite, 0);
    const bad = new Float32Array(bins).fill(0.5);
    bad[3] = NaN;
    assert.equal(headLogPower(h, chain, x, bad, 0, synthesis).nonFinite, 1);
  });

  it('headLogPower in spectrum mode (no chain) caps the decoded ln power', () => {
    const h = head();
    const x = new Float32Array(bins).fill(20);
    const y = headLogPower(h, undefined, x, new Float32Array(bins).fill(1), 0, {
      frames: 5,
      decoded: new Float64Array(bins),
      maxLogPower: 12,
    });
    assert.equal(y.logPower[0], 12);
  });

  it('headLogPower: the camera-mode strength by the crops in the context (G^α, α from 1 to 1.8 over 5 frames)', () => {
    const h = createHead(
      { meta: gainModelMeta(), runModel: () => Promise.reject(new Error('unused')) },
      { maskStrength: 1, maskStrengthVisual: 1.8 },
      { bins, frameRateHz: 125 },
    );
    const chain = new MaskChain({ settings: h.serving, trainingFloorLog: h.trainingFloorLog, hopS: 0.008 });
    const synthesis = { frames: 5, decoded: new Float64Array(bins), maxLogPower: 10 };
    const x = new Float32Array(bins).fill(0);
    const at = (crops: number) =>
      headLogPower(h, chain, x, new Float32Array(bins).fill(0.5), crops, synthesis).logPower[9]!;
    // ln power of a gain G^α: 2α·ln 0.5; α = 1 + 0.8·crops/5 (mask/strength.ts frameStrength).
    for (const crops of [0, 1, 5]) {
      const alpha = 1 + (0.8 * crops) / 5;
      assert.ok(Math.abs(at(crops) - 2 * alpha * Math.log(0.5)) < 1e-5, `${crops} crops: ${at(crops)}`);
    }
  });

  it('headAudioInput: a running normaliser (causal statistics, per head) and the noise-aware channels interleaved per bin', () => {
    const running = head({ kind: 'running', timeConstantS: 3, stdFloor: 0.01 });
    const reference = new RunningNormalizer({ bins, frameRateHz: 125, timeConstantS: 3, stdFloor: 0.01 });
    for (let t = 0; t < 4; t++) {
      const x = new Float32Array(bins).map((_, k) => Math.sin(k + t) * 3 - t);
      assert.deepEqual(headAudioInput(running, x, []), reference.normalize(x), `frame ${t}`);
    }
    const stats = (m: number, sd: number) => ({
      mean: new Array<number>(bins).fill(m),
      std: new Array<number>(bins).fill(sd),
    });
    const base = gainModelMeta();
    const aware = createHead(
      {
        meta: {
          ...base,
          model: { ...base.model, audioChannels: 3 },
          noiseAware: {
            ...DEFAULT_NOISE_FLOOR,
            ...stats(1, 2),
            prior: { ...DEFAULT_PRIOR_SNR, ...stats(-1, 4) },
          },
        },
        runModel: () => Promise.reject(new Error('unused')),
      },
      {},
      { bins, frameRateHz: 125 },
    );
    const z = headAudioInput(aware, new Float32Array(bins).fill(7), [
      new Float32Array(bins).fill(5),
      new Float32Array(bins).fill(3),
    ]);
    assert.equal(z.length, 3 * bins);
    // Per bin: the ln power (no normalisation), (5 − 1) / 2, (3 + 1) / 4.
    assert.deepEqual([...z.subarray(0, 6)], [7, 2, 1, 7, 2, 1]);
  });
});

describe('speech enhancer parts: the front end', () => {
  it('frontEndMismatch names what differs, with both values; undefined when nothing does', () => {
    const a = gainModelMeta();
    assert.equal(frontEndMismatch(a, gainModelMeta()), undefined);
    const b = { ...a, visualInput: { kind: 'centred', timeConstantS: 0.5 } } as const;
    assert.equal(
      frontEndMismatch(a, b),
      'they differ in visualInput: {"kind":"centred","timeConstantS":0.5} vs undefined',
    );
  });

  it('servingMode: the option, else the metadata, else mask for gain targets; anything else refused', () => {
    const gain = gainModelMeta();
    assert.equal(servingMode(gain, undefined), 'mask');
    assert.equal(servingMode(gain, 'spectrum'), 'spectrum');
    assert.equal(servingMode({ ...gain, output: 'spectrum' }, undefined), 'spectrum');
    assert.equal(servingMode({ ...gain, target: { kind: 'raw' } }, undefined), 'spectrum');
    assert.throws(() => servingMode(gain, 'wiener' as 'mask'), /mode "wiener" \(spectrum or mask\)/);
  });
});
