import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Image8 } from '../../src/streams/features/camera/image.ts';
import { cropResize, cropResizeGray, resizeGray } from '../../src/streams/features/camera/resize.ts';

function image(
  width: number,
  height: number,
  channels: 1 | 3,
  f: (x: number, y: number, c: number) => number,
): Image8 {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol;

describe('cropResize', () => {
  test('an integer downscale is the exact block mean, normalised to [0, 1]', () => {
    const img = image(48, 32, 3, (x, y, c) => (x * 7 + y * 13 + c * 50) % 256);
    const out = cropResize(img, { x: 0, y: 0, width: 48, height: 32 }, 24, 16);
    for (let oy = 0; oy < 16; oy++)
      for (let ox = 0; ox < 24; ox++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) s += img.data[((2 * oy + dy) * 48 + 2 * ox + dx) * 3 + c]!;
          const want = s / 4 / 255;
          const got = out[(oy * 24 + ox) * 3 + c]!;
          assert.ok(close(got, want, 1e-6), `(${ox},${oy},${c}): ${got} ≠ ${want}`);
        }
  });

  test('anti-aliased: a 1-px checkerboard downscaled ×2 is uniform mid-grey (point sampling gives 0 or 1)', () => {
    const img = image(48, 32, 1, (x, y) => ((x + y) % 2 === 0 ? 255 : 0));
    const out = cropResize(img, { x: 0, y: 0, width: 48, height: 32 }, 24, 16, { color: 'gray' });
    for (const v of out) assert.ok(close(v, 0.5, 1e-6), String(v));
    // A non-integer factor (×2.5) keeps the mean too, within a small ripple.
    const out2 = cropResize(img, { x: 0, y: 0, width: 45, height: 30 }, 18, 12, { color: 'gray' });
    for (const v of out2) assert.ok(Math.abs(v - 0.5) < 0.11, String(v));
  });

  test('fractional boxes weight partial pixels by their coverage', () => {
    // Columns 0..9 hold 0, 10, 20, …; a box [0.5, 2.5) → one output pixel = 0.5·0 + 1·10 + 0.5·20, over 2.
    const img = image(10, 1, 1, (x) => 10 * x);
    const out = cropResize(img, { x: 0.5, y: 0, width: 2, height: 1 }, 1, 1, { color: 'gray' });
    assert.ok(close(out[0]! * 255, 10, 1e-4), String(out[0]! * 255));
  });

  test('layouts: chw is the planar permutation of hwc; gray is BT.601 luma', () => {
    const img = image(60, 40, 3, (x, y, c) => (c === 0 ? x * 4 : c === 1 ? y * 6 : 128));
    const box = { x: 3.3, y: 2.7, width: 48.5, height: 32.2 };
    const hwc = cropResize(img, box, 24, 16);
    const chw = cropResize(img, box, 24, 16, { layout: 'chw' });
    const gray = cropResize(img, box, 24, 16, { color: 'gray' });
    assert.equal(hwc.length, 16 * 24 * 3);
    assert.equal(gray.length, 16 * 24);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 24; x++) {
        const p = y * 24 + x;
        for (let c = 0; c < 3; c++) assert.equal(chw[c * 16 * 24 + p], hwc[p * 3 + c]);
        const luma = 0.299 * hwc[p * 3]! + 0.587 * hwc[p * 3 + 1]! + 0.114 * hwc[p * 3 + 2]!;
        assert.ok(close(gray[p]!, luma, 1e-5), 'close(gray[p]!, luma, 1e-5)');
      }
    // Row 0 is the top of the box: green (= 6·y) increases downwards.
    assert.ok(hwc[15 * 24 * 3 + 1]! > hwc[1]!, 'hwc[15 * 24 * 3 + 1]! > hwc[1]!');
  });

  test('a gray source in rgb mode gives R = G = B', () => {
    const img = image(30, 20, 1, (x, y) => x * 3 + y);
    const out = cropResize(img, { x: 1, y: 1, width: 24, height: 16 }, 12, 8);
    for (let p = 0; p < 12 * 8; p++) {
      assert.equal(out[p * 3], out[p * 3 + 1]);
      assert.equal(out[p * 3], out[p * 3 + 2]);
    }
  });

  test('boxes past the frame replicate the border; upscaling interpolates linearly', () => {
    const img = image(4, 4, 1, (x) => x * 80);
    // Entirely left of the frame: every column is the left edge (0).
    const left = cropResize(img, { x: -20, y: 0, width: 8, height: 4 }, 4, 2, { color: 'gray' });
    for (const v of left) assert.equal(v, 0);
    // Upscale the span [1, 3) ×4: output centres at 1.125, 1.375, … (continuous coordinates), i.e. 0.625,
    // 0.875, … in pixel-centre coordinates; linear interpolation reproduces the ramp 80·x exactly.
    const up = cropResize(img, { x: 1, y: 0, width: 2, height: 1 }, 8, 1, { color: 'gray' });
    const want = [50, 70, 90, 110, 130, 150, 170, 190];
    up.forEach((v, i) => assert.ok(close(v * 255, want[i]!, 1e-3), `${i}: ${v * 255} ≠ ${want[i]}`));
  });

  test('refuses bad sizes and non-finite boxes; reuses an output buffer', () => {
    const img = image(8, 8, 3, () => 1);
    assert.throws(() => cropResize(img, { x: 0, y: 0, width: 4, height: 4 }, 0, 4), RangeError);
    assert.throws(() => cropResize(img, { x: NaN, y: 0, width: 4, height: 4 }, 4, 4), RangeError);
    assert.throws(() => cropResize(img, { x: 0, y: 0, width: 0, height: 4 }, 4, 4), RangeError);
    assert.throws(
      () => cropResize(img, { x: 0, y: 0, width: 4, height: 4 }, 4, 4, { out: new Float32Array(3) }),
      RangeError,
    );
    const buf = new Float32Array(4 * 4 * 3);
    assert.equal(cropResize(img, { x: 0, y: 0, width: 4, height: 4 }, 4, 4, { out: buf }), buf);
  });

  test('property: any finite box of any image gives finite values in [0, 1] of the right length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom<1 | 3>(1, 3),
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom<'rgb' | 'gray'>('rgb', 'gray'),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (w, h, ch, x, y, bw, bh, ow, oh, color, seed) => {
          const img = image(w, h, ch, (px, py, c) => (seed + px * 31 + py * 17 + c * 7) % 256);
          const out = cropResize(img, { x, y, width: bw, height: bh }, ow, oh, { color });
          assert.equal(out.length, ow * oh * (color === 'rgb' ? 3 : 1));
          for (const v of out) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, String(v));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('resizeGray / cropResizeGray', () => {
  test('keep the value range and match cropResize on the same data', () => {
    const img = image(40, 30, 1, (x, y) => (x * y) % 256);
    const f = { width: 40, height: 30, data: Float32Array.from(img.data) };
    const small = resizeGray(f, 20, 15);
    const viaCrop = cropResize(img, { x: 0, y: 0, width: 40, height: 30 }, 20, 15, { color: 'gray' });
    small.data.forEach((v, i) =>
      assert.ok(close(v / 255, viaCrop[i]!, 1e-5), 'close(v / 255, viaCrop[i]!, 1e-5)'),
    );
    assert.equal(resizeGray(f, 40, 30), f);
    const part = cropResizeGray(f, { x: 10, y: 10, width: 10, height: 10 }, 10, 10);
    assert.equal(part.data[0], img.data[10 * 40 + 10]);
  });
});
