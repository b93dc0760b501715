/**
 * Peer enhancers (bench/speech): RNNoise (npm WebAssembly) and DeepFilterNet3 (ONNX in ../shared/peers).
 * DSP pieces of the DeepFilterNet3 runner are checked without data (FFT against a direct DFT, STFT
 * reconstruction, ERB bands); the enhancers on a CMU ARCTIC utterance in Berlin street noise at 0 dB (or
 * the Speech Commands "dishes" recording when ffmpeg is missing), skipped when ../shared is absent.
 * One utterance each, to keep the run short on a busy machine.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { siSdr } from '../../src/models/speech/metrics/sisdr.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { crossCorrelationLag, RnnoisePeer } from '../../bench/speech/rnnoise.ts';
import {
  DeepFilterNet3Peer,
  Dfn3Stft,
  erbWidths,
  MixedRadixFft,
  normAlpha,
} from '../../bench/speech/deepfilternet3.ts';
import { SHARED_DATA, SHARED_SKIP, shared } from '../readers/shared-data.ts';
import { energy, hasFfmpeg, streetNoise } from '../support/speech-fixtures.ts';

const FS = 16_000;
const DFN3_DIR = resolve(SHARED_DATA, '../peers/deepfilternet3');
const DFN3_SKIP: false | string =
  SHARED_SKIP ||
  (!DeepFilterNet3Peer.available(DFN3_DIR) && `needs the DeepFilterNet3 ONNX files in ${DFN3_DIR}`);

/** `samples` of real noise at 16 kHz: Berlin street (ffmpeg, from 30 s in) or the dishes WAV. */
async function realNoise(samples: number): Promise<Float32Array> {
  if (hasFfmpeg()) return streetNoise(samples);
  const w = await readWavFile(shared('audio/noise/speech_commands_bg/doing_the_dishes.wav'));
  assert.equal(w.sampleRateHz, FS);
  return w.samples.slice(5 * FS, 5 * FS + samples);
}

interface Mixture {
  clean: Float32Array;
  noise: Float32Array;
  noisy: Float32Array;
}

/** CMU ARCTIC aew a0001 (3.9 s) plus real noise scaled to 0 dB SNR. */
async function mixture(): Promise<Mixture> {
  const w = await readWavFile(shared('audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav'));
  assert.equal(w.sampleRateHz, FS);
  const clean = w.samples;
  const raw = await realNoise(clean.length);
  const g = Math.sqrt(energy(clean) / energy(raw));
  const noise = raw.map((v) => v * g);
  return { clean, noise, noisy: clean.map((v, i) => v + noise[i]!) };
}

/** Power (dB) of what is left of the noise: output minus the clean speech. */
function residualNoiseDb(clean: Float32Array, y: Float32Array): number {
  let e = 0;
  for (let i = 0; i < clean.length; i++) e += (y[i]! - clean[i]!) ** 2;
  return 10 * Math.log10(e);
}

describe('DeepFilterNet3 DSP (no data needed)', () => {
  it('mixed-radix FFT of 960 points matches the direct DFT, and inverts', () => {
    const N = 960;
    const rng = new SeededRandom(1);
    const xr = Float64Array.from({ length: N }, () => rng.normal());
    const xi = Float64Array.from({ length: N }, () => rng.normal());
    const yr = new Float64Array(N);
    const yi = new Float64Array(N);
    const fft = new MixedRadixFft(N);
    fft.transform(xr, xi, yr, yi, -1);
    for (const k of [0, 1, 2, 5, 96, 479, 480, 481, 959]) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < N; n++) {
        const a = (-2 * Math.PI * k * n) / N;
        re += xr[n]! * Math.cos(a) - xi[n]! * Math.sin(a);
        im += xr[n]! * Math.sin(a) + xi[n]! * Math.cos(a);
      }
      assert.ok(Math.abs(re - yr[k]!) < 1e-9 && Math.abs(im - yi[k]!) < 1e-9, `bin ${k}`);
    }
    const zr = new Float64Array(N);
    const zi = new Float64Array(N);
    fft.transform(yr, yi, zr, zi, 1);
    for (let n = 0; n < N; n++) assert.ok(Math.abs(zr[n]! / N - xr[n]!) < 1e-12);
  });

  it('STFT (Vorbis window, hop 480) reconstructs the input delayed by fft − hop = 480 samples', () => {
    const rng = new SeededRandom(2);
    const x = Float32Array.from({ length: 4800 }, () => rng.normal() * 0.1);
    const stft = new Dfn3Stft(960, 480);
    const padded = new Float32Array(x.length + 960);
    padded.set(x);
    const y = stft.synthesis(stft.analysis(padded));
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(y[i + 480]! - x[i]!));
    assert.ok(err < 1e-5, `max error ${err}`);
  });

  it('ERB bands and normalisation α follow libDF for 48 kHz / 960 / 32 bands', () => {
    const w = erbWidths(48_000, 960, 32, 2);
    assert.equal(
      w.reduce((a, b) => a + b, 0),
      481,
    );
    assert.deepEqual(w.slice(0, 13), new Array<number>(13).fill(2));
    assert.deepEqual(w.slice(13), [5, 5, 7, 7, 8, 10, 12, 13, 15, 18, 20, 24, 28, 31, 37, 42, 50, 56, 67]);
    assert.equal(normAlpha(48_000, 480, 1), 0.99);
  });
});

