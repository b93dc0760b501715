/**
 * Mouth-crop augmentation (src/models/speech/visual-augment.ts): the transform's geometry and photometry on
 * small known crops, missing crops left alone, the input untouched, and the draw's ranges.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRandom } from '../../src/models/common/rng.ts';
import type { AlignedMouth } from '../../src/models/speech/corpus.ts';
import {
  IDENTITY_AUGMENTATION,
  MOUTH_AUGMENT,
  augmentMouth,
  drawMouthAugmentation,
} from '../../src/models/speech/visual-augment.ts';
import { mouthOf } from '../support/mouth.ts';

const px = (m: AlignedMouth, f: number, y: number, x: number, c = 0): number =>
  m.data[f * m.frameSize + (y * m.width + x) * (m.frameSize / (m.width * m.height)) + c]!;

describe('mouth-crop augmentation', () => {
  // A ramp: value depends on position, so moves are visible; in [0.1, 0.85].
  const ramp = mouthOf(3, 6, 4, 1, (f, y, x) => 0.1 + 0.1 * x + 0.05 * y + 0.01 * f);

  test('identity leaves every value as it was, in a new array; the input is never changed', () => {
    const before = ramp.data.slice();
    const out = augmentMouth(ramp, IDENTITY_AUGMENTATION);
    assert.notEqual(out.data, ramp.data);
    assert.deepEqual(out.data, ramp.data);
    augmentMouth(ramp, { mirror: true, dx: 2, dy: -1, contrast: 1.2, brightness: 0.1 });
    assert.deepEqual(ramp.data, before);
  });

  test('mirror image: column x takes column w − 1 − x; twice is the identity', () => {
    const m = augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, mirror: true });
    for (let f = 0; f < 3; f++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 6; x++) assert.equal(px(m, f, y, x), px(ramp, f, y, 5 - x));
    assert.deepEqual(augmentMouth(m, { ...IDENTITY_AUGMENTATION, mirror: true }).data, ramp.data);
  });

  test('shift: content moves right / down, the uncovered border repeats the edge', () => {
    const m = augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, dx: 2, dy: -1 });
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 6; x++)
        assert.equal(px(m, 1, y, x), px(ramp, 1, Math.min(3, y + 1), Math.max(0, x - 2)), `${y},${x}`);
    // Shift then mirror: the mirrored image of the shifted crop.
    const both = augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, dx: 1, mirror: true });
    const shifted = augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, dx: 1 });
    for (let x = 0; x < 6; x++) assert.equal(px(both, 0, 2, x), px(shifted, 0, 2, 5 - x));
  });

  test("contrast about the clip's mean over present crops, brightness added, clamped to [0, 1]; missing crops stay zero", () => {
    const m = mouthOf(4, 2, 2, 1, (f, _y, x) => (f === 1 ? 0 : 0.2 + 0.6 * x), [2]);
    // Present frames 0, 1, 3: values 0.2, 0.8 (×2 each) in frames 0 and 3, zeros in frame 1 → mean 1/3.
    const mean = (2 * (0.2 + 0.8) * 2) / 12;
    const out = augmentMouth(m, { ...IDENTITY_AUGMENTATION, contrast: 1.5, brightness: 0.05 });
    const want = (v: number): number => Math.min(1, Math.max(0, (v - mean) * 1.5 + mean + 0.05));
    assert.ok(Math.abs(px(out, 0, 0, 0) - want(0.2)) < 1e-6);
    assert.equal(px(out, 0, 0, 1), 1); // (0.8 − ⅓)·1.5 + ⅓ + 0.05 > 1: clamped
    assert.equal(px(out, 1, 1, 1), 0); // (0 − ⅓)·1.5 + ⅓ + 0.05 < 0: clamped
    for (let i = 2 * 4; i < 3 * 4; i++) assert.equal(out.data[i], 0);
    assert.deepEqual(out.present, m.present);
  });

  test('colour crops: the channels of a pixel move together', () => {
    const rgb = mouthOf(1, 3, 2, 3, (_f, y, x, c) => 0.1 * x + 0.2 * y + 0.03 * c);
    const out = augmentMouth(rgb, { ...IDENTITY_AUGMENTATION, mirror: true, dy: 1 });
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let c = 0; c < 3; c++)
          assert.equal(px(out, 0, y, x, c), px(rgb, 0, Math.max(0, y - 1), 2 - x, c));
  });

  test('refuses a frame size that is not width × height × channels, a fractional shift, a contrast ≤ 0', () => {
    assert.throws(() => augmentMouth({ ...ramp, frameSize: 25 }, IDENTITY_AUGMENTATION), /frame size 25/);
    assert.throws(() => augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, dx: 0.5 }), /whole pixels/);
    assert.throws(() => augmentMouth(ramp, { ...IDENTITY_AUGMENTATION, contrast: 0 }), /contrast/);
  });

  test('the draw covers the ranges of the rule and only them', () => {
    const rng = new SeededRandom(3);
    const dx = new Set<number>();
    const dy = new Set<number>();
    let mirrored = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const a = drawMouthAugmentation(rng);
      dx.add(a.dx);
      dy.add(a.dy);
      if (a.mirror) mirrored++;
      assert.ok(a.contrast >= MOUTH_AUGMENT.contrast[0] && a.contrast < MOUTH_AUGMENT.contrast[1]);
      assert.ok(a.brightness >= MOUTH_AUGMENT.brightness[0] && a.brightness < MOUTH_AUGMENT.brightness[1]);
    }
    assert.deepEqual(
      [...dx].sort((a, b) => a - b),
      [-2, -1, 0, 1, 2],
    );
    assert.deepEqual(
      [...dy].sort((a, b) => a - b),
      [-1, 0, 1],
    );
    assert.ok(Math.abs(mirrored / n - 0.5) < 0.03, `${mirrored} of ${n} mirrored`);
  });
});
