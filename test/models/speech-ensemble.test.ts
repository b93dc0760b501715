/**
 * The ensemble of speech enhancers (src/models/speech/ensemble.ts): its manifest, the averaging of the
 * members' chunks and statistics, and the whole path through ONNX Runtime (two small random models: the
 * ensemble's output is the mean of the members' own outputs, in one chunk or in 20 ms chunks, whether the
 * members share one front end, `SpeechEnhancer.ensemble`, or not, `EnsembleEnhancer`; the committed
 * noise-aware ensemble likewise; `drivesense enhance` takes the manifest like a model file).
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveOnnxModel } from '../../src/models/common/onnx-export.ts';
import { buildAvdcnn, resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import type { AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import { frontEndKey, sharesFrontEnd } from '../../src/models/speech/front-end.ts';
import { DEFAULT_SPP_NOISE } from '../../src/streams/features/audio/spp-noise.ts';
import type {
  SpeechEnhancerOptions,
  EnhancedChunk,
  SpeechEnhancerStats,
  StreamingSpeechEnhancer,
} from '../../src/models/speech/enhancer.ts';
import type { MouthFrame } from '../../src/models/speech/camera-input.ts';
import type { SpeechModelRunner } from '../../src/models/speech/head.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  SPEECH_CAR_FOUR_ENSEMBLE_PATH,
  SPEECH_CAR_FOUR_INT8_ENSEMBLE_PATH,
  SPEECH_ENSEMBLE_PATH,
  SPEECH_GENERAL_ENSEMBLE_PATH,
  SPEECH_GENERAL_INT8_ENSEMBLE_PATH,
  SPEECH_CAR_PAIR_ENSEMBLE_PATH,
  SPEECH_CAR_PAIR_INT8_ENSEMBLE_PATH,
  SPEECH_CAR_MINSTAT_ENSEMBLE_PATH,
  SPEECH_CAR_MINSTAT_INT8_ENSEMBLE_PATH,
  loadSpeechEnhancerModel,
} from '../../src/models/speech/enhancer-onnx.ts';
import { quantizedPathFor } from '../../src/models/common/onnx-quantize.ts';
import { DEFAULT_SPEECH_MODEL } from '../../src/config/schema.ts';
import {
  EnsembleEnhancer,
  averageChunks,
  mergeStats,
  parseEnsembleManifest,
} from '../../src/models/speech/ensemble.ts';
import { readSpeechModelMeta, speechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { enhanceFile } from '../../src/cli/commands/enhance.ts';
import { LIVE_STFT_512_128 } from '../../src/streams/features/audio/stft.ts';
import { DEFAULT_NOISE_FLOOR } from '../../src/streams/features/audio/noise-floor.ts';
import { DEFAULT_PRIOR_SNR } from '../../src/streams/features/audio/prior-snr.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { readWavFile, writeWavFile } from '../../src/streams/readers/wav.ts';
import { noisySpeechFixture } from '../support/speech-fixtures.ts';
import { maxAbsDiff, randomizeWeights } from './helpers.ts';

const chunk = (tUs: number, samples: number[], startSample = 0, segment = 0): EnhancedChunk => ({
  tUs,
  sampleRateHz: 16_000,
  samples: Float32Array.from(samples),
  segment,
  startSample,
});

async function runsOf(e: StreamingSpeechEnhancer, x: Float32Array): Promise<number> {
  await enhanceSamples(e, x, 320);
  return e.stats().modelRuns;
}

describe('speech ensemble: manifest, averaging, statistics', () => {
  it('reads a manifest and refuses a wrong format, version, fewer than two members, a nested or repeated member', () => {
    const ok = { format: 'drivesense.speech-ensemble', version: 1, members: ['a.onnx', 'b.onnx'] };
    assert.deepEqual(parseEnsembleManifest(ok, 'm.json').members, ['a.onnx', 'b.onnx']);
    const bad = (v: unknown, re: RegExp) => assert.throws(() => parseEnsembleManifest(v, 'm.json'), re);
    bad([], /m\.json: not a JSON object/);
    bad({ ...ok, format: 'x' }, /format must be "drivesense\.speech-ensemble"/);
    bad({ ...ok, version: 2 }, /version must be 1/);
    bad({ ...ok, members: 'a.onnx' }, /members must be a list of model file names/);
    bad({ ...ok, members: ['a.onnx', ''] }, /members must be a list/);
    bad({ ...ok, members: ['a.onnx'] }, /at least two members, got 1/);
    bad({ ...ok, members: ['a.onnx', 'b.ensemble.json'] }, /b\.ensemble\.json is itself an ensemble/);
    bad({ ...ok, members: ['a.onnx', 'a.onnx'] }, /a\.onnx is listed twice/);
  });

  it('fuzz: any JSON value is read as a valid manifest or refused with an error that names the manifest', () => {
    const member = fc.oneof(fc.constantFrom('a.onnx', 'b.onnx', 'c.ensemble.json', ''), fc.string());
    const candidate = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          format: fc.oneof(fc.constant('drivesense.speech-ensemble'), fc.jsonValue()),
          version: fc.oneof(fc.constant(1), fc.jsonValue()),
          members: fc.oneof(fc.array(member, { maxLength: 4 }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(candidate, (v) => {
        try {
          const m = parseEnsembleManifest(v, 'fuzz.json');
          assert.ok(m.members.length >= 2 && new Set(m.members).size === m.members.length);
          assert.ok(m.members.every((x) => x !== '' && !x.endsWith('.ensemble.json')));
        } catch (e) {
          assert.ok(e instanceof Error && e.message.startsWith('ensemble manifest fuzz.json: '), String(e));
        }
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('averages lined-up chunks sample by sample and throws when they do not line up', () => {
    const a = [chunk(0, [1, 2]), chunk(125, [3, 4], 2)];
    const b = [chunk(0, [3, 0]), chunk(125, [-3, 0], 2)];
    const out = averageChunks([a, b]);
    assert.deepEqual(
      out.map((c) => [c.tUs, c.startSample, ...c.samples]),
      [
        [0, 0, 2, 1],
        [125, 2, 0, 2],
      ],
    );
    assert.deepEqual(averageChunks([[], []]), []);
    assert.throws(() => averageChunks([a, b.slice(1)]), /do not line up/);
    assert.throws(() => averageChunks([a, [chunk(1, [3, 0]), b[1]!]]), /chunk 0/);
    assert.throws(() => averageChunks([a, [b[0]!, chunk(125, [-3], 2)]]), /chunk 1/);
    assert.throws(() => averageChunks([a, [chunk(0, [3, 0], 0, 1), b[1]!]]), /do not line up/);
    assert.throws(() => averageChunks([]), /no members/);
  });

  it('keeps the first member’s stream counters and sums the model counters', () => {
    const base: SpeechEnhancerStats = {
      chunks: 10,
      refused: 1,
      inputSamples: 3200,
      outputSamples: 2816,
      frames: 22,
      modelRuns: 10,
      modelErrors: 0,
      modelNonFinite: 0,
      nonFinite: 2,
      clipped: 0,
      gaps: 1,
      gapFillSamples: 16,
      resets: 0,
      duplicates: 0,
      overlapSamples: 0,
      segments: 1,
      camera: {
        received: 5,
        accepted: 5,
        late: 0,
        outOfOrder: 0,
        badSize: 0,
        withoutAudio: 0,
        audioFramesWithVisual: 20,
        audioFramesWithoutVisual: 2,
      },
    };
    const failing = { ...base, modelErrors: 2, modelNonFinite: 3, lastModelError: 'boom' };
    const s = mergeStats([base, failing]);
    assert.equal(s.modelRuns, 20);
    assert.equal(s.modelErrors, 2);
    assert.equal(s.modelNonFinite, 3);
    assert.equal(s.lastModelError, 'boom');
    assert.equal(s.chunks, 10);
    assert.equal(s.camera.audioFramesWithVisual, 20);
    assert.equal(mergeStats([base, base]).lastModelError, undefined);
  });
});

describe('speech ensemble: one front end for several models', () => {
  const running = { kind: 'running', timeConstantS: 3, stdFloor: 0.01 } as const;
  const meta = (hop: number) =>
    speechModelMeta(resolveAvdcnnConfig({ context: 'causal' }), { ...LIVE_STFT_512_128, hop }, running, {
      target: { kind: 'gain', gainFloorDb: -25 },
    });
  const unit = (b: { size: number }) => Promise.resolve({ clean: new Float32Array(b.size * 257).fill(1) });

  it('a short key; models that differ are refused with the field that differs; one model is no ensemble', () => {
    assert.ok(frontEndKey(meta(128)).length < 400, 'the key holds no window arrays');
    assert.equal(sharesFrontEnd([meta(128), meta(128)]), true);
    assert.equal(sharesFrontEnd([meta(128), meta(160)]), false);
    // The noise tracker is part of the front end: a floor model and an SPP model do not share one.
    const noiseAware = (spp: boolean) => {
      const m = meta(128);
      const stats = { mean: new Array<number>(257).fill(0), std: new Array<number>(257).fill(1) };
      return {
        ...m,
        model: { ...m.model, audioChannels: 2 },
        noiseAware: { ...DEFAULT_NOISE_FLOOR, ...stats, ...(spp ? { spp: DEFAULT_SPP_NOISE } : {}) },
      };
    };
    assert.equal(sharesFrontEnd([noiseAware(false), noiseAware(false)]), true);
    assert.equal(sharesFrontEnd([noiseAware(true), noiseAware(true)]), true);
    assert.equal(sharesFrontEnd([noiseAware(false), noiseAware(true)]), false);
    assert.throws(
      () =>
        SpeechEnhancer.ensemble([
          { meta: meta(128), runModel: unit },
          { meta: meta(160), runModel: unit },
        ]),
      (e: Error) => /differ in stft: .*"hop":160.* vs .*"hop":128/.test(e.message) && e.message.length < 400,
    );
    assert.throws(
      () => SpeechEnhancer.ensemble([{ meta: meta(128), runModel: unit }]),
      /at least two members/,
    );
    const two = SpeechEnhancer.ensemble(
      [
        { meta: meta(128), runModel: unit },
        { meta: meta(128), runModel: unit },
      ],
      { maskStrength: 0.5 },
    );
    assert.deepEqual(
      two.memberServing.map((s) => s.maskStrength),
      [0.5, 0.5],
    );
  });
});

describe('speech ensemble: one shared front end against one enhancer per member', () => {
  const bins = 257;
  const fill = (v: number) => new Array<number>(bins).fill(v);
  /** A noise-aware member with its own statistics, normalisation and serving settings. */
  const member = (scale: number, extra: Partial<SpeechModelMeta>) =>
    speechModelMeta(
      resolveAvdcnnConfig({ context: 'causal', audioChannels: 3, fc1Units: 16, fc2Units: 16 }),
      LIVE_STFT_512_128,
      scale === 1
        ? { kind: 'running', timeConstantS: 3, stdFloor: 0.01 }
        : { kind: 'global', mean: fill(-8), std: fill(3) },
      {
        target: { kind: 'gain', gainFloorDb: -25 },
        noiseAware: {
          ...DEFAULT_NOISE_FLOOR,
          startHoldFrames: 3,
          mean: fill(scale),
          std: fill(2 * scale),
          prior: { ...DEFAULT_PRIOR_SNR, mean: fill(-scale), std: fill(scale) },
        },
        ...extra,
      },
    );
  /** A deterministic stand-in for a model: the gain from the newest frame's three channels and the mouth. */
  const runner =
    (weight: number): SpeechModelRunner =>
    (b) => {
      const f = 5;
      const aSize = f * bins * 3;
      const vSize = b.visual.length / b.size;
      const clean = new Float32Array(b.size * bins);
      for (let i = 0; i < b.size; i++) {
        let v = 0;
        for (let j = 0; j < vSize; j++) v += b.visual[i * vSize + j]!;
        v /= vSize;
        for (let k = 0; k < bins; k++) {
          const o = i * aSize + ((f - 1) * bins + k) * 3;
          const z = weight * (b.audio[o]! + b.audio[o + 1]! - b.audio[o + 2]!) + 2 * v - 0.3;
          clean[i * bins + k] = 1 / (1 + Math.exp(-z));
        }
      }
      return Promise.resolve({ clean });
    };

  it('the same output, chunk for chunk, and the same counters, through gaps, a reset, duplicates and a camera that stops', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 8000);
    const metas = [
      member(1, { maskStrength: 0.8, maskStrengthVisual: 1.3 }),
      member(2, { maskSmoothingBins: 3, maskSmoothingTime: 0.3, maskFloorDb: -20 }),
    ];
    const runners = [runner(0.7), runner(-0.4)];
    const rng = new SeededRandom(11);
    const mouth: MouthFrame[] = [];
    for (let t = 0; t < 300_000; t += 40_000)
      mouth.push({ tUs: t, data: Float32Array.from({ length: 16 * 24 }, () => rng.uniform(0, 1)) });
    // Chunks: random sizes; a 50 ms gap (filled), a duplicate, then a 2 s jump (a new segment).
    const plan: { from: number; to: number; tUs: number }[] = [];
    let at = 0;
    let offsetUs = 0;
    while (at < x.length) {
      const n = Math.min(x.length - at, 100 + Math.floor(rng.uniform(0, 1) * 700));
      if (at > 2000 && at < 2600) offsetUs = 50_000;
      if (at > 5000) offsetUs = 2_050_000;
      plan.push({ from: at, to: at + n, tUs: offsetUs + (at * 1e6) / 16_000 });
      if (plan.length === 4) plan.push(plan[2]!);
      at += n;
    }
    const run = async (e: StreamingSpeechEnhancer) => {
      const out: EnhancedChunk[] = [];
      for (const c of plan) {
        const endUs = c.tUs + ((c.to - c.from) * 1e6) / 16_000;
        const frames = mouth.filter((m) => m.tUs >= c.tUs && m.tUs < endUs);
        out.push(...(await e.push(x.slice(c.from, c.to), c.tUs, frames)));
      }
      out.push(...(await e.flush()));
      return out;
    };
    const options: SpeechEnhancerOptions = { maxBatchFrames: 7 };
    const shared = SpeechEnhancer.ensemble(
      metas.map((meta, i) => ({ meta, runModel: runners[i]! })),
      options,
    );
    const separate = new EnsembleEnhancer(metas.map((m, i) => new SpeechEnhancer(m, runners[i]!, options)));
    const a = await run(shared);
    const b = await run(separate);
    assert.equal(a.length, b.length);
    a.forEach((c, i) => {
      const d = b[i]!;
      assert.deepEqual(
        [c.tUs, c.segment, c.startSample, c.samples.length],
        [d.tUs, d.segment, d.startSample, d.samples.length],
      );
      assert.ok(maxAbsDiff(c.samples, d.samples) <= 1e-6, `chunk ${i}: ${maxAbsDiff(c.samples, d.samples)}`);
    });
    const sa = shared.stats();
    const sb = separate.stats();
    assert.deepEqual(sa, sb);
    assert.ok(sa.gaps >= 1 && sa.resets === 1 && sa.duplicates === 1, JSON.stringify(sa));
    assert.ok(sa.camera.audioFramesWithVisual > 0 && sa.camera.audioFramesWithoutVisual > 0);
  });
});

