import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cameraFeaturesSchema, createMouthExtractor } from '../../src/streams/features/camera/config.ts';
import { alignVisualFrames, audioFrameTimesUs } from '../../src/streams/features/camera/frame-align.ts';
import type { FaceLandmarks68, Point } from '../../src/streams/features/camera/landmarks.ts';
import { MouthExtractor } from '../../src/streams/features/camera/mouth-extractor.ts';
import type { MouthFeature, MouthFrameInput } from '../../src/streams/features/camera/mouth-extractor.ts';
import type { LandmarkSource } from '../../src/streams/features/camera/mouth-tracker.ts';
import { REPO_ROOT } from '../readers/shared-data.ts';

const T0 = 1_768_446_030_000_000;
const jpegs = Array.from(
  { length: 75 },
  (_, i) =>
    new Uint8Array(
      readFileSync(join(REPO_ROOT, `devices/sample-drive/camera/${String(i + 1).padStart(6, '0')}.jpg`)),
    ),
);
const FIXED = { kind: 'fixed', region: { x: 110, y: 180, width: 120, height: 80, units: 'px' } } as const;

function jpegFrame(i: number, tUs = T0 + i * 40_000): MouthFrameInput {
  return { tUs, pixelFormat: 'jpeg', width: 360, height: 288, data: jpegs[i % 75]! };
}

function okData(f: MouthFeature): Float32Array {
  assert.equal(f.status, 'ok', f.status === 'dropped' ? f.message : '');
  return (f as Extract<MouthFeature, { status: 'ok' }>).data;
}

function mouthAt(cx: number, cy: number): FaceLandmarks68 {
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: cx, y: cy - 80 }));
  for (let k = 0; k < 20; k++) {
    const a = Math.PI + (2 * Math.PI * (k % 12)) / 12;
    points[48 + k] = { x: cx + 18 * Math.cos(a), y: cy + 6 * Math.sin(a) };
  }
  return { face: { x: cx - 60, y: cy - 120, width: 120, height: 150 }, faceScore: 1, points };
}

