/**
 * logMMSE baseline: the exponential integral, chunk invariance of the stream, lengths, silence and NaN
 * safety, and SNR gains on a synthetic tone in white noise and (when ../shared and ffmpeg are there) on a
 * CMU ARCTIC utterance in Berlin street noise at 0 dB.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { expint1, logMmse, logMmseGain, LogMmseStream } from '../../src/models/speech/logmmse.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';
import { energy, hasFfmpeg, streetNoise } from '../support/speech-fixtures.ts';
import { concatFloat32 } from '../support/fixtures.ts';

const FS = 16_000;

/** SNR of `y` against the clean reference `ref`, dB. */
function snrDb(ref: Float32Array, y: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    e += (y[i]! - ref[i]!) ** 2;
  }
  return 10 * Math.log10(s / e);
}

/** Feeds `x` to a stream in pseudo-random chunk sizes (1 … maxChunk, some empty) and concatenates. */
function streamed(x: Float32Array, rateHz: number, seed: number, maxChunk: number): Float32Array {
  const rng = new SeededRandom(seed);
  const s = new LogMmseStream(rateHz);
  const parts: Float32Array[] = [];
  for (let p = 0; p < x.length;) {
    const n = Math.min(rng.int(maxChunk + 1), x.length - p);
    parts.push(s.push(x.subarray(p, p + n)));
    p += n;
  }
  parts.push(s.flush());
  return concatFloat32(parts);
}

/** 0.3 s of white noise, then a 440 Hz tone in the same noise: 0 dB over the tone part. */
function toneInNoise(seconds: number, seed: number): { clean: Float32Array; noisy: Float32Array } {
  const rng = new SeededRandom(seed);
  const n = Math.round(seconds * FS);
  const clean = new Float32Array(n);
  const noisy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    clean[i] = i >= 0.3 * FS ? 0.3 * Math.sin((2 * Math.PI * 440 * i) / FS) : 0;
    noisy[i] = clean[i]! + 0.212 * rng.normal();
  }
  return { clean, noisy };
}

describe('expint1 (E1)', () => {
  it('matches reference values to 1e-13 relative', () => {
    const cases: [number, number][] = [
      [1, 0.21938393439552],
      [0.1, 1.82292395841939],
      [10, 4.15696892968532e-6],
    ];
    for (const [x, want] of cases) {
      const got = expint1(x);
      assert.ok(Math.abs(got - want) <= 1e-13 * want, `E1(${x}) = ${got}, want ${want}`);
    }
  });

  it('is continuous where the series hands over to the continued fraction, and handles the edges', () => {
    const below = expint1(1 - 1e-12);
    const above = expint1(1 + 1e-12);
    assert.ok(Math.abs(below - above) < 1e-11, `${below} vs ${above}`);
    assert.equal(expint1(0), Infinity);
    assert.equal(expint1(Infinity), 0);
    assert.ok(Number.isNaN(expint1(-1)));
    assert.ok(expint1(700) > 0 && expint1(700) < 1e-300);
  });

  it('gives the LSA gain its limits: ξ/(1+ξ) at high SNR, above the Wiener gain at low γ', () => {
    assert.ok(Math.abs(logMmseGain(1e4, 1e4) - 1e4 / (1 + 1e4)) < 1e-9);
    assert.ok(logMmseGain(1, 0.5) > 0.5);
  });
});

describe('logMmse', () => {
  it('streams bit-identically to the whole-signal function for any chunking (16 kHz and resampled)', () => {
    const { noisy } = toneInNoise(1.2, 1);
    const whole = logMmse(noisy, FS);
    assert.deepEqual(streamed(noisy, FS, 2, 500), whole);
    assert.deepEqual(streamed(noisy, FS, 3, 7), whole);
    const n44 = Math.round(0.6 * 44_100);
    const x44 = new Float32Array(n44);
    const rng = new SeededRandom(5);
    for (let i = 0; i < n44; i++)
      x44[i] = 0.2 * Math.sin((2 * Math.PI * 300 * i) / 44_100) + 0.05 * rng.normal();
    const whole44 = logMmse(x44, 44_100);
    assert.equal(whole44.length, n44);
    assert.deepEqual(streamed(x44, 44_100, 6, 900), whole44);
  });

  it('returns as many samples as given, for short and odd lengths', () => {
    const rng = new SeededRandom(7);
    for (const n of [0, 1, 159, 160, 161, 320, 1000, 1121]) {
      const x = rng.floats(n, () => 0.1 * rng.normal());
      const y = logMmse(x, FS);
      assert.equal(y.length, n);
      assert.ok(y.every(Number.isFinite), `non-finite output for ${n} samples`);
    }
  });

  it('improves the SNR of a tone in white noise by more than 8 dB', () => {
    const { clean, noisy } = toneInNoise(2, 8);
    const before = snrDb(clean, noisy);
    const after = snrDb(clean, logMmse(noisy, FS));
    assert.ok(Math.abs(before) < 1, `input SNR ${before.toFixed(2)} dB`);
    assert.ok(after > before + 8, `SNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
  });

  it('maps silence to (finite) silence and stays NaN-free on extreme input', () => {
    const silent = logMmse(new Float32Array(FS), FS);
    assert.ok(silent.every((v) => v === 0));
    const rng = new SeededRandom(9);
    const x = rng.floats(FS, () => (rng.next() < 0.5 ? -1 : 1)); // full-scale noise
    x.fill(0, 4000, 8000); // digital silence after a noisy start
    x[10_000] = 1e3; // an impulse far beyond full scale
    const y = logMmse(x, FS);
    assert.ok(y.every(Number.isFinite));
    assert.ok(y.subarray(4400, 7600).every((v) => v === 0));
  });

  it(
    'improves the SNR of real speech in real street noise at 0 dB',
    { skip: SHARED_SKIP || (!hasFfmpeg() && 'needs ffmpeg to decode the street noise (AAC)') },
    async () => {
      const w = await readWavFile(shared('audio/speech/cmu_arctic/cmu_arctic_us_aew_a0001.wav'));
      assert.equal(w.sampleRateHz, FS);
      const lead = FS / 2; // 0.5 s of noise only before the speech, the estimator's assumption
      const clean = new Float32Array(lead + w.frames);
      clean.set(w.samples, lead);
      const noise = streetNoise(clean.length);
      const g = Math.sqrt(energy(clean) / energy(noise));
      const noisy = clean.map((v, i) => v + g * noise[i]!);
      const before = snrDb(clean, noisy);
      const after = snrDb(clean, logMmse(noisy, FS));
      assert.ok(Math.abs(before) < 0.01);
      assert.ok(after > before + 3, `SNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
    },
  );
});
