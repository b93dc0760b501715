import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJpeg } from '../../src/streams/features/camera/decode.ts';
import type { Image8 } from '../../src/streams/features/camera/image.ts';
import type { FaceLandmarks68, Point } from '../../src/streams/features/camera/landmarks.ts';
import { MouthTracker } from '../../src/streams/features/camera/mouth-tracker.ts';
import type { LandmarkSource } from '../../src/streams/features/camera/mouth-tracker.ts';
import { REPO_ROOT } from '../readers/shared-data.ts';

/** A real frame (GRID s2, mouth near (170, 215)), shifted by whole pixels with the border replicated. */
const base = decodeJpeg(readFileSync(join(REPO_ROOT, 'devices/sample-drive/camera/000001.jpg')));
function shifted(dx: number, dy: number, img: Image8 = base): Image8 {
  const { width: w, height: h } = img;
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(h - 1, Math.max(0, y - dy));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(w - 1, Math.max(0, x - dx));
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = img.data[(sy * w + sx) * 3 + c]!;
    }
  }
  return { width: w, height: h, channels: 3, data };
}

function noise(seed: number): Image8 {
  const data = new Uint8Array(base.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23;
  return { ...base, data };
}

const MOUTH = { cx: 172, cy: 216, halfW: 18 };

/** 68 points with the mouth (48–67) on an ellipse at (cx, cy); the rest far away. */
function landmarksAt(cx: number, cy: number): FaceLandmarks68 {
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: cx, y: cy - 100 }));
  for (let k = 0; k < 12; k++) {
    const a = Math.PI + (2 * Math.PI * k) / 12;
    points[48 + k] = { x: cx + MOUTH.halfW * Math.cos(a), y: cy + 6 * Math.sin(a) };
  }
  for (let k = 0; k < 8; k++) {
    const a = Math.PI + (2 * Math.PI * k) / 8;
    points[60 + k] = { x: cx + 0.8 * MOUTH.halfW * Math.cos(a), y: cy + 3 * Math.sin(a) };
  }
  return { face: { x: cx - 60, y: cy - 120, width: 120, height: 150 }, faceScore: 0.9, points };
}

/** A landmarker stub: the mouth is where the test says it is (`at`), or absent (`at = undefined`). */
class StubLandmarker implements LandmarkSource {
  at: { x: number; y: number } | undefined = { x: MOUTH.cx, y: MOUTH.cy };
  calls = 0;
  detect(): Promise<FaceLandmarks68 | undefined> {
    this.calls++;
    return Promise.resolve(this.at === undefined ? undefined : landmarksAt(this.at.x, this.at.y));
  }
}

const FRAME_US = 40_000;

