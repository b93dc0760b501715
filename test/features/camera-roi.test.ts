import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Point } from '../../src/streams/features/camera/landmarks.ts';
import {
  BoxSmoother,
  OneEuroFilter,
  fixedRoiSchema,
  fractionInside,
  iou,
  mouthBoxFromLandmarks,
  resolveFixedRoi,
} from '../../src/streams/features/camera/roi.ts';

/**
 * 68 landmarks with the mouth drawn as an ellipse: corners 48 and 54 at (cx ∓ halfW, cy), outer lip 48–59 and
 * inner lip 60–67 on ellipses of half-height `open`. Non-mouth points are placed far away (they must not matter).
 */
function syntheticLandmarks(cx: number, cy: number, halfW: number, open: number): Point[] {
  const pts: Point[] = Array.from({ length: 68 }, (_, i) => ({ x: -1000 - i, y: 5000 + i }));
  for (let k = 0; k < 12; k++) {
    const a = Math.PI + (2 * Math.PI * k) / 12; // 48 = left corner, 54 = right corner
    pts[48 + k] = { x: cx + halfW * Math.cos(a), y: cy + open * Math.sin(a) };
  }
  for (let k = 0; k < 8; k++) {
    const a = Math.PI + (2 * Math.PI * k) / 8;
    pts[60 + k] = { x: cx + 0.8 * halfW * Math.cos(a), y: cy + 0.5 * open * Math.sin(a) };
  }
  return pts;
}