describe('RNNoise peer', () => {
  let peer: RnnoisePeer;
  before(async () => {
    peer = await RnnoisePeer.create();
  });

  it('returns as many samples as given, finite, for short and odd lengths', () => {
    const rng = new SeededRandom(3);
    for (const n of [0, 1, 159, 160, 161, 479, 1000, 4801]) {
      const y = peer.process(Float32Array.from({ length: n }, () => 0.05 * rng.normal()));
      assert.equal(y.length, n);
      assert.ok(y.every(Number.isFinite));
    }
  });

  it('streams bit-identically to the whole-signal call for any chunking', { skip: SHARED_SKIP }, async () => {
    const { noisy } = await mixture();
    const x = noisy.subarray(0, 1.5 * FS);
    const whole = peer.process(x);
    for (const [seed, maxChunk] of [
      [4, 7],
      [5, 2000],
    ] as const) {
      const rng = new SeededRandom(seed);
      const s = peer.stream();
      const parts: number[] = [];
      for (let p = 0; p < x.length;) {
        const n = Math.min(rng.int(maxChunk + 1), x.length - p);
        parts.push(...s.push(x.subarray(p, p + n)));
        p += n;
      }
      parts.push(...s.flush());
      s.destroy();
      assert.deepEqual(Float32Array.from(parts), whole, `chunks ≤ ${maxChunk}`);
    }
  });

  it(
    'is aligned with its input: cross-correlation peak at lag 0 (160 samples = 10 ms uncompensated)',
    { skip: SHARED_SKIP },
    async () => {
      const { clean } = await mixture();
      assert.equal(crossCorrelationLag(clean, peer.process(clean), 320), 0);
      assert.equal(crossCorrelationLag(clean, peer.process(clean, { delayCompensation48k: 0 }), 320), 160);
    },
  );

  it(
    'reduces real street noise at 0 dB and keeps clean speech (SI-SDR of clean in → out > 15 dB)',
    { skip: SHARED_SKIP },
    async () => {
      const { clean, noise, noisy } = await mixture();
      const y = peer.process(noisy);
      assert.equal(y.length, noisy.length);
      const before = siSdr(clean, noisy);
      const after = siSdr(clean, y);
      assert.ok(after > before + 3, `SI-SDR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
      const noiseDb = 10 * Math.log10(energy(noise));
      const residualDb = residualNoiseDb(clean, y);
      assert.ok(residualDb < noiseDb - 3, `noise ${noiseDb.toFixed(2)} dB → ${residualDb.toFixed(2)} dB`);
      const kept = siSdr(clean, peer.process(clean));
      assert.ok(kept > 15, `clean SI-SDR ${kept.toFixed(2)} dB`);
    },
  );
});

describe('DeepFilterNet3 peer', { skip: DFN3_SKIP }, () => {
  let peer: DeepFilterNet3Peer;
  before(async () => {
    peer = await DeepFilterNet3Peer.create(DFN3_DIR);
  });
  after(async () => {
    await peer.release();
  });

  it('reads config.ini, and the graphs have the interface the runner feeds', () => {
    const g = peer.graphs();
    const names = (l: readonly { name: string }[]): string[] => l.map((t) => t.name);
    assert.deepEqual(names(g.enc.inputs), ['feat_erb', 'feat_spec']);
    assert.deepEqual(g.enc.inputs[0]!.dims.length, 4);
    assert.deepEqual([g.enc.inputs[1]!.dims[1], g.enc.inputs[1]!.dims[3]], [2, 96]);
    assert.deepEqual(names(g.enc.outputs), ['e0', 'e1', 'e2', 'e3', 'emb', 'c0', 'lsnr']);
    assert.deepEqual(names(g.erb_dec.inputs), ['emb', 'e3', 'e2', 'e1', 'e0']);
    assert.deepEqual(names(g.erb_dec.outputs), ['m']);
    assert.deepEqual(names(g.df_dec.inputs), ['emb', 'c0']);
    assert.equal(g.df_dec.outputs[0]!.name, 'coefs');
    assert.equal(g.df_dec.outputs[0]!.dims[3], 10);
    assert.deepEqual(
      { ...peer.config },
      {
        sr: 48_000,
        fftSize: 960,
        hopSize: 480,
        nbErb: 32,
        nbDf: 96,
        normTau: 1,
        minNbErbFreqs: 2,
        dfOrder: 5,
        dfLookahead: 2,
        convLookahead: 2,
      },
    );
  });

  it('gives finite output of the input length, aligned with it, and improves SI-SDR at 0 dB', async () => {
    const { clean, noisy } = await mixture();
    const y = await peer.process(noisy);
    assert.equal(y.length, noisy.length);
    assert.ok(y.every(Number.isFinite));
    const before = siSdr(clean, noisy);
    const after = siSdr(clean, y);
    assert.ok(after > before + 5, `SI-SDR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
    assert.equal(crossCorrelationLag(clean, await peer.process(clean), 320), 0);
    const short = await peer.process(new Float32Array(161).fill(0.01));
    assert.equal(short.length, 161);
    assert.ok(short.every(Number.isFinite));
  });
});
