/**
 * The streaming speech enhancer (src/models/speech/enhancer.ts) and `drivesense enhance`:
 * - chunk invariance through ONNX Runtime on an untrained (randomised) small AVDCNN exported by the project's
 *   exporter: one chunk, 20 ms chunks and random chunk sizes give the same output (≤ 1e-6), audio-only and
 *   with mouth frames;
 * - identity with a stub model returning the noisy ln power: output ≈ input (SNR > 40 dB) on the input's
 *   timeline, emitted W − hop (+ look-ahead) samples late; the algorithmic delay (40 ms causal 512/128, 92 ms
 *   for the paper's 512/320 ±2);
 * - mask mode bounds, camera frames (late / out of order / wrong size dropped and counted; missing → zeros),
 *   NaN, clipping and silence, gaps (zero fill, reset), duplicates, wrong rate refused, model failures;
 * - the CLI end to end on a short WAV (16 kHz, and 48 kHz stereo FLAC through ffmpeg), the missing-model
 *   message, and the metadata checks.
 */
import { after, before, describe, it } from 'node:test';
import { SPEECH_FIXTURE, leastSquaresGain, noisySpeechFixture } from '../support/speech-fixtures.ts';
import { gainModelMeta } from '../support/speech-meta.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { saveOnnxModel } from '../../src/models/common/onnx-export.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { buildAvdcnn, resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import type { AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { SpeechEnhancer } from '../../src/models/speech/enhancer.ts';
import type { EnhancedChunk, SpeechEnhancerOptions } from '../../src/models/speech/enhancer.ts';
import type { MouthFrame } from '../../src/models/speech/camera-input.ts';
import type { SpeechModelBatch, SpeechModelRunner } from '../../src/models/speech/head.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  loadEvalEnhancer,
  loadSpeechEnhancerModel,
} from '../../src/models/speech/enhancer-onnx.ts';
import type { SpeechEnhancerModel } from '../../src/models/speech/enhancer-onnx.ts';
import {
  logGainFloor,
  readSpeechModelMeta,
  speechModelMeta,
  validateSpeechModelMeta,
} from '../../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { parseCommandArgs } from '../../src/cli/command.ts';
import {
  enhanceCommand,
  enhanceFile,
  enhanceOptionsFrom,
  formatEnhanceReport,
} from '../../src/cli/commands/enhance.ts';
import { DEFAULT_NOISE_FLOOR } from '../../src/streams/features/audio/noise-floor.ts';
import { DEFAULT_PRIOR_SNR } from '../../src/streams/features/audio/prior-snr.ts';
import { NoiseAwareInput } from '../../src/streams/features/audio/noise-aware.ts';
import { resample, resampledLength } from '../../src/streams/features/audio/resample.ts';
import { AVDCNN_STFT, LIVE_STFT_512_128, StreamingStft } from '../../src/streams/features/audio/stft.ts';
import { readWavFile, writeWavFile } from '../../src/streams/readers/wav.ts';
import { maxAbsDiff, randomizeWeights } from './helpers.ts';

const RUNNING = { kind: 'running', timeConstantS: 3, stdFloor: 0.01 } as const;
const SMALL: Partial<AvdcnnConfig> = {
  context: 'causal',
  fc1Units: 64,
  fc2Units: 64,
  fcAudioUnits: 64,
  fcVisualUnits: 64,
};

function snrDb(ref: Float32Array, test: Float32Array, from = 0, to = ref.length): number {
  let s = 0;
  let e = 0;
  for (let i = from; i < to; i++) {
    s += ref[i]! * ref[i]!;
    e += (ref[i]! - test[i]!) ** 2;
  }
  return 10 * Math.log10(s / e);
}

/** Mouth frames at 25 fps over `durationS` s, random gray 16×24. */
function mouthFrames(durationS: number, seed: number, startUs = 0): MouthFrame[] {
  const rng = new SeededRandom(seed);
  const out: MouthFrame[] = [];
  for (let t = startUs; t < durationS * 1e6; t += 40_000) out.push({ tUs: t, data: rng.floats(384) });
  return out;
}

/** Stub: the model "predicts" the noisy ln power of the target frame (meta normalisation 'none'). */
function identityRunner(meta: SpeechModelMeta, seen?: SpeechModelBatch[]): SpeechModelRunner {
  const { contextFrames: f, bins, context } = meta.model;
  const row = context === 'causal' ? f - 1 : Math.floor(f / 2);
  return (batch) => {
    seen?.push(batch);
    const clean = new Float32Array(batch.size * bins);
    for (let i = 0; i < batch.size; i++)
      clean.set(batch.audio.subarray((i * f + row) * bins, (i * f + row + 1) * bins), i * bins);
    return Promise.resolve({ clean });
  };
}

/** A model that predicts the same value `g` for every bin of every frame. */
function constantRunner(g: number): SpeechModelRunner {
  return (b) => Promise.resolve({ clean: new Float32Array(b.size * 257).fill(g) });
}

/**
 * One second of the noisy fixture through a gain model (running normalisation) whose prediction is a constant
 * gain g: `run(g, options)`, and the input scaled by a gain in dB to compare with (`scaled`).
 */
async function constantGainCase() {
  const x = (await noisySpeechFixture()).subarray(0, 16_000);
  const meta = gainModelMeta({}, RUNNING);
  const run = (g: number, o: SpeechEnhancerOptions = {}): Promise<Float32Array> =>
    enhanceSamples(new SpeechEnhancer(meta, constantRunner(g), o), x, 320);
  const scaled = (db: number): Float32Array => x.map((v) => v * 10 ** (db / 20));
  return { x, meta, run, scaled };
}

function stubMeta(context: 'causal' | 'symmetric' = 'causal', stft = LIVE_STFT_512_128): SpeechModelMeta {
  return speechModelMeta(resolveAvdcnnConfig({ context }), stft, { kind: 'none' });
}

function concatChunks(chunks: readonly { samples: Float32Array }[]): Float32Array {
  const out = new Float32Array(chunks.reduce((a, c) => a + c.samples.length, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c.samples, p);
    p += c.samples.length;
  }
  return out;
}

describe('speech enhancer: ONNX model', () => {
  let dir = '';
  let modelPath = '';
  let model: SpeechEnhancerModel;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enhancer-'));
    modelPath = join(dir, 'avdcnn-small.onnx');
    const config = resolveAvdcnnConfig(SMALL);
    const m = buildAvdcnn(config, 3);
    randomizeWeights(m, 5);
    await saveOnnxModel(m, modelPath, {
      metadata: { speech: speechModelMeta(config, LIVE_STFT_512_128, RUNNING) },
    });
    m.dispose();
    model = await loadSpeechEnhancerModel(modelPath);
  });

  after(async () => {
    await model?.release();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('gives the same output for 1 chunk, 20 ms chunks and random chunks (≤ 1e-6), with and without video', async (t) => {
    const x = await noisySpeechFixture();
    for (const mouth of [[], mouthFrames(0.5, 3)]) {
      const whole = await enhanceSamples(model.createEnhancer(), x, x.length, mouth);
      const by20 = await enhanceSamples(model.createEnhancer(), x, 320, mouth);
      // Random chunk sizes, mouth frames handed over with the chunk containing their time.
      const e = model.createEnhancer();
      const rng = new SeededRandom(11);
      const chunks: EnhancedChunk[] = [];
      let m = 0;
      for (let i = 0; i < x.length;) {
        const n = Math.min(x.length - i, 1 + Math.floor(rng.next() * 700));
        const endUs = ((i + n) * 1e6) / 16_000;
        const cam: MouthFrame[] = [];
        while (m < mouth.length && mouth[m]!.tUs < endUs) cam.push(mouth[m++]!);
        chunks.push(...(await e.push(x.subarray(i, i + n), Math.round((i * 1e6) / 16_000), cam)));
        i += n;
      }
      chunks.push(...(await e.flush()));
      const random = concatChunks(chunks);
      assert.equal(whole.length, x.length);
      assert.equal(random.length, x.length);
      const d1 = maxAbsDiff(whole, by20);
      const d2 = maxAbsDiff(whole, random);
      t.diagnostic(
        `${mouth.length} mouth frames: 1 vs 20 ms ${d1.toExponential(2)}, 1 vs random ${d2.toExponential(2)}`,
      );
      assert.ok(d1 <= 1e-6 && d2 <= 1e-6, `${d1} ${d2}`);
      let peak = 0;
      for (const v of whole) peak = Math.max(peak, Math.abs(v));
      assert.ok(peak > 1e-4 && Number.isFinite(peak), `output peak ${peak}`);
      const s = e.stats();
      assert.equal(s.camera.late, 0);
      assert.equal(s.camera.accepted, mouth.length);
      if (mouth.length > 0) assert.ok(s.camera.audioFramesWithVisual > 0);
    }
    // The camera changes the output (the visual branch is wired).
    const a = await enhanceSamples(model.createEnhancer(), x, 320);
    const av = await enhanceSamples(model.createEnhancer(), x, 320, mouthFrames(0.5, 3));
    assert.ok(maxAbsDiff(a, av) > 1e-6);
  });

  it('passes silence and NaN without NaN out; reports the delay; evaluation adapter', async () => {
    const e = model.createEnhancer();
    assert.equal(e.delay.ms, 40);
    const x = new Float32Array(4000);
    x[100] = NaN;
    x[200] = Infinity;
    const out = concatChunks([...(await e.push(x, 0)), ...(await e.flush())]);
    assert.equal(out.length, x.length);
    assert.ok(out.every(Number.isFinite));
    assert.equal(e.stats().nonFinite, 2);
    const ev = await loadEvalEnhancer(modelPath);
    try {
      const y = await noisySpeechFixture();
      const got = await ev.enhance(y);
      assert.ok(maxAbsDiff(got, await enhanceSamples(model.createEnhancer(), y, 320)) <= 1e-6);
    } finally {
      await ev.release();
    }
  });

  it('drivesense enhance: a 16 kHz WAV and a 48 kHz stereo FLAC to a WAV of the right length', async () => {
    const out = join(dir, 'out.wav');
    const args = parseCommandArgs(enhanceCommand, [SPEECH_FIXTURE, out, '--model', modelPath, '--json']);
    const log = console.log;
    const lines: string[] = [];
    console.log = (s: string) => void lines.push(s);
    let code: number;
    try {
      code = await enhanceCommand.run(args);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const report = JSON.parse(lines.join('\n')) as { samples: number; algorithmicDelayMs: number };
    assert.equal(report.algorithmicDelayMs, 40);
    const w = await readWavFile(out);
    assert.equal(w.sampleRateHz, 16_000);
    assert.equal(w.channels, 1);
    assert.equal(w.encoding, 'float');
    assert.equal(w.frames, 8000);
    // The file equals the streamed output of the same samples (here: random chunking of the fixture).
    const x = (await readWavFile(SPEECH_FIXTURE)).samples;
    assert.ok(maxAbsDiff(w.samples, await enhanceSamples(model.createEnhancer(), x, 77)) <= 1e-6);

    // Another container and rate: ffmpeg decodes, the project resamples; the command says so.
    const flac = join(dir, 'in48k.flac');
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-i',
      SPEECH_FIXTURE,
      '-ar',
      '48000',
      '-ac',
      '2',
      flac,
    ]);
    const notes: string[] = [];
    const out2 = join(dir, 'out2.wav');
    const r = await enhanceFile({
      input: flac,
      output: out2,
      model: modelPath,
      format: 'pcm16',
      log: (m) => notes.push(m),
    });
    assert.equal(r.sourceRateHz, 48_000);
    assert.equal(r.resampled, true);
    assert.match(notes.join('\n'), /48000 Hz, 2 channel\(s\) → 16000 Hz mono \(resampled/);
    const w2 = await readWavFile(out2);
    assert.equal(w2.encoding, 'pcm');
    assert.ok(Math.abs(w2.frames - 8000) <= 2, `${w2.frames} samples`);

    // A 44.1 kHz WAV is resampled too.
    const wav44 = join(dir, 'in44k.wav');
    await writeWavFile(
      wav44,
      { sampleRateHz: 44_100, channels: 1, samples: resample(x, 16_000, 44_100) },
      'float32',
    );
    const r3 = await enhanceFile({ input: wav44, output: join(dir, 'out3.wav'), model: modelPath });
    assert.equal(r3.samples, resampledLength(resampledLength(8000, 16_000, 44_100), 44_100, 16_000));
  });

  it("drivesense enhance: serving flags apply over the model's own, are reported, and are checked", async () => {
    const out = join(dir, 'out-serving.wav');
    const flags = ['--mode', 'mask', '--mask-floor-db=-12', '--mask-strength', '0.8', '--pause-gate-db=-20'];
    const opts = enhanceOptionsFrom(parseCommandArgs(enhanceCommand, [SPEECH_FIXTURE, out, ...flags]));
    assert.deepEqual(opts.serving, { maskFloorDb: -12, maskStrength: 0.8, pauseGateDb: -20 });
    const { json: _json, ...options } = opts;
    const r = await enhanceFile({ ...options, model: modelPath });
    assert.equal(r.serving.length, 1);
    assert.equal(r.serving[0]!.maskFloorDb, -12);
    assert.equal(r.serving[0]!.maskStrength, 0.8);
    assert.equal(r.serving[0]!.pauseGateDb, -20);
    assert.equal(r.serving[0]!.pauseGateThresholdDb, -40, 'a depth alone: the lowest threshold');
    assert.match(
      formatEnhanceReport(r),
      /serving settings: maskFloorDb -12, maskStrength 0.8, .*pauseGateDb -20/,
    );
    // The file is what an enhancer on those settings streams.
    const x = (await readWavFile(SPEECH_FIXTURE)).samples;
    const want = await enhanceSamples(
      model.createEnhancer({ mode: 'mask', maskFloorDb: -12, maskStrength: 0.8, pauseGateDb: -20 }),
      x,
      101,
    );
    const got = (await readWavFile(out)).samples;
    assert.ok(maxAbsDiff(got, want) <= 1e-6, `${maxAbsDiff(got, want)} from the streamed output`);
    const plain = await enhanceSamples(model.createEnhancer({ mode: 'mask' }), x, 320);
    assert.ok(maxAbsDiff(got, plain) > 1e-4, 'the settings change the output');
    // A spectrum model has no mask: settings given for it are refused, not silently unused.
    await assert.rejects(
      enhanceFile({
        input: SPEECH_FIXTURE,
        output: out,
        model: modelPath,
        mode: 'spectrum',
        serving: { maskFloorDb: -12 },
      }),
      (e: Error) =>
        e.name === 'UsageError' &&
        /^--mask-floor-db: serving settings of the mask, but .* spectrum mode/.test(e.message),
    );
    const spectrum = await enhanceFile({
      input: SPEECH_FIXTURE,
      output: out,
      model: modelPath,
      mode: 'spectrum',
    });
    assert.deepEqual(spectrum.serving, [], 'no mask, no settings in force');
    // Each value is checked by its stage's rule; the message names the flag.
    for (const [flag, why] of [
      ['--mask-floor-db=3', /--mask-floor-db: maskFloorDb 3 must be a number ≤ 0/],
      ['--mask-smoothing-bins=4', /--mask-smoothing-bins: maskSmoothingBins 4 must be an odd integer/],
      ['--pause-gate-threshold-db=-50', /--pause-gate-threshold-db: pauseGateThresholdDb -50 must be/],
    ] as const)
      assert.throws(
        () => enhanceOptionsFrom(parseCommandArgs(enhanceCommand, [SPEECH_FIXTURE, out, flag])),
        (e: Error) => e.name === 'UsageError' && why.test(e.message),
      );
  });

  it('a missing model names the path and `drivesense train speech`', async (t) => {
    const missing = join(dir, 'nope.onnx');
    await assert.rejects(
      enhanceFile({ input: SPEECH_FIXTURE, output: join(dir, 'x.wav'), model: missing }),
      (e: Error) => e.message.includes(missing) && e.message.includes('drivesense train speech'),
    );
    if (existsSync(DEFAULT_SPEECH_MODEL_PATH)) {
      t.diagnostic('the default model exists; its missing-file message is not checked');
      return;
    }
    await assert.rejects(
      enhanceFile({ input: SPEECH_FIXTURE, output: join(dir, 'x.wav') }),
      new RegExp(
        `${DEFAULT_SPEECH_MODEL_PATH.replaceAll('.', '\\.')} not found: train one with \`drivesense train speech\``,
      ),
    );
  });

  it('refuses a sidecar without speech metadata or with shapes that do not match', async () => {
    const sidecar = JSON.parse(await readFile(`${modelPath}.json`, 'utf8')) as {
      metadata: Record<string, unknown>;
    };
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, await readFile(modelPath));
    await writeFile(`${bad}.json`, JSON.stringify({ ...sidecar, metadata: {} }));
    await assert.rejects(readSpeechModelMeta(bad), /no speech model metadata/);
    const meta = sidecar.metadata['speech'] as SpeechModelMeta;
    const wrong = { ...meta, model: { ...meta.model, contextFrames: 7 } };
    await writeFile(`${bad}.json`, JSON.stringify({ ...sidecar, metadata: { speech: wrong } }));
    await assert.rejects(
      readSpeechModelMeta(bad),
      /'audio' is \[null, 5, 257, 1\], the metadata describes \[null, 7, 257, 1\]/,
    );
    // A sidecar consistent with itself but not with its graph: the graph's own input shapes are checked.
    const tensors = (sidecar as unknown as { inputs: { name: string; shape: (number | null)[] }[] }).inputs;
    const inputs = tensors.map((t) => ({
      ...t,
      shape: t.name === 'audio' ? [null, 7, 257, 1] : t.name === 'visual' ? [null, 16, 24, 7] : t.shape,
    }));
    await writeFile(`${bad}.json`, JSON.stringify({ ...sidecar, inputs, metadata: { speech: wrong } }));
    await readSpeechModelMeta(bad); // the sidecar alone is consistent
    await assert.rejects(
      loadSpeechEnhancerModel(bad),
      /bad\.onnx: the graph's input 'audio' is \[\w+, 5, 257, 1\], the sidecar describes \[batch, 7, 257, 1\]/,
    );
  });

  it('sidecar round trip of a log-gain target; ln-power (global / no target) sidecars still load', async () => {
    const sidecar = JSON.parse(await readFile(`${modelPath}.json`, 'utf8')) as {
      metadata: Record<string, unknown>;
    };
    const meta = sidecar.metadata['speech'] as SpeechModelMeta;
    const copy = join(dir, 'log-gain.onnx');
    await writeFile(copy, await readFile(modelPath));
    const target = { kind: 'log-gain', gainFloorDb: -25, scale: Math.abs(logGainFloor(-25)) } as const;
    const { output: _unused, ...noOutput } = meta;
    const lg: SpeechModelMeta = { ...noOutput, target };
    await writeFile(`${copy}.json`, JSON.stringify({ ...sidecar, metadata: { speech: lg } }));
    const back = (await readSpeechModelMeta(copy)).meta;
    assert.deepEqual(back.target, target);
    assert.equal(new SpeechEnhancer(back, identityRunner(back)).mode, 'mask');
    const { target: _t, ...old } = meta;
    await writeFile(`${copy}.json`, JSON.stringify({ ...sidecar, metadata: { speech: old } }));
    assert.equal((await readSpeechModelMeta(copy)).meta.target, undefined);
    const bad = { ...lg, target: { ...target, scale: 0 } };
    assert.throws(() => validateSpeechModelMeta(bad), /target\.scale 0/);
    assert.throws(
      () => validateSpeechModelMeta({ ...lg, target: { ...target, gainFloorDb: 3 } }),
      /target\.gainFloorDb 3/,
    );
    assert.throws(
      () => validateSpeechModelMeta({ ...lg, target: { kind: 'gain', gainFloorDb: 0 } }),
      /target\.gainFloorDb 0/,
    );
    assert.doesNotThrow(() => validateSpeechModelMeta({ ...lg, target: { kind: 'gain', gainFloorDb: -20 } }));
    assert.doesNotThrow(() => validateSpeechModelMeta({ ...lg, maskFloorDb: -12 }));
    assert.throws(() => validateSpeechModelMeta({ ...lg, maskFloorDb: 2 }), /maskFloorDb 2/);
    assert.throws(() => validateSpeechModelMeta({ ...lg, maskStrength: 0 }), /maskStrength 0/);
  });
});