describe('iou / fractionInside', () => {
  test('known overlaps', () => {
    const a = { x: 0, y: 0, width: 10, height: 10 };
    assert.equal(iou(a, a), 1);
    assert.equal(iou(a, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
    assert.equal(iou(a, { x: 10, y: 0, width: 10, height: 10 }), 0);
    assert.equal(iou(a, { x: 0, y: 0, width: 0, height: 0 }), 0);
    assert.equal(fractionInside({ x: -5, y: 0, width: 10, height: 10 }, 100, 100), 0.5);
  });
});

describe('fixed ROI', () => {
  test('pixels and fractions resolve to frame pixels; fractions follow the resolution', () => {
    const px = fixedRoiSchema.parse({ x: 100, y: 180, width: 120, height: 80 });
    assert.equal(px.units, 'px');
    assert.deepEqual(resolveFixedRoi(px, 360, 288), { x: 100, y: 180, width: 120, height: 80 });
    const fr = fixedRoiSchema.parse({ x: 0.25, y: 0.5, width: 0.5, height: 0.25, units: 'fraction' });
    assert.deepEqual(resolveFixedRoi(fr, 640, 480), { x: 160, y: 240, width: 320, height: 120 });
    assert.deepEqual(resolveFixedRoi(fr, 320, 240), { x: 80, y: 120, width: 160, height: 60 });
  });

  test('invalid configs and a region that does not fit the frame are refused', () => {
    assert.equal(fixedRoiSchema.safeParse({ x: 0, y: 0, width: -1, height: 5 }).success, false);
    assert.equal(
      fixedRoiSchema.safeParse({ x: 0.8, y: 0, width: 0.3, height: 0.5, units: 'fraction' }).success,
      false,
    );
    assert.equal(fixedRoiSchema.safeParse({ x: 0, y: 0, width: 5, height: 5, extra: 1 }).success, false);
    const px = fixedRoiSchema.parse({ x: 100, y: 180, width: 120, height: 80 });
    assert.throws(() => resolveFixedRoi(px, 200, 200), /does not fit a 200x200 frame/);
  });
});

describe('mouthBoxFromLandmarks', () => {
  test('centred on the mouth points, width 2 × corner distance, aspect 24:16', () => {
    const b = mouthBoxFromLandmarks(syntheticLandmarks(150, 210, 20, 6))!;
    assert.ok(
      Math.abs(b.x + b.width / 2 - 150) < 1e-9 && Math.abs(b.y + b.height / 2 - 210) < 1e-9,
      'Math.abs(b.x + b.width / 2 - 150) < 1e-9 && Math.abs(b.y + b.height / 2 - 210) < 1e-9',
    );
    assert.ok(Math.abs(b.width - 80) < 1e-9, 'Math.abs(b.width - 80) < 1e-9');
    assert.ok(Math.abs(b.width / b.height - 1.5) < 1e-12, 'Math.abs(b.width / b.height - 1.5) < 1e-12');
  });

  test('options: width scale and aspect; a wide-open mouth raises the height (aspect kept)', () => {
    const b = mouthBoxFromLandmarks(syntheticLandmarks(0, 0, 20, 6), { widthScale: 3, aspect: 2 })!;
    assert.ok(
      Math.abs(b.width - 120) < 1e-9 && Math.abs(b.height - 60) < 1e-9,
      'Math.abs(b.width - 120) < 1e-9 && Math.abs(b.height - 60) < 1e-9',
    );
    // Lips 80 px tall: height ≥ 1.4 × 80 = 112 > 80 / 1.5.
    const open = mouthBoxFromLandmarks(syntheticLandmarks(0, 0, 20, 40))!;
    assert.ok(Math.abs(open.height - 112) < 1e-9, String(open.height));
    assert.ok(
      Math.abs(open.width / open.height - 1.5) < 1e-12,
      'Math.abs(open.width / open.height - 1.5) < 1e-12',
    );
  });

  test('refuses wrong point counts, non-finite points and a zero-width mouth', () => {
    assert.equal(mouthBoxFromLandmarks(syntheticLandmarks(0, 0, 20, 6).slice(0, 67)), undefined);
    const nan = syntheticLandmarks(0, 0, 20, 6);
    nan[50] = { x: NaN, y: 0 };
    assert.equal(mouthBoxFromLandmarks(nan), undefined);
    assert.equal(mouthBoxFromLandmarks(syntheticLandmarks(0, 0, 0, 0)), undefined);
  });
});

describe('temporal smoothing', () => {
  test('One Euro: constant in → constant out; a step is followed; non-increasing time holds', () => {
    const f = new OneEuroFilter(3, 0.05);
    for (let i = 0; i < 10; i++) assert.equal(f.filter(5, i * 40_000), 5);
    let y = 0;
    for (let i = 10; i < 40; i++) y = f.filter(15, i * 40_000);
    assert.ok(Math.abs(y - 15) < 0.05, String(y));
    assert.equal(f.filter(100, 39 * 40_000), y);
  });

  test('BoxSmoother cuts jitter of a still box by > 3× and keeps the aspect exactly', () => {
    const s = new BoxSmoother();
    let seed = 7;
    const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 4; // ±2 px
    let rawVar = 0;
    let outVar = 0;
    for (let i = 0; i < 200; i++) {
      const nx = noise();
      const raw = { x: 100 + nx, y: 200, width: 80, height: 80 / 1.5 };
      const b = s.update(raw, i * 33_333);
      if (i >= 20) {
        rawVar += nx * nx;
        outVar += (b.x - 100) ** 2;
      }
      assert.ok(Math.abs(b.width / b.height - 1.5) < 1e-9, 'Math.abs(b.width / b.height - 1.5) < 1e-9');
    }
    assert.ok(rawVar / outVar > 3, `variance ratio ${(rawVar / outVar).toFixed(2)}`);
  });

  test('BoxSmoother follows a moving box with little lag (One Euro speed term)', () => {
    const s = new BoxSmoother();
    let b = { x: 0, y: 0, width: 80, height: 53 };
    for (let i = 0; i < 60; i++) b = s.update({ x: i * 5, y: 0, width: 80, height: 53 }, i * 33_333); // 150 px/s
    assert.ok(Math.abs(b.x - 59 * 5) < 6, `lag ${(59 * 5 - b.x).toFixed(1)} px`);
  });
});