describe('MouthTracker', () => {
  test('detects once, then tracks a moving face to within 0.5 px (NCC, no smoothing)', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 1000, smoothing: false });
    const first = await tr.update(base, 0);
    assert.equal(first.source, 'detected');
    const b0 = first.box!;
    assert.ok(Math.abs(b0.width - 4 * MOUTH.halfW) < 1e-9, 'Math.abs(b0.width - 4 * MOUTH.halfW) < 1e-9'); // 2 × corner distance
    for (let k = 1; k <= 20; k++) {
      const r = await tr.update(shifted(2 * k, k), k * FRAME_US);
      assert.equal(r.source, 'tracked');
      assert.ok(r.trackScore! > 0.9, `score ${r.trackScore}`);
      assert.ok(
        Math.abs(r.box!.x - (b0.x + 2 * k)) < 0.5 && Math.abs(r.box!.y - (b0.y + k)) < 0.5,
        `frame ${k}`,
      );
      assert.equal(r.box!.width, b0.width);
    }
    assert.deepEqual(
      { ...tr.stats },
      {
        frames: 21,
        detections: 1,
        detectionFailures: 0,
        tracked: 20,
        trackFailures: 0,
        fallback: 0,
        lost: 0,
        sizeChanges: 0,
      },
    );
    assert.equal(lm.calls, 1);
  });

  test('detectEveryN = 5 runs the detector on frames 0, 5, 10, … and tracks the rest', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 5 });
    const sources: string[] = [];
    for (let k = 0; k < 12; k++) sources.push((await tr.update(base, k * FRAME_US)).source);
    assert.deepEqual(sources.map((s) => s[0]).join(''), 'dttttdttttdt');
    assert.equal(tr.stats.detections, 3);
    assert.equal(tr.stats.tracked, 9);
  });

  test('smoothing: a still face gives a still box; a jump is followed within a few frames', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 1 });
    let r = await tr.update(base, 0);
    const b0 = r.box!;
    for (let k = 1; k < 5; k++) r = await tr.update(base, k * FRAME_US);
    assert.ok(Math.abs(r.box!.x - b0.x) < 1e-9, 'Math.abs(r.box!.x - b0.x) < 1e-9');
    lm.at = { x: MOUTH.cx + 10, y: MOUTH.cy };
    for (let k = 5; k < 15; k++) r = await tr.update(shifted(10, 0), k * FRAME_US);
    assert.ok(Math.abs(r.box!.x - (b0.x + 10)) < 0.5, `x ${r.box!.x} vs ${b0.x + 10}`);
  });

  test('a missed detection is covered by tracking (counted as both)', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 1, smoothing: false });
    const b0 = (await tr.update(base, 0)).box!;
    lm.at = undefined; // the detector misses the face that is still there
    const r = await tr.update(shifted(3, 1), FRAME_US);
    assert.equal(r.source, 'tracked');
    assert.ok(
      Math.abs(r.box!.x - b0.x - 3) < 0.5 && Math.abs(r.box!.y - b0.y - 1) < 0.5,
      JSON.stringify(r.box),
    );
    assert.equal(tr.stats.detectionFailures, 1);
    assert.equal(tr.stats.tracked, 1);
  });

  test('face gone: the last box stands in (counted) for maxFallbackUs, then the ROI is lost', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 1, maxFallbackUs: 100_000 });
    const seq: string[] = [];
    for (let k = 0; k < 8; k++) {
      if (k === 3) lm.at = undefined; // face gone at 120 ms (nothing left to track either)
      if (k === 7) lm.at = { x: MOUTH.cx, y: MOUTH.cy }; // back at 280 ms
      const r = await tr.update(lm.at === undefined ? noise(k) : base, k * FRAME_US);
      seq.push(r.source);
      assert.equal(r.box === undefined, r.source === 'lost');
    }
    // Last good box at 80 ms: 120 and 160 ms are within 100 ms of it, 200–240 ms are not.
    assert.deepEqual(seq, [
      'detected',
      'detected',
      'detected',
      'fallback',
      'fallback',
      'lost',
      'lost',
      'detected',
    ]);
    assert.equal(tr.stats.detectionFailures, 4);
    assert.equal(tr.stats.trackFailures, 3); // 120, 160, 200 ms; once lost, there is no template to track
    assert.equal(tr.stats.fallback, 2);
    assert.equal(tr.stats.lost, 2);
  });

  test('tracking failure (the picture changes) falls back and forces a detection on the next frame', async () => {
    const lm = new StubLandmarker();
    const tr = new MouthTracker(lm, { detectEveryN: 100 });
    await tr.update(base, 0);
    assert.equal((await tr.update(base, FRAME_US)).source, 'tracked');
    const r = await tr.update(noise(3), 2 * FRAME_US);
    assert.equal(r.source, 'fallback');
    assert.ok(r.trackScore! < 0.7, 'r.trackScore! < 0.7');
    assert.equal(tr.stats.trackFailures, 1);
    assert.equal((await tr.update(base, 3 * FRAME_US)).source, 'detected');
    assert.equal(lm.calls, 2);
  });

  test('a box mostly outside the frame is refused; a frame-size change resets and is counted', async () => {
    const lm = new StubLandmarker();
    lm.at = { x: -30, y: 100 };
    const tr = new MouthTracker(lm, { detectEveryN: 1 });
    assert.equal((await tr.update(base, 0)).source, 'lost');
    assert.equal(tr.stats.detectionFailures, 1);
    lm.at = { x: MOUTH.cx, y: MOUTH.cy };
    assert.equal((await tr.update(base, FRAME_US)).source, 'detected');
    const small: Image8 = { width: 180, height: 144, channels: 3, data: new Uint8Array(180 * 144 * 3) };
    lm.at = { x: 90, y: 100 };
    const r = await tr.update(small, 2 * FRAME_US);
    assert.equal(r.source, 'detected');
    assert.equal(tr.stats.sizeChanges, 1);
  });

  test('frames must come in increasing time; options are validated', async () => {
    const tr = new MouthTracker(new StubLandmarker());
    await tr.update(base, 1000);
    await assert.rejects(tr.update(base, 1000), RangeError);
    await assert.rejects(tr.update(base, 500), RangeError);
    await assert.rejects(tr.update(base, NaN), RangeError);
    assert.throws(() => new MouthTracker(new StubLandmarker(), { detectEveryN: 0 }), RangeError);
    assert.throws(() => new MouthTracker(new StubLandmarker(), { detectEveryN: 1.5 }), RangeError);
  });
});
