import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SPP_NOISE,
  SPP_PRIOR_BIAS,
  SppNoiseTracker,
  checkSppNoiseParams,
} from '../../src/streams/features/audio/spp-noise.ts';
import type { SppNoiseParams } from '../../src/streams/features/audio/spp-noise.ts';
import { NoiseAwareInput, checkNoiseAwareParams } from '../../src/streams/features/audio/noise-aware.ts';
import { DEFAULT_NOISE_FLOOR } from '../../src/streams/features/audio/noise-floor.ts';
import { DEFAULT_PRIOR_SNR } from '../../src/streams/features/audio/prior-snr.ts';
import type { NoiseAwareParams } from '../../src/streams/features/audio/noise-aware.ts';
import { prng } from '../support/fixtures.ts';

const BINS = 64;

/** A periodogram frame of steady noise of mean power `power` in every bin (exponential draws), as ln power. */
function noiseFrame(r: () => number, power: number): Float32Array {
  return Float32Array.from({ length: BINS }, () => Math.log(-Math.log(1 - r()) * power));
}

/** Mean of s over bins. */
function mean(s: Float32Array): number {
  return s.reduce((a, v) => a + v, 0) / s.length;
}

/** The tracker's noise power, read back from s = x − ln λ, averaged over bins (dB). */
function noiseDb(x: Float32Array, s: Float32Array): number {
  let sum = 0;
  for (let k = 0; k < x.length; k++) sum += x[k]! - s[k]!;
  return ((sum / x.length) * 10) / Math.LN10;
}

