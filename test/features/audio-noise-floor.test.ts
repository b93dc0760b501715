import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_NOISE_FLOOR,
  NoiseFloorTracker,
  aPosterioriSnrFrames,
  checkNoiseFloorParams,
} from '../../src/streams/features/audio/noise-floor.ts';
import type { NoiseFloorParams } from '../../src/streams/features/audio/noise-floor.ts';
import { LIVE_STFT_512_128, stft } from '../../src/streams/features/audio/stft.ts';
import { concatFloat32, prng } from '../support/fixtures.ts';

const RATE = 125; // frames/s at hop 128, 16 kHz
const BINS = 4;

/** T constant frames of ln power `level` (every bin). */
function constant(frames: number, level: number): Float32Array {
  return new Float32Array(frames * BINS).fill(level);
}

function frameAt(s: Float32Array, t: number): number[] {
  return Array.from(s.subarray(t * BINS, (t + 1) * BINS));
}

describe('noise floor (minimum statistics) and a posteriori SNR', () => {
  test('a steady level is its own floor: s = 0', () => {
    const s = aPosterioriSnrFrames(constant(300, -3), { bins: BINS, frameRateHz: RATE });
    for (const v of s) assert.ok(Math.abs(v) < 1e-6, `s ${v}`);
  });

  test('a burst shorter than the window leaves the floor where it was: s is the burst level over it', () => {
    const x = concatFloat32([constant(250, -2), constant(60, 3), constant(50, -2)]);
    const s = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE });
    // Late in the burst the smoothed power has reached the burst level; the floor is still the noise.
    for (const v of frameAt(s, 305)) assert.ok(Math.abs(v - 5) < 1e-3, `s ${v} in the burst`);
    for (const v of frameAt(s, 355)) assert.ok(Math.abs(v) < 1e-3, `s ${v} after the burst`);
  });

  test('a lasting rise of the noise is followed once the window has passed', () => {
    const x = concatFloat32([constant(250, -2), constant(400, 1)]);
    const s = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE, windowS: 1.5, subwindows: 8 });
    // Still the old floor 1 s into the rise, the new one after window + sub-window (≈ 1.7 s).
    for (const v of frameAt(s, 250 + 125)) assert.ok(Math.abs(v - 3) < 1e-3, `s ${v} at 1 s`);
    for (const v of frameAt(s, 250 + 260)) assert.ok(Math.abs(v) < 1e-3, `s ${v} at 2.1 s`);
  });

  test('a fall of the noise is followed within the smoothing time', () => {
    const x = concatFloat32([constant(250, 1), constant(100, -2)]);
    const s = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE });
    for (const v of frameAt(s, 250 + 80)) assert.ok(Math.abs(v) < 0.01, `s ${v}`);
  });

  test('s does not depend on the recording level', () => {
    const r = prng(5);
    const x = new Float32Array(400 * BINS).map(() => -4 + 3 * r());
    const a = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE });
    const b = aPosterioriSnrFrames(
      x.map((v) => v + 2.5),
      { bins: BINS, frameRateHz: RATE },
    );
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4);
  });

  test('white noise: s stays at the bias of the minimum; a tone over it stands out', () => {
    const r = prng(9);
    const n = 16_000 * 3;
    const noise = new Float32Array(n).map(() => 0.05 * (r() * 2 - 1));
    const tone = noise.map((v, i) => (i >= 32_000 && i < 40_000 ? v + 0.5 * Math.sin(i * 0.2) : v));
    const f = stft(tone, LIVE_STFT_512_128);
    const s = aPosterioriSnrFrames(f.logPower, { bins: f.bins, frameRateHz: RATE });
    const toneBin = Math.round((0.2 / (2 * Math.PI)) * 512);
    const at = (t: number, k: number): number => s[t * f.bins + k]!;
    // Noise-only frames after warm-up: the median over bins is the minimum's bias (uncorrected: the minimum
    // of the smoothed periodogram lies some 15 dB under the mean power for β 0.9 and a 1.5 s window).
    const noiseVals = Array.from({ length: f.bins }, (_, k) => at(200, k)).sort((p, q) => p - q);
    const median = noiseVals[Math.floor(f.bins / 2)]!;
    assert.ok(median > 1 && median < 5, `median s in noise ${median}`);
    const tFrame = Math.round(36_000 / 128);
    assert.ok(at(tFrame, toneBin) > 8, `tone s ${at(tFrame, toneBin)}`);
  });

  test('streaming frame by frame equals the whole-array function', () => {
    const r = prng(2);
    const x = new Float32Array(100 * BINS).map(() => r() * 4 - 2);
    const whole = aPosterioriSnrFrames(x, { bins: BINS, frameRateHz: RATE });
    const t = new NoiseFloorTracker({ bins: BINS, frameRateHz: RATE });
    for (let i = 0; i < 100; i++)
      assert.deepEqual(Array.from(t.push(x.subarray(i * BINS, (i + 1) * BINS))), frameAt(whole, i));
    assert.equal(t.count, 100);
  });

  test('bad parameters and frames are refused', () => {
    assert.throws(() => new NoiseFloorTracker({ bins: 0, frameRateHz: RATE }), /bins/);
    assert.throws(() => new NoiseFloorTracker({ bins: 4, frameRateHz: 0 }), /frame rate/);
    assert.throws(() => new NoiseFloorTracker({ bins: 4, frameRateHz: RATE, windowS: 0 }), /windowS/);
    assert.throws(() => new NoiseFloorTracker({ bins: 4, frameRateHz: RATE, subwindows: 1.5 }), /subwindows/);
    assert.throws(() => new NoiseFloorTracker({ bins: 4, frameRateHz: RATE, smoothing: 1 }), /smoothing/);
    // From a sidecar: null and strings are not numbers; the sub-window count is bounded.
    const fromJson = (p: Record<string, unknown>) => () =>
      checkNoiseFloorParams({ ...DEFAULT_NOISE_FLOOR, ...p } as NoiseFloorParams);
    assert.throws(fromJson({ smoothing: null }), /smoothing null/);
    assert.throws(fromJson({ smoothing: '0.5' }), /smoothing 0.5 must be a number/);
    assert.throws(fromJson({ windowS: null }), /windowS/);
    assert.throws(fromJson({ subwindows: 1e6 }), /subwindows/);
    assert.throws(() => new NoiseFloorTracker({ bins: 4, frameRateHz: RATE }).push([1, 2]), /frame of 2/);
    assert.throws(() => aPosterioriSnrFrames(new Float32Array(5), { bins: 4, frameRateHz: RATE }), /frames/);
  });
});