describe('MouthExtractor, fixed ROI', () => {
  test('JPEG frames → 16×24×3 features in [0, 1], hwc, of the configured box', async () => {
    const ex = new MouthExtractor({ roi: FIXED });
    assert.equal(ex.featureSize, 1152);
    for (let i = 0; i < 75; i++) {
      const f = await ex.process(jpegFrame(i));
      const d = okData(f);
      assert.equal(d.length, 16 * 24 * 3);
      for (const v of d) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `frame ${i}: ${v}`);
      assert.deepEqual(f.status === 'ok' && f.box, { x: 110, y: 180, width: 120, height: 80 });
    }
    assert.equal(ex.stats.ok, 75);
    assert.ok(Math.abs(ex.stats.fps - 25) < 1e-6, String(ex.stats.fps));
  });

  test('chw and gray outputs are the same pixels in other layouts', async () => {
    const hwc = okData(await new MouthExtractor({ roi: FIXED }).process(jpegFrame(0)));
    const chw = okData(await new MouthExtractor({ roi: FIXED, layout: 'chw' }).process(jpegFrame(0)));
    const gray = okData(await new MouthExtractor({ roi: FIXED, color: 'gray' }).process(jpegFrame(0)));
    assert.equal(gray.length, 384);
    for (let p = 0; p < 384; p++) {
      for (let c = 0; c < 3; c++) assert.equal(chw[c * 384 + p], hwc[p * 3 + c]);
      const luma = 0.299 * hwc[p * 3]! + 0.587 * hwc[p * 3 + 1]! + 0.114 * hwc[p * 3 + 2]!;
      assert.ok(Math.abs(gray[p]! - luma) < 1e-5, `pixel ${p}`);
    }
  });

  test('raw gray8 and rgb24 frames; fractions follow a resolution change (counted)', async () => {
    const ex = new MouthExtractor({
      roi: { kind: 'fixed', region: { x: 0.25, y: 0.5, width: 0.5, height: 0.25, units: 'fraction' } },
    });
    const gray = await ex.process({
      tUs: T0,
      pixelFormat: 'gray8',
      width: 64,
      height: 48,
      data: new Uint8Array(64 * 48).fill(51),
    });
    assert.ok(
      okData(gray).every((v) => Math.abs(v - 0.2) < 1e-6),
      'okData(gray).every((v) => Math.abs(v - 0.2) < 1e-6)',
    );
    const rgb = await ex.process({
      tUs: T0 + 40_000,
      pixelFormat: 'rgb24',
      width: 32,
      height: 24,
      data: new Uint8Array(32 * 24 * 3).map((_, i) => (i % 3 === 0 ? 255 : 0)),
    });
    const d = okData(rgb);
    assert.ok(d[0] === 1 && d[1] === 0 && d[2] === 0, 'd[0] === 1 && d[1] === 0 && d[2] === 0');
    assert.deepEqual(rgb.status === 'ok' && rgb.box, { x: 8, y: 12, width: 16, height: 6 });
    assert.equal(ex.stats.sizeChanges, 1);
  });

  test('every bad frame is dropped with a counted reason; good frames keep flowing', async () => {
    const ex = new MouthExtractor({ roi: FIXED, expectedSize: { width: 360, height: 288 } });
    const outcomes: string[] = [];
    const push = async (f: MouthFrameInput): Promise<void> => {
      const r = await ex.process(f);
      outcomes.push(r.status === 'ok' ? 'ok' : r.reason);
    };
    await push(jpegFrame(0));
    await push({ ...jpegFrame(1), data: new Uint8Array(0) });
    await push({ ...jpegFrame(2), data: jpegs[2]!.subarray(0, 3000) });
    await push({ ...jpegFrame(3), data: Uint8Array.from(jpegs[3]!).fill(0x55, 700, 1400) });
    await push({
      tUs: T0 + 4 * 40_000,
      pixelFormat: 'rgb24',
      width: 180,
      height: 144,
      data: new Uint8Array(180 * 144 * 3),
    });
    await push({
      tUs: T0 + 5 * 40_000,
      pixelFormat: 'rgb24',
      width: 360,
      height: 288,
      data: new Uint8Array(10),
    });
    await push({ ...jpegFrame(6), width: 640, height: 480 });
    await push(jpegFrame(7));
    await push(jpegFrame(5)); // older than frame 7
    await push(jpegFrame(7)); // same time again
    await push(jpegFrame(8));
    assert.deepEqual(outcomes, [
      'ok',
      'empty',
      'corrupt-jpeg',
      'corrupt-jpeg',
      'wrong-size',
      'bad-size',
      'size-mismatch',
      'ok',
      'late',
      'duplicate',
      'ok',
    ]);
    assert.equal(ex.stats.frames, 11);
    assert.equal(ex.stats.ok, 3);
    assert.deepEqual(ex.stats.dropped, {
      empty: 1,
      'corrupt-jpeg': 2,
      'wrong-size': 1,
      'bad-size': 1,
      'size-mismatch': 1,
      late: 1,
      duplicate: 1,
    });
  });

  test('a pixel region that does not fit a smaller frame is dropped as wrong-size', async () => {
    const ex = new MouthExtractor({ roi: FIXED });
    const r = await ex.process({
      tUs: T0,
      pixelFormat: 'gray8',
      width: 200,
      height: 200,
      data: new Uint8Array(40_000),
    });
    assert.ok(
      r.status === 'dropped' && r.reason === 'wrong-size' && /does not fit/.test(r.message),
      "r.status === 'dropped' && r.reason === 'wrong-size' && /does not fit/.test(r.message)",
    );
  });

  test('a frame-rate change is counted; features still align with the audio by event time', async () => {
    const ex = new MouthExtractor({ roi: FIXED });
    const feats: { tUs: number; data: Float32Array }[] = [];
    let t = T0;
    for (let i = 0; i < 90; i++) {
      t += i < 45 ? 33_333 : 66_667; // 30 fps, then 15 fps
      const f = await ex.process(jpegFrame(i, t));
      feats.push({ tUs: f.tUs, data: okData(f) });
    }
    assert.equal(ex.stats.rateChanges, 1);
    assert.ok(Math.abs(ex.stats.fps - 15) < 0.01, String(ex.stats.fps));
    const times = audioFrameTimesUs({ startUs: T0, sampleRateHz: 16_000, hop: 320, window: 512 }, 200);
    const { aligned, stats } = alignVisualFrames(feats, times, { mode: 'causal' });
    assert.equal(aligned.length, 200);
    assert.equal(stats.missing, 1); // the audio frame at 16 ms comes before the first camera frame (33 ms)
    assert.ok(
      aligned.slice(1).every((a) => a.status === 'ok' && a.data.length === 1152),
      "aligned.slice(1).every((a) => a.status === 'ok' && a.data.length === 1152)",
    );
  });
});

