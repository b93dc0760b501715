import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aPosterioriSnrFrames } from '../../src/streams/features/audio/noise-floor.ts';
import {
  DEFAULT_PRIOR_SNR,
  PriorSnrTracker,
  checkPriorSnrParams,
} from '../../src/streams/features/audio/prior-snr.ts';
import type { PriorSnrParams } from '../../src/streams/features/audio/prior-snr.ts';
import { concatFloat32, prng } from '../support/fixtures.ts';

const RATE = 125;
const BINS = 4;
const LN_XI_MIN = (-25 * Math.LN10) / 10;

function constant(frames: number, level: number): Float32Array {
  return new Float32Array(frames * BINS).fill(level);
}

/** ln ξ of every frame: the noise-floor tracker's s, then the prior SNR (as the noise-aware input runs them). */
function priorFrames(x: Float32Array, params: PriorSnrParams = DEFAULT_PRIOR_SNR): Float32Array[] {
  const s = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE });
  const p = new PriorSnrTracker(BINS, params);
  const out: Float32Array[] = [];
  for (let o = 0; o < x.length; o += BINS) out.push(p.push(x.subarray(o, o + BINS), s.subarray(o, o + BINS)));
  return out;
}

describe('a priori SNR (decision-directed)', () => {
  test('steady noise decays to ξ_min', () => {
    const xi = priorFrames(constant(300, -3));
    for (const v of xi[299]!) assert.ok(Math.abs(v - LN_XI_MIN) < 1e-4, `ln ξ ${v}`);
  });

  test('a speech-like burst: ξ ≈ (1 − α)(γ − 1) on its first frame, near γ − 1 within a few, ξ_min soon after', () => {
    // 250 frames at −2, then 5 ln units (≈ 21.7 dB) above: s = 5, γ = e^5 / bias.
    const xi = priorFrames(concatFloat32([constant(250, -2), constant(40, 3), constant(200, -2)]));
    const gamma = Math.exp(5) / DEFAULT_PRIOR_SNR.bias;
    const first = Math.exp(xi[250]![0]!);
    assert.ok(Math.abs(first - 0.02 * (gamma - 1)) < 0.01, `first burst frame ξ ${first}`);
    const settled = Math.exp(xi[270]![0]!);
    assert.ok(settled > gamma - 3 && settled < gamma - 1, `ξ ${settled} for γ ${gamma}`);
    // At the offset the previous frame's estimate carries ξ one frame on, then it falls back to ξ_min.
    assert.ok(Math.exp(xi[290]![0]!) > gamma - 5, 'the first frame after the burst still sees it');
    assert.ok(Math.exp(xi[291]![0]!) < 1, 'the second does not');
    for (const v of xi[300]!) assert.ok(Math.abs(v - LN_XI_MIN) < 1e-3, `ln ξ ${v} 10 frames after`);
  });

  test('invariant to the recording level', () => {
    const r = prng(7);
    const x = Float32Array.from({ length: 200 * BINS }, () => -4 + 3 * r());
    const a = priorFrames(x);
    const b = priorFrames(x.map((v) => v + 4.6));
    a.forEach((f, t) => f.forEach((v, k) => assert.ok(Math.abs(v - b[t]![k]!) < 1e-4, `${t}/${k}`)));
  });

  test('held frames leave the state as it was', () => {
    const r = prng(3);
    const frames = Array.from({ length: 60 }, () => Float32Array.from({ length: BINS }, () => 4 * r()));
    const s = frames.map(() => Float32Array.from({ length: BINS }, () => 3 * r()));
    const a = new PriorSnrTracker(BINS);
    const b = new PriorSnrTracker(BINS);
    for (let t = 0; t < 60; t++) {
      const want = a.push(frames[t]!, s[t]!);
      if (t === 30) b.push(frames[5]!, s[5]!, true);
      assert.deepEqual(b.push(frames[t]!, s[t]!), want);
    }
  });

  test('bad parameters and frame sizes are refused', () => {
    const bad = (p: Record<string, unknown>) => () =>
      checkPriorSnrParams({ ...DEFAULT_PRIOR_SNR, ...p } as PriorSnrParams);
    assert.throws(bad({ alpha: 1 }), /alpha 1/);
    assert.throws(bad({ alpha: '0.9' }), /alpha 0.9 must be a number/);
    assert.throws(bad({ bias: 0 }), /bias 0/);
    assert.throws(bad({ minDb: 3 }), /minDb 3/);
    assert.throws(bad({ minDb: null }), /minDb null/);
    assert.throws(() => new PriorSnrTracker(0), /0 bins/);
    assert.throws(() => new PriorSnrTracker(BINS).push([1, 2, 3, 4], [1]), /frames of 4 and 1/);
  });
});
