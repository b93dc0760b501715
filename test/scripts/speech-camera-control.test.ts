/**
 * scripts/speech-camera-control.ts: the camera controls keep the timing and the frame count, and change
 * only what each says it changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cameraControl } from '../../scripts/speech-camera-control.ts';
import type { MouthTrack } from '../../src/models/speech/corpus.ts';

/** A track of `count` 2-value frames, frame i holding [base + i, base + i + 0.5]; `missing` frames not ok. */
function track(count: number, base: number, missing: readonly number[] = []): MouthTrack {
  const data = new Float32Array(count * 2);
  const ok = new Uint8Array(count).fill(1);
  for (const i of missing) ok[i] = 0;
  for (let i = 0; i < count; i++)
    if (ok[i] === 1) {
      data[2 * i] = base + i;
      data[2 * i + 1] = base + i + 0.5;
    }
  return { fps: 25, offsetS: 0.1, width: 2, height: 1, frameSize: 2, count, data, ok };
}

describe('speech-camera-control', () => {
  const own = track(5, 10, [0]);

  test('own is the track itself', () => {
    assert.equal(cameraControl(own, 'own'), own);
  });

  test('still: the first crop wherever the clip has one; timing and missing frames kept', () => {
    const s = cameraControl(own, 'still');
    assert.deepEqual([...s.ok], [0, 1, 1, 1, 1]);
    assert.deepEqual([...s.data], [0, 0, 11, 11.5, 11, 11.5, 11, 11.5, 11, 11.5]);
    assert.equal(s.fps, 25);
    assert.equal(s.offsetS, 0.1);
  });

  test('reversed: frame i is frame count − 1 − i, with its ok flag', () => {
    const r = cameraControl(own, 'reversed');
    assert.deepEqual([...r.ok], [1, 1, 1, 1, 0]);
    assert.deepEqual([...r.data.subarray(0, 4)], [14, 14.5, 13, 13.5]);
  });

  test("other: another clip's crops frame by frame, repeated when it is shorter; refused without one", () => {
    const o = cameraControl(own, 'other', track(3, 100));
    assert.deepEqual([...o.ok], [1, 1, 1, 1, 1]);
    assert.deepEqual(
      [...o.data].filter((_, k) => k % 2 === 0),
      [100, 101, 102, 100, 101],
    );
    assert.throws(() => cameraControl(own, 'other'), /another clip/);
    assert.throws(() => cameraControl(own, 'other', { ...track(3, 1), frameSize: 4 }), /same size/);
  });
});