describe('MouthExtractor, landmarks ROI', () => {
  test('no face → no-roi (counted) once the fallback has expired; NaN landmarks count as no face', async () => {
    let answer: FaceLandmarks68 | undefined = mouthAt(172, 216);
    const lm: LandmarkSource = { detect: () => Promise.resolve(answer) };
    const ex = new MouthExtractor({
      roi: { kind: 'landmarks', landmarker: lm, tracker: { maxFallbackUs: 50_000 } },
    });
    const first = await ex.process(jpegFrame(0));
    assert.ok(
      first.status === 'ok' && first.roiSource === 'detected',
      "first.status === 'ok' && first.roiSource === 'detected'",
    );
    // From here the face is gone: NaN landmarks, then none, on frames with nothing to track.
    const noise = (i: number): MouthFrameInput => {
      let seed = i + 1;
      const data = new Uint8Array(360 * 288 * 3).map(
        () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23,
      );
      return { tUs: T0 + i * 40_000, pixelFormat: 'rgb24', width: 360, height: 288, data };
    };
    const nan = mouthAt(172, 216);
    answer = { ...nan, points: nan.points.map((p) => ({ x: NaN, y: p.y })) };
    const second = await ex.process(noise(1));
    assert.ok(
      second.status === 'ok' && second.roiSource === 'fallback',
      "second.status === 'ok' && second.roiSource === 'fallback'",
    );
    const third = await ex.process(noise(2));
    assert.ok(
      third.status === 'dropped' && third.reason === 'no-roi',
      "third.status === 'dropped' && third.reason === 'no-roi'",
    );
    answer = undefined;
    assert.equal((await ex.process(noise(3))).status, 'dropped');
    assert.equal(ex.stats.dropped['no-roi'], 2);
    assert.equal(ex.stats.roi?.detectionFailures, 3);
    assert.equal(ex.stats.roi?.lost, 2);
    assert.equal(ex.stats.roi?.trackFailures, 2);
  });

  test('a landmark model that throws drops the frame as roi-error and the stream goes on', async () => {
    let fail = true;
    const lm: LandmarkSource = {
      detect: () =>
        fail ? Promise.reject(new Error('kernel exploded')) : Promise.resolve(mouthAt(172, 216)),
    };
    const ex = new MouthExtractor({ roi: { kind: 'landmarks', landmarker: lm } });
    const r = await ex.process(jpegFrame(0));
    assert.ok(
      r.status === 'dropped' && r.reason === 'roi-error' && /kernel exploded/.test(r.message),
      'roi-error',
    );
    fail = false;
    assert.equal((await ex.process(jpegFrame(1))).status, 'ok');
    assert.deepEqual(ex.stats.dropped, { 'roi-error': 1 });
  });

  test('backpressure: a frame arriving while the previous one is in detection is dropped as busy', async () => {
    let release: () => void = () => {};
    const lm: LandmarkSource = {
      detect: () =>
        new Promise((resolve) => {
          release = () => resolve(mouthAt(172, 216));
        }),
    };
    const ex = new MouthExtractor({ roi: { kind: 'landmarks', landmarker: lm } });
    const slow = ex.process(jpegFrame(0));
    await new Promise((r) => setImmediate(r));
    const busy = await ex.process(jpegFrame(1));
    assert.ok(
      busy.status === 'dropped' && busy.reason === 'busy',
      "busy.status === 'dropped' && busy.reason === 'busy'",
    );
    release();
    assert.equal((await slow).status, 'ok');
    assert.equal(ex.stats.dropped.busy, 1);
  });
});

describe('config', () => {
  test('defaults: landmarks ROI detecting every 5 frames, 24×16 RGB hwc, causal alignment', () => {
    const c = cameraFeaturesSchema.parse(undefined);
    assert.equal(c.roi.kind, 'landmarks');
    assert.ok(
      c.roi.kind === 'landmarks' && c.roi.detectEveryN === 5 && c.roi.inputSize === 160,
      "c.roi.kind === 'landmarks' && c.roi.detectEveryN === 5 && c.roi.inputSize === 160",
    );
    assert.deepEqual(c.output, { width: 24, height: 16, color: 'rgb', layout: 'hwc' });
    assert.deepEqual(c.align, { mode: 'causal', maxGapMs: 100 });
    assert.equal(
      cameraFeaturesSchema.safeParse({ roi: { kind: 'landmarks', inputSize: 100 } }).success,
      false,
    );
    assert.equal(cameraFeaturesSchema.safeParse({ roi: { kind: 'elsewhere' } }).success, false);
  });

  test('createMouthExtractor builds a fixed-ROI extractor, and a landmark one around a given landmarker', async () => {
    const fixed = await createMouthExtractor(
      cameraFeaturesSchema.parse({ roi: FIXED, output: { layout: 'chw' } }),
    );
    assert.equal(fixed.landmarker, undefined);
    assert.equal(okData(await fixed.extractor.process(jpegFrame(0))).length, 1152);
    const lm: LandmarkSource = { detect: () => Promise.resolve(mouthAt(172, 216)) };
    const auto = await createMouthExtractor(cameraFeaturesSchema.parse({}), { landmarker: lm });
    const f = await auto.extractor.process(jpegFrame(0));
    assert.ok(
      f.status === 'ok' && f.roiSource === 'detected' && Math.abs(f.box.width / f.box.height - 1.5) < 1e-9,
      "f.status === 'ok' && f.roiSource === 'detected' && Math.abs(f.box.width / f.box.height ...",
    );
  });
});
