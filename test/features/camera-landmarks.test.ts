import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJpeg } from '../../src/streams/features/camera/decode.ts';
import type { Image8 } from '../../src/streams/features/camera/image.ts';
import { toGray8 } from '../../src/streams/features/camera/image.ts';
import { createFaceLandmarker, loadFaceApi } from '../../src/streams/features/camera/landmarks.ts';
import type { FaceLandmarker } from '../../src/streams/features/camera/landmarks.ts';
import { iou, mouthBoxFromLandmarks } from '../../src/streams/features/camera/roi.ts';
import type { Box } from '../../src/streams/features/camera/roi.ts';
import { REPO_ROOT } from '../readers/shared-data.ts';

const FIX = join(REPO_ROOT, 'test/fixtures/camera');
const refs = (
  JSON.parse(readFileSync(join(FIX, 's1_bbaf2n-mouth-ref.json'), 'utf8')) as {
    frames: { frame: number; box: Box }[];
  }
).frames;
const grid = [1, 38, 75].map((n) => ({
  n,
  img: decodeJpeg(readFileSync(join(FIX, `s1_bbaf2n-f${String(n).padStart(3, '0')}.jpg`))),
  ref: refs[n - 1]!.box,
}));
const drive = (i: number): Image8 =>
  decodeJpeg(readFileSync(join(REPO_ROOT, `devices/sample-drive/camera/${String(i).padStart(6, '0')}.jpg`)));

let lm: FaceLandmarker;
before(async () => {
  lm = await createFaceLandmarker();
});
after(() => lm.dispose());

describe('face landmarks (face-api, weights from the npm package)', () => {
  test('runs on a fast backend without native addons and says which', (t) => {
    t.diagnostic(`backend ${lm.backend}: ${lm.backendReason}`);
    assert.ok(['wasm', 'tensorflow'].includes(lm.backend), lm.backend);
    assert.deepEqual(lm.options, { detector: 'tiny', inputSize: 160, minScore: 0.5, landmarkNet: 'full' });
  });

  test('GRID s1 fixture frames: the mouth box overlaps the reference crop (IoU ≥ 0.5)', async (t) => {
    for (const { n, img, ref } of grid) {
      const r = await lm.detect(img);
      assert.ok(r, `frame ${n}: no face`);
      assert.equal(r.points.length, 68);
      const box = mouthBoxFromLandmarks(r.points)!;
      const v = iou(box, ref);
      t.diagnostic(`frame ${n}: IoU ${v.toFixed(3)}, face score ${r.faceScore.toFixed(3)}`);
      assert.ok(v >= 0.5, `frame ${n}: IoU ${v.toFixed(3)}`);
    }
  });

  test('sample-drive frames (GRID s2): a face on every 5th frame, the mouth in the lower half of it', async () => {
    for (let i = 1; i <= 75; i += 5) {
      const r = await lm.detect(drive(i));
      assert.ok(r, `frame ${i}: no face`);
      const m = mouthBoxFromLandmarks(r.points)!;
      const cy = m.y + m.height / 2;
      const cx = m.x + m.width / 2;
      const f = r.face;
      assert.ok(
        cy > f.y + f.height / 2 && cy < f.y + f.height,
        `frame ${i}: mouth y ${cy} vs face ${JSON.stringify(f)}`,
      );
      assert.ok(Math.abs(cx - (f.x + f.width / 2)) < f.width * 0.15, `frame ${i}: mouth x ${cx}`);
      assert.ok(
        m.width > 0.3 * f.width && m.width < 1.2 * f.width,
        `frame ${i}: mouth box ${m.width} px wide`,
      );
    }
  });

  test('a grey frame gives nearly the same mouth box as the colour frame', async () => {
    const { img } = grid[0]!;
    const a = mouthBoxFromLandmarks((await lm.detect(img))!.points)!;
    const b = mouthBoxFromLandmarks((await lm.detect(toGray8(img)))!.points)!;
    assert.ok(iou(a, b) > 0.8, `IoU ${iou(a, b)}`);
  });

  test('no face in a uniform or noise frame; landmarksIn re-uses a face box; no tensors leak', async () => {
    const { tf } = await loadFaceApi();
    const before = tf.memory().numTensors;
    const flat: Image8 = {
      width: 160,
      height: 120,
      channels: 3,
      data: new Uint8Array(160 * 120 * 3).fill(128),
    };
    assert.equal(await lm.detect(flat), undefined);
    let seed = 1;
    const noisy: Image8 = {
      ...flat,
      data: flat.data.map(() => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23),
    };
    assert.equal(await lm.detect(noisy), undefined);
    const { img } = grid[1]!;
    const d = (await lm.detect(img))!;
    const again = (await lm.landmarksIn(img, d.face))!;
    assert.ok(Number.isNaN(again.faceScore), 'Number.isNaN(again.faceScore)');
    const dist = Math.max(
      ...again.points.map((p, i) => Math.hypot(p.x - d.points[i]!.x, p.y - d.points[i]!.y)),
    );
    assert.ok(dist < 1, `max landmark distance ${dist}`);
    assert.equal(await lm.landmarksIn(img, { x: 500, y: 500, width: 20, height: 20 }), undefined);
    assert.equal(tf.memory().numTensors, before);
  });

  test('bad options are refused before anything loads', async () => {
    await assert.rejects(createFaceLandmarker({ inputSize: 100 }), RangeError);
    await assert.rejects(createFaceLandmarker({ minScore: 2 }), RangeError);
  });
});