describe('speech ensemble: through ONNX Runtime', () => {
  let dir = '';
  const paths: string[] = [];
  let manifest = '';

  /** A small causal AVDCNN of `config` with seeded random weights, saved as DIR/NAME with its speech sidecar. */
  const saveModel = async (config: AvdcnnConfig, seed: number, name: string): Promise<string> => {
    const m = buildAvdcnn(config, seed);
    randomizeWeights(m, seed + 10);
    const path = join(dir, name);
    await saveOnnxModel(m, path, {
      metadata: {
        speech: speechModelMeta(config, LIVE_STFT_512_128, {
          kind: 'running',
          timeConstantS: 3,
          stdFloor: 0.01,
        }),
      },
    });
    m.dispose();
    return path;
  };
  /** DIR/NAME: an ensemble manifest of `members` (relative to DIR). */
  const writeManifest = async (name: string, members: readonly string[]): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify({ format: 'drivesense.speech-ensemble', version: 1, members }));
    return path;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ensemble-'));
    const config = resolveAvdcnnConfig({
      context: 'causal',
      fc1Units: 64,
      fc2Units: 64,
      fcAudioUnits: 64,
      fcVisualUnits: 64,
    });
    for (const seed of [3, 4]) paths.push(await saveModel(config, seed, `small-${seed}.onnx`));
    manifest = await writeManifest('pair.ensemble.json', ['small-3.onnx', 'small-4.onnx']);
  });

  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('serves the mean of its members’ outputs, chunked or whole, and counts both members’ model runs', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 32_000);
    const ensemble = await loadSpeechEnhancerModel(manifest);
    const singles = await Promise.all(paths.map((p) => loadSpeechEnhancerModel(p)));
    try {
      assert.deepEqual(ensemble.members, paths);
      const own = await Promise.all(singles.map((m) => enhanceSamples(m.createEnhancer(), x, 320)));
      assert.ok(maxAbsDiff(own[0]!, own[1]!) > 1e-3, 'the two members differ');
      const mean = own[0]!.map((v, i) => (v + own[1]![i]!) / 2);
      const e = ensemble.createEnhancer();
      assert.ok(e instanceof SpeechEnhancer, 'members with one front end share it');
      assert.equal(e.memberServing.length, 2);
      const by20 = await enhanceSamples(e, x, 320);
      assert.ok(maxAbsDiff(by20, mean) <= 1e-6, `20 ms chunks: ${maxAbsDiff(by20, mean)}`);
      const whole = await enhanceSamples(ensemble.createEnhancer(), x, x.length);
      assert.ok(maxAbsDiff(whole, mean) <= 1e-6, `one chunk: ${maxAbsDiff(whole, mean)}`);
      const s = e.stats();
      const one = singles[0]!.createEnhancer();
      await enhanceSamples(one, x, 320);
      assert.equal(s.modelRuns, 2 * one.stats().modelRuns);
      assert.equal(s.inputSamples, x.length);
      assert.equal(e.delay.ms, one.delay.ms);
      // A refused chunk is refused once, with the members' reason.
      const r = await ensemble.createEnhancer().pushChunk({ samples: x, sampleRateHz: 48_000, tUs: 0 });
      assert.match(r.refused ?? '', /48000 Hz refused/);
    } finally {
      await ensemble.release();
      await Promise.all(singles.map((m) => m.release()));
    }
  });

  it('members whose front ends differ are averaged by EnsembleEnhancer, to the same mean', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 16_000);
    // A copy of member 4 served in mask mode, member 3 in its default spectrum mode.
    const masked = join(dir, 'mask4.onnx');
    await copyFile(paths[1]!, masked);
    const sidecar = JSON.parse(await readFile(`${paths[1]!}.json`, 'utf8')) as {
      metadata: { speech: { output?: string } };
    };
    sidecar.metadata.speech.output = 'mask';
    await writeFile(`${masked}.json`, JSON.stringify(sidecar));
    const ensemble = await loadSpeechEnhancerModel(
      await writeManifest('modes.ensemble.json', ['small-3.onnx', 'mask4.onnx']),
    );
    const singles = await Promise.all([paths[0]!, masked].map((p) => loadSpeechEnhancerModel(p)));
    try {
      assert.equal(frontEndKey(singles[0]!.meta), frontEndKey(singles[1]!.meta));
      assert.equal(sharesFrontEnd([singles[0]!.meta, singles[1]!.meta]), false, 'the modes differ');
      const e = ensemble.createEnhancer();
      assert.ok(e instanceof EnsembleEnhancer);
      assert.deepEqual(
        e.memberServing,
        singles.map((m) => m.createEnhancer().serving),
      );
      const own = await Promise.all(singles.map((m) => enhanceSamples(m.createEnhancer(), x, 320)));
      const mean = own[0]!.map((v, i) => (v + own[1]![i]!) / 2);
      assert.ok(maxAbsDiff(await enhanceSamples(e, x, 320), mean) <= 1e-6);
      assert.throws(
        () => SpeechEnhancer.ensemble(singles.map((m) => ({ meta: m.meta, runModel: m.runner }))),
        /served in different modes/,
      );
    } finally {
      await ensemble.release();
      await Promise.all(singles.map((m) => m.release()));
    }
  });

  it('drivesense enhance takes the manifest as its model', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 16_000);
    const input = join(dir, 'in.wav');
    await writeWavFile(input, { sampleRateHz: 16_000, channels: 1, samples: x });
    const outputs: Float32Array[] = [];
    for (const model of [manifest, ...paths]) {
      const output = join(dir, `out-${outputs.length}.wav`);
      const report = await enhanceFile({ input, output, model });
      assert.equal(report.stats.modelErrors, 0);
      outputs.push((await readWavFile(output)).samples);
    }
    const mean = outputs[1]!.map((v, i) => (v + outputs[2]![i]!) / 2);
    assert.ok(maxAbsDiff(outputs[0]!, mean) <= 1e-6);
  });

  it('refuses a missing member by name and members whose STFT or mouth size does not line up', async () => {
    const missing = await writeManifest('missing.ensemble.json', ['small-3.onnx', 'nope.onnx']);
    await assert.rejects(loadSpeechEnhancerModel(missing), /nope\.onnx not found/);
    // A copy of member 4 whose sidecar says another hop.
    const other = join(dir, 'hop160.onnx');
    await copyFile(paths[1]!, other);
    const sidecar = JSON.parse(await readFile(`${paths[1]!}.json`, 'utf8')) as {
      metadata: { speech: { stft: { hop: number } } };
    };
    sidecar.metadata.speech.stft.hop = 160;
    await writeFile(`${other}.json`, JSON.stringify(sidecar));
    const mismatched = await writeManifest('mismatch.ensemble.json', ['small-3.onnx', 'hop160.onnx']);
    await assert.rejects(loadSpeechEnhancerModel(mismatched), /hop160\.onnx .* does not line up with/);
    // A model with another mouth crop size (its own graph).
    const mouthConfig = resolveAvdcnnConfig({
      context: 'causal',
      fc1Units: 16,
      fc2Units: 16,
      fcAudioUnits: 16,
      fcVisualUnits: 16,
      mouthHeight: 8,
      mouthWidth: 12,
    });
    await saveModel(mouthConfig, 7, 'mouth8.onnx');
    const mouth = await writeManifest('mouth.ensemble.json', ['small-3.onnx', 'mouth8.onnx']);
    await assert.rejects(
      loadSpeechEnhancerModel(mouth),
      /mouth8\.onnx .*"mouth":\[8,12\].* does not line up/,
    );
    const broken = join(dir, 'broken.ensemble.json');
    await writeFile(broken, '{ not json');
    await assert.rejects(loadSpeechEnhancerModel(broken), /ensemble manifest .*broken\.ensemble\.json: /);
    assert.throws(() => new EnsembleEnhancer([]), /at least two members, got 0/);
  });
});