for (const channels of [2, 3] as const)
  describe(`speech enhancer: noise-aware ONNX model (${channels} audio channels)`, () => {
    let dir = '';
    let modelPath = '';
    let model: SpeechEnhancerModel;
    const bins = 257;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'enhancer-na-'));
      modelPath = join(dir, 'avdcnn-na.onnx');
      const config = resolveAvdcnnConfig({ ...SMALL, audioChannels: channels });
      const m = buildAvdcnn(config, 4);
      randomizeWeights(m, 6);
      const noiseAware = {
        ...DEFAULT_NOISE_FLOOR,
        mean: new Array<number>(bins).fill(2),
        std: new Array<number>(bins).fill(3),
        ...(channels === 3
          ? {
              startHoldFrames: 3,
              prior: {
                ...DEFAULT_PRIOR_SNR,
                mean: new Array<number>(bins).fill(-2),
                std: new Array<number>(bins).fill(3),
              },
            }
          : {}),
      };
      await saveOnnxModel(m, modelPath, {
        metadata: { speech: speechModelMeta(config, LIVE_STFT_512_128, RUNNING, { noiseAware }) },
      });
      m.dispose();
      model = await loadSpeechEnhancerModel(modelPath);
    });

    after(async () => {
      await model?.release();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it(`loads with audio [n, 5, 257, ${channels}]; chunking does not change the output; a gap is filled and the output stays finite`, async () => {
      const x = await noisySpeechFixture();
      const whole = await enhanceSamples(model.createEnhancer(), x, x.length);
      const by20 = await enhanceSamples(model.createEnhancer(), x, 320);
      assert.equal(whole.length, x.length);
      assert.ok(maxAbsDiff(whole, by20) <= 1e-6, `${maxAbsDiff(whole, by20)}`);
      const e = model.createEnhancer();
      const half = Math.floor(x.length / 2);
      const out = concatChunks([
        ...(await e.push(x.subarray(0, half), 0)),
        ...(await e.push(x.subarray(half), Math.round((half * 1e6) / 16_000) + 300_000)),
        ...(await e.flush()),
      ]);
      assert.equal(e.stats().gaps, 1);
      assert.equal(out.length, x.length + 4800);
      assert.ok(out.every(Number.isFinite));
      assert.equal(e.stats().modelErrors, 0);
    });

    it(`a noise-aware sidecar must say ${channels} channels; one-channel metadata for it is refused`, async () => {
      const sidecar = JSON.parse(await readFile(`${modelPath}.json`, 'utf8')) as {
        metadata: Record<string, unknown>;
      };
      const meta = sidecar.metadata['speech'] as SpeechModelMeta;
      const { noiseAware: _n, ...plain } = meta;
      assert.throws(() => validateSpeechModelMeta(plain), new RegExp(`audioChannels ${channels}`));
      if (channels === 3) {
        const { prior: _p, ...twoChannel } = meta.noiseAware!;
        assert.throws(
          () => validateSpeechModelMeta({ ...meta, noiseAware: twoChannel }),
          /audioChannels 3 but a noise-aware input \(2\)/,
        );
        assert.throws(
          () =>
            validateSpeechModelMeta({ ...meta, noiseAware: { ...meta.noiseAware!, startHoldFrames: -1 } }),
          /startHoldFrames -1/,
        );
        assert.throws(
          () =>
            validateSpeechModelMeta({
              ...meta,
              noiseAware: { ...meta.noiseAware!, prior: { ...meta.noiseAware!.prior!, alpha: 1 } },
            }),
          /prior SNR: alpha 1/,
        );
      }
      const copy = join(dir, 'plain.onnx');
      await writeFile(copy, await readFile(modelPath));
      await writeFile(
        `${copy}.json`,
        JSON.stringify({
          ...sidecar,
          metadata: { speech: { ...plain, model: { ...plain.model, audioChannels: 1 } } },
        }),
      );
      await assert.rejects(readSpeechModelMeta(copy), /audio.*\[null, 5, 257, 1\]/);
      assert.throws(
        () => validateSpeechModelMeta({ ...meta, noiseAware: { ...meta.noiseAware!, smoothing: 1 } }),
        /noiseAware: .*smoothing/,
      );
    });
  });

