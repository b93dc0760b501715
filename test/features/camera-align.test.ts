import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CausalVisualAligner,
  FrameRateMonitor,
  alignVisualFrames,
  audioFrameTimesUs,
  stackContext,
} from '../../src/streams/features/camera/frame-align.ts';
import type { VisualFrame } from '../../src/streams/features/camera/frame-align.ts';

const T0 = 1_768_446_000_000_000; // a realistic epoch time in µs: arithmetic must stay exact here

/** Camera frames at `fps` from T0 whose single feature value is the frame index. */
function frames(n: number, fps: number, from = 0): VisualFrame[] {
  return Array.from({ length: n }, (_, i) => ({
    tUs: T0 + Math.round(((from + i) * 1e6) / fps),
    data: Float32Array.of(from + i),
  }));
}

/** Audio frame times on a plain grid (frame k at T0 + k·periodUs). */
function grid(n: number, periodUs: number): number[] {
  return Array.from({ length: n }, (_, k) => T0 + k * periodUs);
}

describe('audioFrameTimesUs', () => {
  test('AVDCNN grid: 512 window, 320 hop at 16 kHz → 50 frames/s, centred (16 ms) or at the window end', () => {
    const g = { startUs: T0, sampleRateHz: 16_000, hop: 320, window: 512 };
    assert.deepEqual(Array.from(audioFrameTimesUs(g, 3)), [T0 + 16_000, T0 + 36_000, T0 + 56_000]);
    assert.deepEqual(Array.from(audioFrameTimesUs({ ...g, anchor: 'end' }, 2)), [
      T0 + 31_937.5,
      T0 + 51_937.5,
    ]);
    // Live variant: 128 hop → 125 frames/s (8 ms).
    const live = audioFrameTimesUs({ ...g, hop: 128 }, 2, 10);
    assert.equal(live[1]! - live[0]!, 8000);
    assert.equal(live[0], T0 + 16_000 + 10 * 8000);
    assert.throws(() => audioFrameTimesUs({ ...g, hop: 0 }, 1), RangeError);
  });
});

describe('causal alignment (live)', () => {
  test('25 fps video to 50 fps audio: each frame is held for two audio frames, newest-earlier only', () => {
    const { aligned, stats } = alignVisualFrames(frames(10, 25), grid(20, 20_000), { mode: 'causal' });
    assert.deepEqual(
      aligned.map((a) => a.data[0]),
      [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9],
    );
    assert.ok(
      aligned.every((a) => a.status === 'ok' && a.fromUs.length === 1 && a.fromUs[0]! <= a.tUs),
      "aligned.every((a) => a.status === 'ok' && a.fromUs.length === 1 && a.fromUs[0]! <= a.tUs)",
    );
    assert.equal(stats.missing, 0);
    assert.ok(Math.abs(stats.fps - 25) < 1e-6, 'Math.abs(stats.fps - 25) < 1e-6');
  });

  test('30 fps to 125 frames/s (128 hop): never uses a frame from the future', () => {
    const { aligned } = alignVisualFrames(frames(30, 30), grid(120, 8000), { mode: 'causal' });
    for (const a of aligned) {
      assert.equal(a.status, 'ok');
      const k = a.data[0]!;
      assert.ok(
        T0 + (k * 1e6) / 30 <= a.tUs + 0.5 && a.tUs < T0 + ((k + 1) * 1e6) / 30 + 0.5,
        `t ${a.tUs - T0}`,
      );
    }
  });

  test('a camera that stops gives flagged missing frames (zeros), never a shifted timeline', () => {
    // Frames 0–9 at 25 fps, then nothing until frame 25 (1 s); audio every 20 ms for 1.2 s.
    const f = [...frames(10, 25), ...frames(5, 25, 25)];
    const times = grid(60, 20_000);
    const { aligned, stats } = alignVisualFrames(f, times, { mode: 'causal', maxGapUs: 100_000 });
    assert.equal(aligned.length, 60);
    aligned.forEach((a, k) => assert.equal(a.tUs, times[k]));
    // Last frame before the stall at 360 ms is held up to 460 ms; 480…980 ms are missing; frame 25 at 1 s.
    const missing = aligned.filter((a) => a.status === 'missing');
    assert.equal(missing.length, 26);
    assert.equal(stats.missing, 26);
    assert.equal(missing[0]!.tUs, T0 + 480_000);
    assert.equal(missing.at(-1)!.tUs, T0 + 980_000);
    assert.ok(
      missing.every((a) => a.data.length === 1 && a.data[0] === 0 && a.fromUs.length === 0),
      'missing.every((a) => a.data.length === 1 && a.data[0] === 0 && a.fromUs.length === 0)',
    );
    assert.equal(aligned[50]!.data[0], 25);
  });

  test('late and duplicate frames are dropped and counted; streaming equals batch', () => {
    const f = frames(8, 25);
    const arrival = [f[0]!, f[1]!, f[3]!, f[2]!, f[3]!, f[4]!, f[5]!, f[7]!, f[6]!];
    const live = new CausalVisualAligner();
    assert.deepEqual(
      arrival.map((x) => live.push(x)),
      ['accepted', 'accepted', 'accepted', 'late', 'duplicate', 'accepted', 'accepted', 'accepted', 'late'],
    );
    assert.equal(live.stats.late, 2);
    assert.equal(live.stats.duplicates, 1);
    assert.equal(live.push({ tUs: T0 + 1e6, data: new Float32Array(3) }), 'bad-length');
    const times = grid(16, 20_000);
    const streamed = times.map((t) => live.at(t).data[0]);
    const batch = alignVisualFrames(arrival, times, { mode: 'causal' });
    assert.deepEqual(
      streamed,
      batch.aligned.map((a) => a.data[0]),
    );
    // Frame 2 never arrived in time: its slot holds frame 1.
    assert.deepEqual(streamed.slice(4, 6), [1, 1]);
    assert.throws(() => live.at(T0), RangeError); // queries must not go back in time
  });

  test('frames arriving after the audio frame that needed them serve later audio frames', () => {
    const f = frames(3, 25);
    const al = new CausalVisualAligner();
    al.push(f[0]!);
    assert.equal(al.at(T0 + 50_000).data[0], 0); // frame 1 (40 ms) has not arrived yet
    al.push(f[1]!);
    assert.equal(al.at(T0 + 60_000).data[0], 1);
  });
});

