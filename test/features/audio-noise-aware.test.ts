import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  NoiseAwareInput,
  checkNoiseAwareParams,
  noiseAwareChannels,
  noiseAwareFrames,
  paddedStartFrames,
} from '../../src/streams/features/audio/noise-aware.ts';
import type { NoiseAwareParams } from '../../src/streams/features/audio/noise-aware.ts';
import { DEFAULT_NOISE_FLOOR, aPosterioriSnrFrames } from '../../src/streams/features/audio/noise-floor.ts';
import { DEFAULT_PRIOR_SNR } from '../../src/streams/features/audio/prior-snr.ts';
import { LIVE_STFT_512_128, stft } from '../../src/streams/features/audio/stft.ts';
import { prng } from '../support/fixtures.ts';

const RATE = 125;

/** Mean of s over frames [from, to) and all bins. */
function meanOver(s: Float32Array, bins: number, from: number, to: number): number {
  let sum = 0;
  for (let i = from * bins; i < to * bins; i++) sum += s[i]!;
  return sum / ((to - from) * bins);
}

/** Low-frequency-heavy noise (a leaky integral of white noise), like a car cabin: steep spectral slope. */
function rumble(samples: number, seed: number): Float32Array {
  const r = prng(seed);
  const out = new Float32Array(samples);
  let y = 0;
  for (let i = 0; i < samples; i++) {
    y = 0.995 * y + (r() - 0.5);
    out[i] = 0.01 * y;
  }
  return out;
}

describe('noise-aware input', () => {
  test('the STFT start frames: ceil(W/hop) − 1', () => {
    assert.equal(paddedStartFrames(512, 128), 3);
    assert.equal(paddedStartFrames(320, 160), 1);
    assert.equal(paddedStartFrames(512, 320), 1);
  });

  test('held start frames: the rest equals a tracker started after them; they score 0', () => {
    const bins = 6;
    const r = prng(5);
    const x = Float32Array.from({ length: 120 * bins }, () => -5 + 4 * r());
    const [s] = noiseAwareFrames(x, bins, RATE, { ...DEFAULT_NOISE_FLOOR, startHoldFrames: 3 });
    const late = aPosterioriSnrFrames(x.subarray(3 * bins), { bins, frameRateHz: RATE });
    assert.deepEqual(s!.subarray(3 * bins), late);
    assert.ok(s!.subarray(0, 3 * bins).every((v) => v === 0));
  });

  test('on low-frequency noise the zero-padded start frames would bias the floor for a second; held, they do not', () => {
    // The first windows hold part signal, part zeros: less power where the noise is strong, and the onset
    // leaks broadband power where it is weak; either way a floor started there is wrong for a whole window.
    const spec = stft(rumble(16_000 * 4, 11), LIVE_STFT_512_128);
    const b = spec.bins;
    const [held] = noiseAwareFrames(spec.logPower, b, RATE, { ...DEFAULT_NOISE_FLOOR, startHoldFrames: 3 });
    const [unheld] = noiseAwareFrames(spec.logPower, b, RATE, DEFAULT_NOISE_FLOOR);
    const steady = meanOver(held!, b, 300, 450);
    assert.ok(Math.abs(meanOver(held!, b, 3, 100) - steady) < 0.5, 'held: the first second is like the rest');
    const early = meanOver(unheld!, b, 3, 100);
    assert.ok(Math.abs(early - steady) > 2, `unheld: s ${early} at first, ${steady} later`);
  });

  test('channels: the SNR, and with `prior` ln ξ ≥ ln ξ_min; the prior leaves the SNR channel as it was', () => {
    const bins = 5;
    const params: NoiseAwareParams = { ...DEFAULT_NOISE_FLOOR, startHoldFrames: 2, prior: DEFAULT_PRIOR_SNR };
    assert.equal(noiseAwareChannels(params), 2);
    assert.equal(noiseAwareChannels(DEFAULT_NOISE_FLOOR), 1);
    const r = prng(9);
    const x = Float32Array.from({ length: 80 * bins }, () => -3 + 5 * r());
    const [s, lnXi] = noiseAwareFrames(x, bins, RATE, params);
    const [alone, none] = noiseAwareFrames(x, bins, RATE, { ...DEFAULT_NOISE_FLOOR, startHoldFrames: 2 });
    assert.equal(none, undefined);
    assert.deepEqual(s, alone);
    const lnXiMin = (DEFAULT_PRIOR_SNR.minDb * Math.LN10) / 10;
    assert.ok(lnXi!.every((v) => v >= lnXiMin - 1e-6 && Number.isFinite(v)));
    assert.ok(lnXi!.some((v) => v > lnXiMin + 1));
  });

  test('snapshot and restore: frames pushed in between leave no trace', () => {
    const bins = 3;
    const params: NoiseAwareParams = { ...DEFAULT_NOISE_FLOOR, prior: DEFAULT_PRIOR_SNR };
    const r = prng(4);
    const frame = () => Float32Array.from({ length: bins }, () => -4 + 6 * r());
    const a = new NoiseAwareInput(bins, RATE, params);
    const b = new NoiseAwareInput(bins, RATE, params);
    for (let t = 0; t < 40; t++) {
      const f = frame();
      a.push(f);
      b.push(f);
    }
    const saved = b.snapshot();
    for (let t = 0; t < 300; t++) b.push(new Float32Array(bins).fill(-23));
    b.restore(saved);
    for (let t = 0; t < 20; t++) {
      const f = frame();
      assert.deepEqual(b.push(f), a.push(f));
    }
  });

  test('bad parameters are refused', () => {
    const bad = (p: Record<string, unknown>) => () =>
      checkNoiseAwareParams({ ...DEFAULT_NOISE_FLOOR, ...p } as NoiseAwareParams);
    assert.throws(bad({ startHoldFrames: 1.5 }), /startHoldFrames 1.5/);
    assert.throws(bad({ startHoldFrames: 1000 }), /startHoldFrames 1000/);
    assert.throws(bad({ startHoldFrames: null }), /startHoldFrames null/);
    assert.throws(bad({ prior: null }), /prior null must be an object/);
    assert.throws(bad({ prior: { ...DEFAULT_PRIOR_SNR, bias: -1 } }), /bias -1/);
    assert.throws(bad({ prior: { ...DEFAULT_PRIOR_SNR, bias: 1e-300 } }), /bias 1e-300/);
    assert.throws(bad({ smoothing: 2 }), /smoothing 2/);
    assert.throws(() => noiseAwareFrames(new Float32Array(7), 3, RATE, DEFAULT_NOISE_FLOOR), /frames of 3/);
  });
});