describe('speech enhancer: stub model', () => {
  it('identity: output equals the input on its timeline (SNR > 40 dB), emitted W − hop (+ look-ahead) late', async () => {
    const x = await noisySpeechFixture();
    for (const [context, stft, delayMs, lag] of [
      ['causal', LIVE_STFT_512_128, 40, 384],
      ['symmetric', AVDCNN_STFT, 92, 192 + 640],
    ] as const) {
      const meta = stubMeta(context, stft);
      const e = new SpeechEnhancer(meta, identityRunner(meta));
      assert.equal(e.delay.ms, delayMs);
      assert.equal(e.outputLagSamples, lag);
      const chunks: EnhancedChunk[] = [];
      for (let i = 0; i < x.length; i += 320) {
        const got = await e.push(x.subarray(i, i + 320), (i * 1e6) / 16_000);
        const emitted =
          chunks.reduce((a, c) => a + c.samples.length, 0) + got.reduce((a, c) => a + c.samples.length, 0);
        // Emitted so far: whole hops minus the lag (never more than the input).
        const frames = Math.floor((i + 320) / stft.hop);
        assert.equal(emitted, Math.max(0, frames * stft.hop - lag), `${context} after ${i + 320}`);
        for (const c of got) assert.equal(c.tUs, Math.round((c.startSample * 1e6) / 16_000));
        chunks.push(...got);
      }
      chunks.push(...(await e.flush()));
      const y = concatChunks(chunks);
      assert.equal(y.length, x.length);
      const snr = snrDb(x, y);
      assert.ok(snr > 40, `${context}: SNR ${snr.toFixed(1)} dB`);
    }
  });

  it('noise-aware (3 channels): a restarted segment inherits the state from before the flushed frames and holds its first 3', async () => {
    const x = await noisySpeechFixture();
    const bins = 257;
    const zeros = new Array<number>(bins).fill(0);
    const ones = new Array<number>(bins).fill(1);
    const params = { ...DEFAULT_NOISE_FLOOR, startHoldFrames: 3, prior: DEFAULT_PRIOR_SNR };
    const meta = speechModelMeta(
      resolveAvdcnnConfig({ ...SMALL, audioChannels: 3 }),
      LIVE_STFT_512_128,
      { kind: 'global', mean: zeros, std: ones },
      {
        target: { kind: 'gain', gainFloorDb: -25 },
        output: 'mask',
        noiseAware: {
          ...params,
          mean: zeros,
          std: ones,
          prior: { ...DEFAULT_PRIOR_SNR, mean: zeros, std: ones },
        },
      },
    );
    const f = meta.model.contextFrames;
    const rows: Float32Array[] = [];
    const runner: SpeechModelRunner = (batch) => {
      for (let i = 0; i < batch.size; i++)
        rows.push(batch.audio.slice((i * f + f - 1) * bins * 3, (i * f + f) * bins * 3));
      return Promise.resolve({ clean: new Float32Array(batch.size * bins).fill(1) });
    };
    const a = x.subarray(0, 4000);
    const b = x.subarray(4000);
    const e = new SpeechEnhancer(meta, runner);
    await e.push(a, 0);
    await e.push(b, 4_000_000); // 3.75 s after a ends: a new segment
    await e.flush();
    assert.equal(e.stats().segments, 2);
    // Reference: segment a's complete frames (start held), not its flushed ones; then segment b (start held).
    const ref = new NoiseAwareInput(bins, 125, params);
    const sa = new StreamingStft(LIVE_STFT_512_128);
    const framesA = sa.push(a);
    framesA.forEach((fr, t) => ref.push(fr.logPower, t < 3));
    const flushedA = sa.flush().length;
    assert.ok(flushedA >= 3);
    const sb = new StreamingStft(LIVE_STFT_512_128);
    const framesB = [...sb.push(b), ...sb.flush()];
    assert.equal(rows.length, framesA.length + flushedA + framesB.length);
    const rowsB = rows.slice(framesA.length + flushedA);
    let worst = 0;
    framesB.forEach((fr, t) => {
      const want = ref.push(fr.logPower, t < 3);
      for (let k = 0; k < bins; k++)
        for (let j = 0; j < 2; j++)
          worst = Math.max(worst, Math.abs(rowsB[t]![3 * k + j + 1]! - want[j]![k]!));
    });
    assert.ok(worst < 1e-5, `segment b's added channels vs reference: max abs ${worst}`);
  });

  it('mask mode: never louder than the input; a −6 dB prediction halves it', async () => {
    const x = await noisySpeechFixture();
    const meta = stubMeta();
    const shifted = (db: number): SpeechModelRunner => {
      const id = identityRunner(meta);
      return async (b) => ({ clean: (await id(b)).clean.map((v) => v + (db / 10) * Math.LN10) });
    };
    const run = async (db: number, mode: 'mask' | 'spectrum'): Promise<Float32Array> =>
      enhanceSamples(new SpeechEnhancer(meta, shifted(db), { mode }), x, 320);
    assert.ok(snrDb(x, await run(20, 'mask')) > 40);
    const half = x.map((v) => v / 2);
    assert.ok(snrDb(half, await run(-20 * Math.log10(2), 'mask')) > 40);
    assert.ok(
      snrDb(
        x.map((v) => v * 2),
        await run(20 * Math.log10(2), 'spectrum'),
      ) > 40,
    );
  });

  it('log-gain model: applied as a mask (default mode); gain 0 passes through, clamped to [G_min, 0]', async () => {
    const x = await noisySpeechFixture();
    const scale = Math.abs(logGainFloor(-25));
    const meta = speechModelMeta(resolveAvdcnnConfig({ context: 'causal' }), LIVE_STFT_512_128, RUNNING, {
      target: { kind: 'log-gain', gainFloorDb: -25, scale },
    });
    const run = (g: number): Promise<Float32Array> =>
      enhanceSamples(new SpeechEnhancer(meta, constantRunner(g)), x, 320);
    assert.equal(new SpeechEnhancer(meta, constantRunner(0)).mode, 'mask');
    assert.ok(snrDb(x, await run(0)) > 40);
    assert.ok(snrDb(x, await run(5)) > 40); // > 0 clamps to 0
    const halfPower = -Math.LN2 / scale; // power × 1/2
    assert.ok(
      snrDb(
        x.map((v) => v * Math.SQRT1_2),
        await run(halfPower),
      ) > 40,
    );
    const gMin = 10 ** (-25 / 20);
    assert.ok(
      snrDb(
        x.map((v) => v * gMin),
        await run(-10),
      ) > 40,
    ); // < −1 clamps to G_min
  });

  it('gain model: the amplitude gain as a mask (default mode), clamped to [G_min, 1]; ≤ 0 → G_min, NaN counted; floor and strength', async () => {
    const x = await noisySpeechFixture();
    const meta = gainModelMeta({}, RUNNING);
    const run = async (g: number, options: SpeechEnhancerOptions = {}) => {
      const e = new SpeechEnhancer(meta, constantRunner(g), options);
      return { y: await enhanceSamples(e, x, 320), stats: e.stats() };
    };
    assert.equal(new SpeechEnhancer(meta, constantRunner(1)).mode, 'mask');
    assert.ok(snrDb(x, (await run(1)).y) > 40);
    assert.ok(snrDb(x, (await run(3)).y) > 40); // > 1 clamps to 1
    const half = x.map((v) => v * 0.5);
    assert.ok(snrDb(half, (await run(0.5)).y) > 40);
    const gMin = 10 ** (-25 / 20);
    const floored = x.map((v) => v * gMin);
    assert.ok(snrDb(floored, (await run(0.001)).y) > 40); // below G_min clamps to it
    assert.ok(snrDb(floored, (await run(-0.3)).y) > 40); // a negative gain is the floor, not a failure
    const nan = await run(Number.NaN);
    assert.ok(nan.stats.modelNonFinite > 0 && snrDb(x, nan.y) > 40); // NaN: counted, the noisy frame kept
    // The serving floor: the caller's, else the metadata's.
    const tenDb = x.map((v) => v * 10 ** (-10 / 20));
    assert.ok(snrDb(tenDb, (await run(0.001, { maskFloorDb: -10 })).y) > 40);
    const withFloor = { ...meta, maskFloorDb: -10 };
    const e = new SpeechEnhancer(withFloor, constantRunner(0.001));
    assert.ok(snrDb(tenDb, await enhanceSamples(e, x, 320)) > 40);
    // Strength α: G^α (0.25^0.5 = 0.5), the caller's, else the metadata's; the floor applies after it.
    assert.ok(snrDb(half, (await run(0.25, { maskStrength: 0.5 })).y) > 40);
    const withStrength = new SpeechEnhancer({ ...meta, maskStrength: 0.5 }, constantRunner(0.25));
    assert.ok(snrDb(half, await enhanceSamples(withStrength, x, 320)) > 40);
    assert.ok(snrDb(tenDb, (await run(0.001, { maskStrength: 0.5, maskFloorDb: -10 })).y) > 40);
    assert.throws(() => new SpeechEnhancer(meta, constantRunner(1), { maskStrength: 0 }), /maskStrength 0/);
    assert.throws(
      () => new SpeechEnhancer(meta, constantRunner(1), { maskStrength: 1.5 }),
      /maskStrength 1\.5/,
    );
  });

  it('low-gain expansion: gains below the knee go deeper by the ratio, never below the floors; off is bit-exact; bad settings refused', async () => {
    const { x, meta, run, scaled } = await constantGainCase();
    const expand = { maskExpansionKneeDb: -10, maskExpansionRatio: 2 };
    // Above the knee (0.5: −6.02 dB) the gain is untouched.
    assert.ok(snrDb(scaled(20 * Math.log10(0.5)), await run(0.5, expand)) > 40);
    // Below it: 0.2 (−13.98 dB) with r = 1.5 → −10 + 1.5·(−3.98) dB.
    const g02 = 20 * Math.log10(0.2);
    assert.ok(
      snrDb(scaled(-10 + 1.5 * (g02 + 10)), await run(0.2, { ...expand, maskExpansionRatio: 1.5 })) > 40,
    );
    // 0.1 (−20 dB) with r = 2 → −30 dB, held at the model's training floor (−25 dB), and at maskFloorDb.
    assert.ok(snrDb(scaled(-25), await run(0.1, expand)) > 40);
    assert.ok(snrDb(scaled(-12), await run(0.1, { ...expand, maskFloorDb: -12 })) > 40);
    // A ratio of 1 (any knee) is no expansion, bit for bit.
    assert.deepEqual(await run(0.1, { maskExpansionKneeDb: -6, maskExpansionRatio: 1 }), await run(0.1));
    // The sidecar's settings are the default; options override them.
    const withMeta = new SpeechEnhancer({ ...meta, ...expand }, constantRunner(0.1));
    assert.deepEqual([withMeta.serving.maskExpansionKneeDb, withMeta.serving.maskExpansionRatio], [-10, 2]);
    assert.deepEqual(await enhanceSamples(withMeta, x, 320), await run(0.1, expand));
    const off = new SpeechEnhancer({ ...meta, ...expand }, constantRunner(0.1), { maskExpansionRatio: 1 });
    assert.deepEqual(await enhanceSamples(off, x, 320), await run(0.1));
    assert.throws(
      () => new SpeechEnhancer(meta, constantRunner(0.1), { maskExpansionRatio: 0.5 }),
      /maskExpansionRatio 0.5 must be a number in \[1, 10\]/,
    );
    assert.throws(
      () => new SpeechEnhancer(meta, constantRunner(0.1), { maskExpansionKneeDb: 1 }),
      /maskExpansionKneeDb 1 must be a number of dB in \[-40, 0\]/,
    );
    assert.throws(
      () => validateSpeechModelMeta({ ...meta, maskExpansionRatio: 11 }),
      /maskExpansionRatio 11/,
    );
  });

  it('pause gate: frames after 300 ms below the threshold are lowered by the depth; off and unmet are bit-exact; bad settings refused', async () => {
    const { x, meta, run, scaled } = await constantGainCase();
    const gate = { pauseGateDb: -10, pauseGateThresholdDb: -15 };
    // A constant gain of 0.1 is a frame gain of −20 dB, below −15 dB in every frame. Frames 0 to 36 keep it;
    // frame 37 (the 38th: 300 ms at an 8 ms hop), whose window starts at sample 4,352, is the first lowered,
    // and once the 5-frame ramp and the window's overlap are past, every frame is 10 dB lower.
    const y = await run(0.1, gate);
    const ungated = await run(0.1);
    assert.deepEqual(y.subarray(0, 4352), ungated.subarray(0, 4352));
    assert.notDeepEqual(y.subarray(4352, 4480), ungated.subarray(4352, 4480));
    assert.ok(snrDb(scaled(-30), y, 6000) > 40);
    assert.ok(snrDb(scaled(-20), y, 6000) < 15);
    // The same in any chunking (state carried across chunks).
    assert.deepEqual(await enhanceSamples(new SpeechEnhancer(meta, constantRunner(0.1), gate), x, 37), y);
    // Without a threshold it defaults to −40 dB: a frame gain of −20 dB never closes the gate.
    assert.deepEqual(await run(0.1, { pauseGateDb: -10 }), ungated);
    // Spectrum mode ignores it.
    assert.deepEqual(await run(0.1, { ...gate, mode: 'spectrum' }), await run(0.1, { mode: 'spectrum' }));
    // In an ensemble each member has its own gate, before the mean of the magnitudes: one member gated by
    // −10 dB and one not give (0.1·10^(−10/20) + 0.1) / 2 of the input.
    const both = SpeechEnhancer.ensemble([
      { meta: { ...meta, ...gate }, runModel: constantRunner(0.1) },
      { meta, runModel: constantRunner(0.1) },
    ]);
    const mean = (0.1 * 10 ** (-10 / 20) + 0.1) / 2;
    assert.ok(snrDb(scaled(20 * Math.log10(mean)), await enhanceSamples(both, x, 320), 6000) > 40);
    // A frame gain at or above the threshold (0.5: −6 dB) never closes it: bit-exact as without the gate.
    assert.deepEqual(await run(0.5, gate), await run(0.5));
    // A depth of 0 is no gate, bit for bit.
    assert.deepEqual(await run(0.1, { ...gate, pauseGateDb: 0 }), await run(0.1));
    // The sidecar's settings are the default; options override them.
    const withMeta = new SpeechEnhancer({ ...meta, ...gate }, constantRunner(0.1));
    assert.deepEqual([withMeta.serving.pauseGateDb, withMeta.serving.pauseGateThresholdDb], [-10, -15]);
    assert.deepEqual(await enhanceSamples(withMeta, x, 320), y);
    const off = new SpeechEnhancer({ ...meta, ...gate }, constantRunner(0.1), { pauseGateDb: 0 });
    assert.deepEqual(await enhanceSamples(off, x, 320), await run(0.1));
    assert.throws(
      () => new SpeechEnhancer(meta, constantRunner(0.1), { pauseGateDb: 5 }),
      /pauseGateDb 5 must be a number of dB in \[-40, 0\]/,
    );
    assert.throws(
      () => validateSpeechModelMeta({ ...meta, pauseGateThresholdDb: -41 }),
      /pauseGateThresholdDb -41/,
    );
  });

  it('camera-mode strength per frame: a camera that stops within one model run gives each frame its own strength', async () => {
    const { x, meta } = await constantGainCase();
    // The fixture's 0.5 s with the camera for its first 0.25 s only (held 100 ms more, then 4 frames of
    // context); the camera-mode strength deeper than the audio-only one.
    const frames = mouthFrames(0.25, 4);
    const opts = { maskStrength: 1, maskStrengthVisual: 1.8 };
    const whole = new SpeechEnhancer(meta, constantRunner(0.5), opts); // every frame in one run
    const y = concatChunks([...(await whole.push(x, 0, frames)), ...(await whole.flush())]);
    const chunked = await enhanceSamples(
      new SpeechEnhancer(meta, constantRunner(0.5), { ...opts, maxBatchFrames: 1 }),
      x,
      320,
      frames,
    );
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - chunked[i]!));
    assert.ok(worst < 1e-6, `one run and one frame per run differ by ${worst}`);
    // Both halves differ: deeper where the camera was, the audio-only gain after it stopped.
    const audioOnly = await enhanceSamples(new SpeechEnhancer(meta, constantRunner(0.5), opts), x, 320);
    const rms = (v: Float32Array, a: number, b: number): number =>
      Math.sqrt(v.subarray(a, b).reduce((s, u) => s + u * u, 0) / (b - a));
    assert.ok(rms(y, 1000, 3000) < 0.9 * rms(audioOnly, 1000, 3000), 'the camera-mode strength applied');
    const after = rms(y, 6500, 7800) / rms(audioOnly, 6500, 7800);
    assert.ok(Math.abs(after - 1) < 1e-6, `audio-only after the camera stopped (ratio ${after})`);
    assert.equal(whole.stats().camera.audioFramesWithVisual > 0, true);
  });

  it('camera frames with a duplicate chunk are still taken; with an empty chunk before any audio they are dropped, counted', async () => {
    const meta = gainModelMeta({}, RUNNING);
    const e = new SpeechEnhancer(meta, constantRunner(0.5));
    await e.push(new Float32Array(0), 0, mouthFrames(0.08, 1));
    assert.deepEqual(
      [e.stats().camera.received, e.stats().camera.withoutAudio, e.stats().camera.accepted],
      [2, 2, 0],
    );
    const x = (await noisySpeechFixture()).subarray(0, 3200);
    await e.push(x, 0);
    await e.push(x.subarray(0, 1600), 0, mouthFrames(0.4, 2, 200_000)); // a duplicate, with new frames
    const c = e.stats().camera;
    assert.equal(e.stats().duplicates, 1);
    assert.deepEqual(
      [c.received, c.accepted],
      [2 + 5, 5],
      "the duplicate chunk's frames reach the camera path",
    );
    // An empty chunk within a segment hands its frames over too.
    await e.push(new Float32Array(0), 200_000, mouthFrames(0.48, 3, 400_000));
    assert.deepEqual([e.stats().camera.received, e.stats().camera.accepted], [9, 7]);
  });

  it('pause gate: a failed model run restarts its hold, so the frames after it are not lowered until the next 300 ms', async () => {
    const x = await noisySpeechFixture();
    const meta = gainModelMeta({ pauseGateDb: -10, pauseGateThresholdDb: -15 }, RUNNING);
    // 8,000 samples, 62 frames. One frame per run; run 46 (frame 45) fails, after the gate closed (frame 37).
    const failingAt = (k: number): SpeechModelRunner => {
      let runs = 0;
      const ok = constantRunner(0.1);
      return (b) => (++runs === k ? Promise.reject(new Error('boom')) : ok(b));
    };
    const gated = await enhanceSamples(
      new SpeechEnhancer(meta, constantRunner(0.1), { maxBatchFrames: 1 }),
      x,
      320,
    );
    const failed = new SpeechEnhancer(meta, failingAt(46), { maxBatchFrames: 1 });
    const y = await enhanceSamples(failed, x, 320);
    assert.equal(failed.stats().modelErrors, 1);
    const rms = (v: Float32Array): number => Math.sqrt(v.reduce((a, u) => a + u * u, 0) / v.length);
    // Samples 6,144 to 7,424 are in the windows of frames 48 to 61 only: after the failure the gate's hold
    // starts again (38 frames), so they are ungated, 10 dB above the gated output.
    const [from, to] = [6144, 7424];
    const up = 20 * Math.log10(rms(y.subarray(from, to)) / rms(gated.subarray(from, to)));
    assert.ok(
      up > 8 && up < 12,
      `after the failed run the output is ${up.toFixed(2)} dB above the gated one`,
    );
    // Before the failed frame's window (frame 45: from sample 5,376), the same.
    assert.deepEqual(y.subarray(0, 5376), gated.subarray(0, 5376));
  });

  it('spectrum mode: a wild prediction is capped at twice a full-scale frame, never infinite', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 8000);
    const meta = stubMeta();
    const at = (v: number): Promise<Float32Array> =>
      enhanceSamples(new SpeechEnhancer(meta, constantRunner(v), { mode: 'spectrum' }), x, 320);
    const wild = await at(1e4);
    assert.ok(wild.every(Number.isFinite), 'e^10000 would be infinite');
    assert.deepEqual(wild, await at(2 * Math.log(512)), 'the cap: ln(W²), W = 512');
    assert.notDeepEqual(await at(2 * Math.log(512) - 1), wild, 'below the cap the prediction is used');
  });

  it('gain smoothing: a constant gain is unchanged, off is bit-exact, on smooths within [floor, 0]; bad settings refused', async () => {
    const x = (await noisySpeechFixture()).subarray(0, 16_000);
    const meta = gainModelMeta({}, RUNNING);
    // A random gain per bin and frame, the same for every run (seeded by the frame's audio input).
    const jumpy: SpeechModelRunner = (b) => {
      const clean = new Float32Array(b.size * 257);
      for (let i = 0; i < clean.length; i++)
        clean[i] = 0.5 + 0.5 * Math.sin(1e3 * b.audio[i % b.audio.length]! + i);
      return Promise.resolve({ clean });
    };
    const run = (r: SpeechModelRunner, o: SpeechEnhancerOptions = {}): Promise<Float32Array> =>
      enhanceSamples(new SpeechEnhancer(meta, r, o), x, 320);
    const half = x.map((v) => v * 0.5);
    const smooth = { maskSmoothingBins: 5, maskSmoothingTime: 0.6 };
    assert.ok(snrDb(half, await run(constantRunner(0.5), smooth)) > 40);
    assert.deepEqual(await run(jumpy, { maskSmoothingBins: 1, maskSmoothingTime: 0 }), await run(jumpy));
    const raw = await run(jumpy);
    const smoothed = await run(jumpy, smooth);
    assert.ok(maxAbsDiff(raw, smoothed) > 1e-3, 'smoothing changes a jumpy gain');
    // Never louder than the input, frame by frame of the output's energy (a mask ≤ 1 stays ≤ 1).
    const energy = (v: Float32Array) => v.reduce((a, b) => a + b * b, 0);
    assert.ok(energy(smoothed) <= energy(x) * 1.0001);
    // The sidecar's settings are the default; options override them.
    const withMeta = new SpeechEnhancer({ ...meta, maskSmoothingBins: 3, maskSmoothingTime: 0.3 }, jumpy);
    assert.deepEqual([withMeta.serving.maskSmoothingBins, withMeta.serving.maskSmoothingTime], [3, 0.3]);
    assert.deepEqual(
      await enhanceSamples(withMeta, x, 320),
      await run(jumpy, { maskSmoothingBins: 3, maskSmoothingTime: 0.3 }),
    );
    assert.throws(
      () => new SpeechEnhancer(meta, jumpy, { maskSmoothingBins: 4 }),
      /maskSmoothingBins 4 must be an odd/,
    );
    assert.throws(
      () => new SpeechEnhancer(meta, jumpy, { maskSmoothingTime: 1 }),
      /maskSmoothingTime 1 must be/,
    );
    assert.throws(() => validateSpeechModelMeta({ ...meta, maskSmoothingBins: 17 }), /maskSmoothingBins 17/);
  });

  it('audio-visual strength: frames with mouth crops take maskStrengthVisual, the share of crops in the context blends it, options override', async () => {
    const meta = gainModelMeta({ maskStrength: 0.5, maskStrengthVisual: 1 }, RUNNING);
    const quarter: SpeechModelRunner = (b) =>
      Promise.resolve({ clean: new Float32Array(b.size * 257).fill(0.25) });
    const x = new Float32Array(16_000).map((_, i) => 0.1 * Math.sin(i / 7) + 0.05 * Math.sin(i / 3));
    // Mouth crops at 25 fps for 0–400 ms (each held ≤ 100 ms), then the camera stops.
    const mouth: MouthFrame[] = [];
    for (let t = 0; t <= 400_000; t += 40_000) mouth.push({ tUs: t, data: new Float32Array(384).fill(0.5) });
    const run = async (options: SpeechEnhancerOptions = {}) => {
      const e = new SpeechEnhancer(meta, quarter, options);
      const chunks: EnhancedChunk[] = [];
      for (let i = 0; i < x.length; i += 320) {
        const t = (i * 1e6) / 16_000;
        const due = mouth.filter((m) => m.tUs >= t && m.tUs < t + 20_000);
        chunks.push(...(await e.push(x.subarray(i, i + 320), t, due)));
      }
      chunks.push(...(await e.flush()));
      return concatChunks(chunks);
    };
    const ratio = (y: Float32Array, fromMs: number, toMs: number): number =>
      leastSquaresGain(y, x, fromMs, toMs);
    const y = await run();
    // With the camera G^1 = 0.25, without it G^0.5 = 0.5.
    assert.ok(Math.abs(ratio(y, 100, 400) - 0.25) < 1e-3, `camera: ${ratio(y, 100, 400)}`);
    assert.ok(Math.abs(ratio(y, 650, 950) - 0.5) < 1e-3, `no camera: ${ratio(y, 650, 950)}`);
    // The crop of 400 ms is held to 500 ms; frames whose 5-frame context straddles it are in between.
    const mid = ratio(y, 512, 520);
    assert.ok(mid > 0.3 && mid < 0.45, `transition: ${mid}`);
    // Options: maskStrength alone sets both modes; maskStrengthVisual sets the camera's.
    const both = await run({ maskStrength: 0.5 });
    assert.ok(Math.abs(ratio(both, 100, 400) - 0.5) < 1e-3);
    const own = await run({ maskStrengthVisual: 0.5 });
    assert.ok(Math.abs(ratio(own, 100, 400) - 0.5) < 1e-3);
    assert.ok(Math.abs(ratio(own, 650, 950) - 0.5) < 1e-3);
    assert.throws(() => new SpeechEnhancer(meta, quarter, { maskStrengthVisual: 0 }), /maskStrengthVisual 0/);
    // Above 1 the camera's gain is deepened (0.25^1.5 = 0.125), never below the training floor (−25 dB).
    const deeper = await run({ maskStrengthVisual: 1.5 });
    assert.ok(Math.abs(ratio(deeper, 100, 400) - 0.125) < 1e-3, `α_v 1.5: ${ratio(deeper, 100, 400)}`);
    assert.ok(Math.abs(ratio(deeper, 650, 950) - 0.5) < 1e-3); // the audio-only α is untouched
    const floor = 10 ** (-25 / 20);
    const tiny: SpeechModelRunner = (b) =>
      Promise.resolve({ clean: new Float32Array(b.size * 257).fill(0.1) });
    const e = new SpeechEnhancer(meta, tiny, { maskStrengthVisual: 2 }); // 0.1² = 0.01 < floor ≈ 0.056
    const chunks: EnhancedChunk[] = [];
    for (let i = 0; i < x.length; i += 320) {
      const t = (i * 1e6) / 16_000;
      chunks.push(
        ...(await e.push(
          x.subarray(i, i + 320),
          t,
          mouth.filter((m) => m.tUs >= t && m.tUs < t + 20_000),
        )),
      );
    }
    chunks.push(...(await e.flush()));
    const floored = ratio(concatChunks(chunks), 100, 400);
    assert.ok(Math.abs(floored - floor) < 1e-3, `α_v 2 at the floor: ${floored}`);
    assert.throws(
      () => new SpeechEnhancer(meta, quarter, { maskStrengthVisual: 2.5 }),
      /maskStrengthVisual 2\.5/,
    );
    assert.throws(() => new SpeechEnhancer(meta, quarter, { maskStrength: 1.5 }), /maskStrength 1\.5/);
    assert.throws(
      () => validateSpeechModelMeta({ ...meta, maskStrengthVisual: 2.5 }),
      /maskStrengthVisual 2\.5/,
    );
    assert.throws(() => validateSpeechModelMeta({ ...meta, maskStrength: 1.5 }), /maskStrength 1\.5/);
    validateSpeechModelMeta({ ...meta, maskStrengthVisual: 1.5 });
  });

  it('camera: late, out-of-order and wrong-size frames dropped and counted; missing → zeros', async () => {
    const meta = stubMeta();
    const seen: SpeechModelBatch[] = [];
    const e = new SpeechEnhancer(meta, identityRunner(meta, seen));
    const x = new Float32Array(16_000).map((_, i) => 0.1 * Math.sin(i / 5));
    const frame = (tUs: number, v = 0.5, n = 384): MouthFrame => ({ tUs, data: new Float32Array(n).fill(v) });
    // 40 ms of audio: STFT frames up to t = 4, centre (5·128 − 256)/16 = 24 ms.
    await e.push(x.subarray(0, 640), 0);
    await e.push(x.subarray(640, 960), 40_000, [
      frame(5_000),
      frame(30_000),
      frame(27_000),
      frame(31_000, 1, 10),
    ]);
    let s = e.stats().camera;
    assert.deepEqual([s.received, s.accepted, s.late, s.outOfOrder, s.badSize], [4, 1, 1, 1, 1]);
    // Frames with centre ≥ 30 ms see the crop (newest row of the visual input: channel F − 1).
    const last = seen[seen.length - 1]!;
    const n = last.size;
    const newest = last.visual[(n - 1) * 384 * 5 + 4]!; // pixel 0, frame 4 of the last example
    assert.equal(newest, 0.5);
    // The camera stops: after 100 ms the visual input is zeros again; the audio goes on.
    seen.length = 0;
    await e.push(x.subarray(960, 8000), 60_000);
    const tail = seen[seen.length - 1]!;
    assert.ok(tail.visual.subarray((tail.size - 1) * 1920).every((v) => v === 0));
    s = e.stats().camera;
    assert.ok(s.audioFramesWithVisual > 0 && s.audioFramesWithoutVisual > s.audioFramesWithVisual);
    assert.equal(e.stats().outputSamples, Math.floor(8000 / 128) * 128 - 384);
  });

  it('NaN → 0, clipping counted, silence passes', async () => {
    const meta = stubMeta();
    const e = new SpeechEnhancer(meta, identityRunner(meta));
    const x = new Float32Array(3200);
    x[10] = NaN;
    x[11] = -Infinity;
    x[500] = 1.5;
    x[501] = -1;
    x[502] = 0.9995;
    const y = concatChunks([...(await e.push(x, 0)), ...(await e.flush())]);
    const s = e.stats();
    assert.equal(s.nonFinite, 2);
    assert.equal(s.clipped, 3);
    assert.ok(y.every(Number.isFinite));
    assert.ok(Math.abs(y[500]! - 1) < 1e-4, `clamped ${y[500]}`); // 1.5 clamped to 1
    for (let i = 0; i < 400; i++) assert.ok(Math.abs(y[i]!) < 1e-5, `${i}: ${y[i]}`); // silence, zeroed NaNs
  });

  it('gaps: zeros fill ≤ 1 s (timeline kept), a longer jump resets, duplicates and overlaps are dropped', async () => {
    const meta = stubMeta();
    const e = new SpeechEnhancer(meta, identityRunner(meta));
    const x = new Float32Array(320).fill(0.1);
    const out: EnhancedChunk[] = [];
    out.push(...(await e.push(x, 1_000_000)));
    out.push(...(await e.push(x, 1_040_000))); // 20 ms missing
    out.push(...(await e.push(x, 1_040_000))); // duplicate
    out.push(...(await e.push(new Float32Array(640).fill(0.1), 1_050_000))); // half overlaps
    let s = e.stats();
    assert.deepEqual([s.gaps, s.gapFillSamples, s.duplicates, s.overlapSamples], [1, 320, 1, 160]);
    out.push(...(await e.push(x, 5_000_000))); // 3.9 s later: reset
    out.push(...(await e.flush()));
    s = e.stats();
    assert.equal(s.resets, 1);
    assert.equal(s.segments, 2);
    const seg0 = out.filter((c) => c.segment === 0);
    const seg1 = out.filter((c) => c.segment === 1);
    assert.equal(concatChunks(seg0).length, 320 + 320 + 320 + 480); // input + fill, trimmed overlap
    assert.equal(concatChunks(seg1).length, 320);
    assert.equal(seg1[0]!.tUs, 5_000_000);
    for (const c of seg0) assert.equal(c.tUs, 1_000_000 + Math.round((c.startSample * 1e6) / 16_000));
  });

  it('refuses other rates and channel counts with a message; a failing model passes audio through', async () => {
    const meta = stubMeta();
    const e = new SpeechEnhancer(meta, identityRunner(meta));
    const r = await e.pushChunk({ samples: new Float32Array(882), sampleRateHz: 44_100, tUs: 0 });
    assert.match(r.refused ?? '', /44100 Hz refused: the speech enhancer takes 16000 Hz \(resample first/);
    const r2 = await e.pushChunk({
      samples: new Float32Array(640),
      sampleRateHz: 16_000,
      channels: 2,
      tUs: 0,
    });
    assert.match(r2.refused ?? '', /2 channels refused/);
    assert.equal(e.stats().refused, 2);
    await assert.rejects(e.push(new Float32Array(10), NaN), /chunk time NaN/);

    const x = await noisySpeechFixture();
    const failing = new SpeechEnhancer(meta, () => Promise.reject(new Error('boom')));
    const y = await enhanceSamples(failing, x, 320);
    assert.equal(failing.stats().lastModelError, 'boom');
    assert.ok(failing.stats().modelErrors > 0);
    assert.equal(failing.stats().modelRuns, failing.stats().modelErrors, 'a failed run is still a run');
    assert.ok(snrDb(x, y) > 40);
    const nan = new SpeechEnhancer(meta, (b) =>
      Promise.resolve({ clean: new Float32Array(b.size * 257).fill(NaN) }),
    );
    const z = await enhanceSamples(nan, x, 320);
    assert.ok(nan.stats().modelNonFinite > 0);
    assert.ok(snrDb(x, z) > 40);
  });
});