describe('speech ensemble: the committed ones', () => {
  it('the served car ensemble shares its members’ front end and gives the mean of their own outputs', async (t) => {
    if (!existsSync(DEFAULT_SPEECH_MODEL_PATH)) {
      t.skip('the ensemble is not committed');
      return;
    }
    const x = (await noisySpeechFixture()).subarray(0, 24_000);
    const ensemble = await loadSpeechEnhancerModel(DEFAULT_SPEECH_MODEL_PATH);
    const singles = await Promise.all(ensemble.members.map((p) => loadSpeechEnhancerModel(p)));
    try {
      // Noise-aware members with the a priori SNR channel over the speech-presence noise tracker: one noise
      // estimate and prior SNR for all.
      assert.ok(
        singles.every((m) => m.meta.noiseAware?.prior !== undefined && m.meta.noiseAware.spp !== undefined),
      );
      const e = ensemble.createEnhancer();
      assert.ok(e instanceof SpeechEnhancer);
      const own = await Promise.all(singles.map((m) => enhanceSamples(m.createEnhancer(), x, 320)));
      const mean = own[0]!.map((_, i) => own.reduce((sum, o) => sum + o[i]!, 0) / own.length);
      const shared = await enhanceSamples(e, x, 320);
      assert.ok(maxAbsDiff(shared, mean) <= 1e-6, `${maxAbsDiff(shared, mean)}`);
      assert.equal(e.stats().modelRuns, singles.length * (await runsOf(singles[0]!.createEnhancer(), x)));
    } finally {
      await ensemble.release();
      await Promise.all(singles.map((m) => m.release()));
    }
  });

  it('the served car ensemble is the car pair (docs/models/speech.md: the four exceed the budget on a slower core)', () => {
    assert.equal(DEFAULT_SPEECH_MODEL_PATH, SPEECH_CAR_PAIR_INT8_ENSEMBLE_PATH);
    assert.equal(SPEECH_ENSEMBLE_PATH, SPEECH_CAR_PAIR_ENSEMBLE_PATH);
  });

  const pairs = [
    ['the served car ensemble', SPEECH_ENSEMBLE_PATH, DEFAULT_SPEECH_MODEL_PATH],
    ['the car four', SPEECH_CAR_FOUR_ENSEMBLE_PATH, SPEECH_CAR_FOUR_INT8_ENSEMBLE_PATH],
    ['the previous car profile', SPEECH_CAR_MINSTAT_ENSEMBLE_PATH, SPEECH_CAR_MINSTAT_INT8_ENSEMBLE_PATH],
    ['the general ensemble', SPEECH_GENERAL_ENSEMBLE_PATH, SPEECH_GENERAL_INT8_ENSEMBLE_PATH],
  ] as const;
  for (const [what, floatPath, int8Path] of pairs)
    it(`${what} is its float ensemble with every member in its int8 variant, in the same order`, async (t) => {
      assert.equal(DEFAULT_SPEECH_MODEL, DEFAULT_SPEECH_MODEL_PATH);
      if (!existsSync(floatPath) || !existsSync(int8Path)) {
        t.skip('the ensembles are not committed');
        return;
      }
      const float = await loadSpeechEnhancerModel(floatPath);
      const int8 = await loadSpeechEnhancerModel(int8Path);
      try {
        assert.ok(float.members.length >= 2);
        assert.deepEqual(int8.members, float.members.map(quantizedPathFor));
        // The serving settings are edited in the float sidecar and carried over by quantize: same metadata.
        for (const [i, m] of float.members.entries())
          assert.deepEqual(
            (await readSpeechModelMeta(int8.members[i]!)).meta,
            (await readSpeechModelMeta(m)).meta,
            `${m}: the int8 sidecar's metadata differs from the float one's (run drivesense quantize)`,
          );
      } finally {
        await float.release();
        await int8.release();
      }
    });
});
