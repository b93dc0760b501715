import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJpeg } from '../../src/streams/features/camera/decode.ts';
import { toGrayF32 } from '../../src/streams/features/camera/image.ts';
import type { GrayF32 } from '../../src/streams/features/camera/image.ts';
import { cropResizeGray } from '../../src/streams/features/camera/resize.ts';
import { iou } from '../../src/streams/features/camera/roi.ts';
import {
  geometricScales,
  locateTemplate,
  locateTemplateSequence,
  matchTemplate,
  prepareTemplate,
} from '../../src/streams/features/camera/template-match.ts';
import { REPO_ROOT } from '../readers/shared-data.ts';

const frame = toGrayF32(decodeJpeg(readFileSync(join(REPO_ROOT, 'devices/sample-drive/camera/000010.jpg'))));

function crop(img: GrayF32, x: number, y: number, w: number, h: number): GrayF32 {
  return cropResizeGray(img, { x, y, width: w, height: h }, w, h);
}

describe('matchTemplate', () => {
  test('finds an exact crop at its position with NCC 1, invariant to gain and offset', () => {
    const t = crop(frame, 131, 187, 60, 30);
    const m = matchTemplate(frame, prepareTemplate(t));
    assert.ok(m, 'm');
    assert.deepEqual([m.x, m.y], [131, 187]);
    assert.ok(m.score > 0.99999 && m.score <= 1, String(m.score));
    const brighter = { ...t, data: t.data.map((v) => 0.5 * v + 40) };
    const m2 = matchTemplate(frame, prepareTemplate(brighter))!;
    assert.deepEqual([m2.x, m2.y], [131, 187]);
  });

  test('sub-pixel: a crop taken at a fractional offset is located to within 0.2 px', () => {
    for (const [fx, fy] of [
      [0.3, 0.6],
      [0.5, 0.25],
      [0.8, 0.1],
    ] as const) {
      const t = crop(frame, 120 + fx, 180 + fy, 64, 32);
      const m = matchTemplate(
        frame,
        prepareTemplate(t),
        { x0: 110, y0: 170, x1: 130, y1: 190 },
        { subpixel: true },
      )!;
      assert.ok(
        Math.abs(m.x - (120 + fx)) < 0.2 && Math.abs(m.y - (180 + fy)) < 0.2,
        `${m.x},${m.y} vs +${fx},+${fy}`,
      );
    }
  });

  test('search range is respected; nothing to search or a flat template gives undefined', () => {
    const t = prepareTemplate(crop(frame, 131, 187, 60, 30));
    const m = matchTemplate(frame, t, { x0: 0, y0: 0, x1: 50, y1: 50 })!;
    assert.ok(m.x <= 50 && m.y <= 50 && m.score < 0.9, 'm.x <= 50 && m.y <= 50 && m.score < 0.9');
    assert.equal(matchTemplate(frame, t, { x0: 400, y0: 0, x1: 500, y1: 10 }), undefined);
    const flat = prepareTemplate({ width: 10, height: 10, data: new Float32Array(100).fill(7) });
    assert.equal(matchTemplate(frame, flat), undefined);
    assert.throws(() => prepareTemplate({ width: 3, height: 3, data: new Float32Array(2) }), RangeError);
  });
});

describe('locateTemplate', () => {
  test('finds a crop that was resampled to another scale: scale within 2 %, box IoU > 0.9', () => {
    // A 100×50 region shown at 0.8× (80×40 px) — as if cut from a frame rescaled by 0.8.
    const truth = { x: 110, y: 190, width: 100, height: 50 };
    const t = cropResizeGray(frame, truth, 80, 40);
    const r = locateTemplate(frame, t)!;
    assert.ok(Math.abs(r.scale - 1.25) / 1.25 < 0.02, `scale ${r.scale}`);
    assert.ok(iou(r.box, truth) > 0.9, JSON.stringify(r.box));
    assert.ok(r.score > 0.95, 'r.score > 0.95');
  });

  test('sequence: the first crop sets the scale, the next ones search a band around it', () => {
    const boxes = [
      { x: 100, y: 180, width: 90, height: 45 },
      { x: 104, y: 183, width: 90, height: 45 },
    ];
    const templates = boxes.map((b) => cropResizeGray(frame, b, 60, 30));
    const r = locateTemplateSequence([frame, frame], templates);
    r.forEach((l, i) =>
      assert.ok(
        l && iou(l.box, boxes[i]!) > 0.9 && Math.abs(l.scale - 1.5) < 0.03,
        'l && iou(l.box, boxes[i]!) > 0.9 && Math.abs(l.scale - 1.5) < 0.03',
      ),
    );
    assert.throws(() => locateTemplateSequence([frame], []), RangeError);
  });

  test('geometricScales spans the range inclusively', () => {
    const s = geometricScales(0.5, 2, 1.02);
    assert.equal(s[0], 0.5);
    assert.ok(s.at(-1)! <= 2 && s.at(-1)! * 1.02 > 2, 's.at(-1)! <= 2 && s.at(-1)! * 1.02 > 2');
    assert.equal(s.length, 71);
  });
});
