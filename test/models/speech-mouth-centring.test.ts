/**
 * Centred mouth input (src/models/speech/mouth-centring.ts): the running mean's recurrence on known crops, a
 * still face giving zeros, a missing crop restarting the mean, the whole-clip function equal to the streaming
 * one, and the time constant's checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MOUTH_CENTRING_MAX_S,
  MouthCentring,
  centreAlignedMouth,
  centringAlpha,
  centringError,
} from '../../src/models/speech/mouth-centring.ts';
import { mouthOf } from '../support/mouth.ts';

describe('centred mouth input', () => {
  test('α = 1 − exp(−hop/τ); τ outside (0, max] and a bad hop are refused', () => {
    assert.ok(Math.abs(centringAlpha(1, 0.008) - (1 - Math.exp(-0.008))) < 1e-15);
    assert.ok(Math.abs(centringAlpha(0.5, 0.01) - (1 - Math.exp(-0.02))) < 1e-15);
    for (const bad of [0, -1, NaN, MOUTH_CENTRING_MAX_S + 1, Infinity])
      assert.throws(() => centringAlpha(bad, 0.008), /visual centring time constant/);
    assert.throws(() => centringAlpha(1, 0), /hop/);
    assert.equal(centringError(1), undefined);
    assert.match(centringError('1') ?? '', /must be a number of seconds/);
  });

  test('a still face gives zeros from its first frame on', () => {
    const c = new MouthCentring(4, 0.1);
    const face = Float32Array.of(0.2, 0.4, 0.6, 0.8);
    for (let t = 0; t < 20; t++) assert.deepEqual(Array.from(c.next(face)), [0, 0, 0, 0]);
  });

  test('a step follows the running mean: x − m with m ← m + α(x − m), starting on the first crop', () => {
    const alpha = 0.25;
    const c = new MouthCentring(2, alpha);
    c.next(Float32Array.of(0, 1));
    let m = [0, 1];
    for (let t = 1; t < 8; t++) {
      const x = [1, 0];
      m = m.map((v, i) => v + alpha * (x[i]! - v));
      const y = c.next(Float32Array.from(x));
      y.forEach((v, i) => assert.ok(Math.abs(v - (x[i]! - m[i]!)) < 1e-6, `t ${t} pixel ${i}: ${v}`));
    }
    // The step decays as (1 − α)^t of its size.
    const d = c.next(Float32Array.of(1, 0));
    assert.ok(Math.abs(d[0]! - 0.75 ** 8) < 1e-6);
    assert.ok(Math.abs(d[1]! + 0.75 ** 8) < 1e-6);
  });

  test('a frame without a crop is zeros and restarts the mean; the output buffer is the one given', () => {
    const c = new MouthCentring(1, 0.5);
    c.next(Float32Array.of(0));
    assert.equal(c.next(Float32Array.of(1))[0], 0.5);
    const out = new Float32Array(1).fill(9);
    assert.equal(c.next(undefined, out), out);
    assert.equal(out[0], 0);
    assert.equal(c.next(Float32Array.of(1))[0], 0, 'a new run starts on its first crop');
    c.reset();
    assert.equal(c.next(Float32Array.of(0.3))[0], 0);
    assert.throws(() => c.next(Float32Array.of(1, 2)), /crop of 2, want 1/);
    assert.throws(() => new MouthCentring(0, 0.5), /pixels/);
    assert.throws(() => new MouthCentring(4, 0), /α 0/);
  });

  test('a whole clip equals the streaming state frame by frame; present kept, input untouched', () => {
    const clip = mouthOf(30, 4, 3, 1, (f, y, x) => 0.3 + 0.2 * Math.sin(f / 3 + x) + 0.05 * y, [7, 8, 20]);
    const before = clip.data.slice();
    const alpha = centringAlpha(1, 0.008);
    const out = centreAlignedMouth(clip, alpha);
    assert.deepEqual(clip.data, before);
    assert.deepEqual(out.present, clip.present);
    const c = new MouthCentring(clip.frameSize, alpha);
    for (let t = 0; t < clip.frames; t++) {
      const row = clip.data.subarray(t * clip.frameSize, (t + 1) * clip.frameSize);
      const want = c.next(clip.present[t] === 1 ? row : undefined);
      assert.deepEqual(out.data.subarray(t * clip.frameSize, (t + 1) * clip.frameSize), want);
    }
    // The first frame of each run (0, 9, 21) is zeros; missing frames are zeros.
    for (const t of [0, 7, 8, 9, 20, 21])
      assert.ok(
        out.data.subarray(t * 12, (t + 1) * 12).every((v) => v === 0),
        `frame ${t}`,
      );
    assert.ok(out.data.subarray(12, 24).some((v) => v !== 0));
  });
});