describe('noise floor: held frames', () => {
  test('held frames (concealed gaps) are scored against the floor and leave it unchanged', () => {
    const t = new NoiseFloorTracker({ bins: BINS, frameRateHz: RATE });
    const level = new Float32Array(BINS).fill(-2);
    const silence = new Float32Array(BINS).fill(-23);
    for (let i = 0; i < 200; i++) t.push(level);
    for (const v of t.push(silence, true)) assert.ok(Math.abs(v + 21) < 1e-4, `held s ${v}`);
    for (let i = 0; i < 50; i++) t.push(silence, true);
    for (const v of t.push(level)) assert.ok(Math.abs(v) < 1e-4, `s after the hold ${v}`);
    // Before any unheld frame there is no floor: a held frame scores 0 and leaves no state.
    const fresh = new NoiseFloorTracker({ bins: BINS, frameRateHz: RATE });
    assert.deepEqual(Array.from(fresh.push(silence, true)), [0, 0, 0, 0]);
    assert.equal(fresh.count, 0);
    for (const v of fresh.push(level)) assert.ok(Math.abs(v) < 1e-6, `first unheld frame s ${v}`);
    // Unheld, the same silence pulls the floor down.
    for (let i = 0; i < 50; i++) t.push(silence);
    for (const v of t.push(level)) assert.ok(v > 5, `s after unheld silence ${v}`);
  });
});
