/**
 * Acceptance: the automatic mouth crop on the GRID clip s1_bbaf2n (75 frames, 25 fps) against the clip's 75
 * reference mouth crops. The crops carry no coordinates; each is located in its frame by NCC template matching
 * (`referenceMouthBoxes`, scripts/make-camera-fixtures.ts: whole-frame position search; scales 0.5–2.0 for the
 * first crop, then ±4 % around the previous one; coarse at ½ resolution, refined at full resolution). The
 * automatic crop is the full runtime path: rgb24 camera frames → MouthExtractor (landmarks, tracking,
 * smoothing) → box. Pass: IoU ≥ 0.5 on at least 90 % of the 75 frames. Needs ../shared and ffmpeg.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import type { Image8 } from '../../src/streams/features/camera/image.ts';
import { createFaceLandmarker } from '../../src/streams/features/camera/landmarks.ts';
import type { FaceLandmarker } from '../../src/streams/features/camera/landmarks.ts';
import { MouthExtractor } from '../../src/streams/features/camera/mouth-extractor.ts';
import { iou } from '../../src/streams/features/camera/roi.ts';
import type { Box } from '../../src/streams/features/camera/roi.ts';
import {
  GRID_CLIP,
  GRID_CROP,
  GRID_CROPS,
  GRID_FRAME,
  ffmpegFrames,
  hasFfmpeg,
  referenceMouthBoxes,
} from '../../scripts/make-camera-fixtures.ts';
import type { ReferenceBox } from '../../scripts/make-camera-fixtures.ts';
import { REPO_ROOT, SHARED_SKIP, shared } from '../readers/shared-data.ts';

const SKIP = SHARED_SKIP || (!hasFfmpeg() && 'needs ffmpeg');
const T0 = 1_768_446_030_000_000;

let frames: Image8[] = [];
let refs: ReferenceBox[] = [];
let lm: FaceLandmarker | undefined;

describe('GRID s1_bbaf2n mouth ROI (acceptance)', { skip: SKIP }, () => {
  before(async () => {
    frames = ffmpegFrames(shared(GRID_CLIP), GRID_FRAME.width, GRID_FRAME.height);
    const crops = ffmpegFrames(shared(GRID_CROPS), GRID_CROP.width, GRID_CROP.height);
    assert.equal(frames.length, 75);
    assert.equal(crops.length, 75);
    refs = referenceMouthBoxes(frames, crops);
    lm = await createFaceLandmarker();
  });
  after(() => lm?.dispose());

  test('every reference crop is found in its frame (NCC ≥ 0.99), as committed in the fixture', (t) => {
    const scores = refs.map((r) => r.score);
    const scales = refs.map((r) => r.scale);
    t.diagnostic(
      `reference crops: NCC min ${Math.min(...scores).toFixed(5)}, scale ${Math.min(...scales)}–${Math.max(...scales)}`,
    );
    assert.ok(Math.min(...scores) >= 0.99, `worst NCC ${Math.min(...scores)}`);
    const committed = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/camera/s1_bbaf2n-mouth-ref.json'), 'utf8')) as {
        frames: { box: Box }[];
      }
    ).frames;
    refs.forEach((r, i) => {
      const c = committed[i]!.box;
      assert.ok(
        Math.abs(c.x - r.box.x) < 0.01 && Math.abs(c.y - r.box.y) < 0.01,
        `frame ${i + 1}: fixture is stale`,
      );
    });
  });

  async function run(t: TestContext, detectEveryN: number): Promise<void> {
    const ex = new MouthExtractor({ roi: { kind: 'landmarks', landmarker: lm!, tracker: { detectEveryN } } });
    const ious: number[] = [];
    for (const [i, img] of frames.entries()) {
      const f = await ex.process({
        tUs: T0 + i * 40_000,
        pixelFormat: 'rgb24',
        width: img.width,
        height: img.height,
        data: img.data,
      });
      ious.push(f.status === 'ok' ? iou(f.box, refs[i]!.box) : 0);
    }
    const sorted = [...ious].sort((a, b) => a - b);
    const pass = ious.filter((v) => v >= 0.5).length;
    t.diagnostic(
      `detectEveryN ${detectEveryN}: IoU min ${sorted[0]!.toFixed(3)}, median ${sorted[37]!.toFixed(3)}, ` +
        `max ${sorted[74]!.toFixed(3)}; ≥ 0.5 on ${pass}/75 frames (${((100 * pass) / 75).toFixed(1)} %)`,
    );
    t.diagnostic(`roi stats ${JSON.stringify(ex.stats.roi)}`);
    assert.equal(ex.stats.ok, 75);
    assert.ok(pass >= Math.ceil(0.9 * 75), `IoU ≥ 0.5 on only ${pass}/75 frames`);
  }

  test('detection on every frame: IoU ≥ 0.5 on ≥ 90 % of the frames', (t) => run(t, 1));
  test('detection every 5th frame, tracking in between: IoU ≥ 0.5 on ≥ 90 % of the frames', (t) => run(t, 5));
});