describe('linear alignment (offline)', () => {
  test('interpolates between the frames around each audio frame; exact frames pass through', () => {
    const { aligned } = alignVisualFrames(frames(5, 25), grid(9, 20_000), { mode: 'linear' });
    assert.deepEqual(
      aligned.map((a) => a.data[0]),
      [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4],
    );
    assert.deepEqual(aligned[1]!.fromUs, [T0, T0 + 40_000]);
    assert.deepEqual(aligned[2]!.fromUs, [T0 + 40_000]);
  });

  test('30 → 50 fps: values are the linear ramp of the frame index', () => {
    const { aligned } = alignVisualFrames(frames(30, 30), grid(49, 20_000), { mode: 'linear' });
    aligned.forEach((a, k) => assert.ok(Math.abs(a.data[0]! - (k * 30) / 50) < 1e-4, `${k}: ${a.data[0]}`));
  });

  test('gaps and edges: held within maxGap/2, missing beyond; never interpolated across a gap', () => {
    const f = [...frames(3, 25), ...frames(3, 25, 10)]; // 0, 40, 80 ms … 400, 440, 480 ms
    const times = [
      T0 - 30_000,
      T0 - 60_000 + 80_000,
      T0 + 100_000,
      T0 + 240_000,
      T0 + 380_000,
      T0 + 520_000,
      T0 + 600_000,
    ];
    times.sort((a, b) => a - b);
    const { aligned, stats } = alignVisualFrames(f, times, { mode: 'linear', maxGapUs: 100_000 });
    assert.deepEqual(
      aligned.map((a) => (a.status === 'ok' ? a.data[0] : 'missing')),
      [0, 0.5, 2, 'missing', 10, 12, 'missing'],
    );
    assert.equal(stats.missing, 2);
  });

  test('no frames at all: every audio frame is missing with zeros of the given size', () => {
    const { aligned, stats } = alignVisualFrames([], grid(4, 20_000), { frameSize: 1152 });
    assert.ok(
      aligned.every((a) => a.status === 'missing' && a.data.length === 1152),
      "aligned.every((a) => a.status === 'missing' && a.data.length === 1152)",
    );
    assert.equal(stats.missing, 4);
    assert.throws(() => alignVisualFrames([], [2, 1]), RangeError);
  });
});

describe('frame-rate changes', () => {
  test('30 → 15 fps (low light) is counted once and alignment stays on time', () => {
    // 30 fps for 2 s, then 15 fps (the first 15 fps frame one 15 fps period after the last 30 fps one).
    const last30 = T0 + Math.round((59 * 1e6) / 30);
    const f = [
      ...frames(60, 30),
      ...Array.from({ length: 30 }, (_, k) => ({
        tUs: last30 + Math.round(((k + 1) * 1e6) / 15),
        data: Float32Array.of(60 + k),
      })),
    ];
    const { aligned, stats } = alignVisualFrames(f, grid(200, 20_000), { mode: 'causal', maxGapUs: 100_000 });
    assert.equal(stats.rateChanges, 1);
    assert.ok(Math.abs(stats.fps - 15) < 0.01, String(stats.fps));
    assert.equal(stats.missing, 0);
    for (const a of aligned)
      assert.ok(
        a.fromUs[0]! <= a.tUs && a.tUs - a.fromUs[0]! < 1e6 / 15 + 1,
        `audio frame at ${a.tUs - T0} µs`,
      );
  });

  test('FrameRateMonitor ignores one dropped frame and a stall', () => {
    const m = new FrameRateMonitor();
    let t = 0;
    for (let i = 0; i < 40; i++) {
      t += i === 20 ? 80_000 : i === 30 ? 2_000_000 : 40_000;
      m.push(t);
    }
    assert.equal(m.changes, 0);
    assert.ok(Math.abs(m.fps - 25) < 1e-9, 'Math.abs(m.fps - 25) < 1e-9');
  });
});

describe('stackContext', () => {
  test('±2 frames, oldest first, edges repeated, missing frames zero', () => {
    const f = frames(5, 25);
    const { aligned } = alignVisualFrames([f[0]!, f[1]!, f[3]!, f[4]!], grid(5, 40_000), {
      maxGapUs: 40_000,
    });
    assert.equal(aligned[2]!.status, 'missing');
    const mid = stackContext(aligned, 2);
    assert.deepEqual(Array.from(mid.data), [0, 1, 0, 3, 4]);
    assert.equal(mid.missing, 1);
    assert.deepEqual(Array.from(stackContext(aligned, 0).data), [0, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(stackContext(aligned, 4, 4, 0).data), [0, 1, 0, 3, 4]);
    assert.throws(() => stackContext(aligned, 5), RangeError);
    assert.throws(() => stackContext([], 0), RangeError);
  });
});