describe('SPP noise tracker', () => {
  test(`steady noise: E[s] ≈ −0.36, the bias the prior SNR's factor ${SPP_PRIOR_BIAS} stands for`, () => {
    const r = prng(3);
    const t = new SppNoiseTracker(BINS);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < 3000; i++) {
      const s = t.push(noiseFrame(r, 2));
      if (i >= 500) {
        sum += mean(s);
        n++;
      }
    }
    const m = sum / n;
    assert.ok(Math.abs(m + 0.36) < 0.05, `E[s] ${m}`);
    // An unbiased λ would give −γ_Euler = −0.577; the factor is e^{E[s] + 0.577}.
    assert.ok(Math.abs(Math.exp(m + 0.5772) - SPP_PRIOR_BIAS) < 0.08, `bias ${Math.exp(m + 0.5772)}`);
  });

  test('the first frames start λ at their running mean: the first frame scores 0', () => {
    const t = new SppNoiseTracker(4);
    assert.deepEqual(Array.from(t.push([1, 2, 3, 4])), [0, 0, 0, 0]);
    const s = t.push([1, 2, 3, 4].map((v) => v + Math.log(3)));
    // λ = (e^x + 3e^x)/2 = 2e^x: s = ln 3 − ln 2.
    for (const v of s) assert.ok(Math.abs(v - Math.log(1.5)) < 1e-6, `s ${v}`);
  });

  test('a speech burst of 0.4 s, 20 dB over the noise, barely moves λ; s stands out in it', () => {
    const r = prng(5);
    const t = new SppNoiseTracker(BINS);
    let before = 0;
    for (let i = 0; i < 400; i++) {
      const x = noiseFrame(r, 1);
      before = noiseDb(x, t.push(x));
    }
    let inBurst = 0;
    for (let i = 0; i < 50; i++) inBurst = mean(t.push(noiseFrame(r, 100)));
    assert.ok(inBurst > 3, `s in the burst ${inBurst}`);
    const x = noiseFrame(r, 1);
    const after = noiseDb(x, t.push(x));
    assert.ok(Math.abs(after - before) < 1, `λ moved ${after - before} dB`);
  });

  test('a lasting 10 dB rise of the noise is followed within 3 s; a fall within 2 s (smoothing 0.98: 2 % a frame)', () => {
    const r = prng(7);
    const t = new SppNoiseTracker(BINS);
    for (let i = 0; i < 400; i++) t.push(noiseFrame(r, 1));
    let db = 0;
    for (let i = 0; i < 375; i++) {
      const x = noiseFrame(r, 10);
      db = noiseDb(x, t.push(x));
    }
    // The tracker's λ for noise of mean power 10 is ≈ 10/1.25 (the steady bias): 8.1 dB.
    assert.ok(Math.abs(db - 10 * Math.log10(10 / SPP_PRIOR_BIAS)) < 1.5, `λ after 3 s of the rise ${db} dB`);
    for (let i = 0; i < 250; i++) {
      const x = noiseFrame(r, 1);
      db = noiseDb(x, t.push(x));
    }
    assert.ok(Math.abs(db - 10 * Math.log10(1 / SPP_PRIOR_BIAS)) < 1.5, `λ 2 s after the fall ${db} dB`);
  });

  test('s does not depend on the recording level', () => {
    const r = prng(9);
    const frames = Array.from({ length: 300 }, (_, i) => noiseFrame(r, i > 150 && i < 200 ? 30 : 1));
    const a = new SppNoiseTracker(BINS);
    const b = new SppNoiseTracker(BINS);
    let worst = 0;
    for (const f of frames) {
      const sa = a.push(f);
      const sb = b.push(f.map((v) => v + 2.5));
      for (let k = 0; k < BINS; k++) worst = Math.max(worst, Math.abs(sa[k]! - sb[k]!));
    }
    assert.ok(worst < 1e-4, `${worst}`);
  });

  test('held frames are scored against λ and leave it; before any unheld frame they score 0', () => {
    const t = new SppNoiseTracker(4);
    assert.deepEqual(Array.from(t.push([5, 5, 5, 5], true)), [0, 0, 0, 0]);
    assert.equal(t.count, 0);
    for (let i = 0; i < 20; i++) t.push([-2, -2, -2, -2]);
    for (const v of t.push([-23, -23, -23, -23], true)) assert.ok(Math.abs(v + 21) < 1e-6, `held s ${v}`);
    for (let i = 0; i < 100; i++) t.push([-23, -23, -23, -23], true);
    for (const v of t.push([-2, -2, -2, -2])) assert.ok(Math.abs(v) < 1e-6, `s after the hold ${v}`);
    assert.equal(t.count, 21);
  });

  test('snapshot and restore, also through the noise-aware input; a state of the other tracker is refused', () => {
    const r = prng(11);
    const params: NoiseAwareParams = {
      ...DEFAULT_NOISE_FLOOR,
      spp: DEFAULT_SPP_NOISE,
      prior: DEFAULT_PRIOR_SNR,
    };
    const a = new NoiseAwareInput(BINS, 125, params);
    const b = new NoiseAwareInput(BINS, 125, params);
    for (let i = 0; i < 40; i++) {
      const f = noiseFrame(r, 1);
      a.push(f);
      b.push(f);
    }
    const saved = b.snapshot();
    for (let i = 0; i < 200; i++) b.push(noiseFrame(r, 50));
    b.restore(saved);
    for (let i = 0; i < 20; i++) {
      const f = noiseFrame(r, 3);
      assert.deepEqual(b.push(f), a.push(f));
    }
    const floor = new NoiseAwareInput(BINS, 125, DEFAULT_NOISE_FLOOR);
    assert.throws(() => floor.restore(saved), /another noise tracker/);
    assert.throws(() => b.restore(floor.snapshot()), /another noise tracker/);
  });

  test('bad parameters are refused, by the tracker and from a sidecar', () => {
    const bad = (p: Record<string, unknown>) => () =>
      checkSppNoiseParams({ ...DEFAULT_SPP_NOISE, ...p } as SppNoiseParams);
    assert.throws(bad({ smoothing: 1 }), /smoothing 1/);
    assert.throws(bad({ smoothing: null }), /smoothing null/);
    assert.throws(bad({ priorDb: 40 }), /priorDb 40/);
    assert.throws(bad({ initFrames: 0 }), /initFrames 0/);
    assert.throws(bad({ initFrames: 2.5 }), /initFrames 2.5/);
    assert.throws(() => new SppNoiseTracker(0), /0 bins/);
    assert.throws(() => new SppNoiseTracker(4).push([1, 2]), /frame of 2/);
    const na = (spp: unknown) => () =>
      checkNoiseAwareParams({ ...DEFAULT_NOISE_FLOOR, spp } as NoiseAwareParams);
    assert.throws(na(null), /spp null must be an object/);
    assert.throws(na({ ...DEFAULT_SPP_NOISE, initFrames: -1 }), /initFrames -1/);
  });
});
