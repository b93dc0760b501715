import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AVDCNN_CONTEXT,
  CAUSAL_CONTEXT,
  ContextStacker,
  stackContext,
} from '../../src/streams/features/audio/context.ts';
import {
  RunningNormalizer,
  denormalizeFrames,
  normalizeFrames,
  normalizeRunning,
  normalizeUtterance,
  utteranceStats,
} from '../../src/streams/features/audio/normalize.ts';
import { AVDCNN_STFT, stft } from '../../src/streams/features/audio/stft.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { fixture } from '../readers/shared-data.ts';
import { prng as rng } from '../support/fixtures.ts';

function close(a: number, b: number, tol: number, msg?: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} ${a} vs ${b}`);
}

describe('per-utterance normalisation', () => {
  test('mean and (population) standard deviation per bin, by hand', () => {
    // 3 frames × 2 bins: bin 0 = 1, 2, 6 (mean 3, var 14/3); bin 1 constant 5 (σ floored).
    const frames = Float32Array.from([1, 5, 2, 5, 6, 5]);
    const s = utteranceStats(frames, 2);
    close(s.mean[0]!, 3, 1e-6);
    close(s.mean[1]!, 5, 1e-6);
    close(s.std[0]!, Math.sqrt(14 / 3), 1e-6);
    close(s.std[1]!, 0.01, 1e-9, 'floor');
    const { normalized } = normalizeUtterance(frames, 2);
    close(normalized[0]!, -2 / Math.sqrt(14 / 3), 1e-6);
    close(normalized[4]!, 3 / Math.sqrt(14 / 3), 1e-6);
    assert.deepEqual([normalized[1], normalized[3], normalized[5]], [0, 0, 0]);
    assert.deepEqual(utteranceStats(new Float32Array(0), 2).std, Float32Array.from([1, 1]));
    assert.throws(() => utteranceStats(new Float32Array(5), 2), /not frames of 2 bins/);
  });

  test('on real speech: every bin gets mean 0, standard deviation 1; denormalise inverts', async () => {
    const w = await readWavFile(fixture('arctic-aew-a0001-head.wav'));
    const s = stft(w.samples, AVDCNN_STFT);
    const { normalized, stats } = normalizeUtterance(s.logPower, s.bins);
    for (let k = 0; k < s.bins; k++) {
      let m = 0;
      let v = 0;
      for (let t = 0; t < s.frames; t++) m += normalized[t * s.bins + k]!;
      m /= s.frames;
      for (let t = 0; t < s.frames; t++) v += (normalized[t * s.bins + k]! - m) ** 2;
      close(m, 0, 1e-5, `bin ${k} mean`);
      close(Math.sqrt(v / s.frames), 1, 1e-5, `bin ${k} std`);
    }
    const back = denormalizeFrames(normalized, s.bins, stats);
    for (let i = 0; i < back.length; i++) close(back[i]!, s.logPower[i]!, 1e-4);
    assert.deepEqual(normalizeFrames(s.logPower, s.bins, stats), normalized);
  });
});

describe('running (causal) normalisation', () => {
  test('warm-up: the cumulative mean and variance of the frames so far, then exponential', () => {
    const next = rng(5);
    const bins = 3;
    const frameRateHz = 50;
    const tau = 1; // 50 frames of warm-up
    const r = new RunningNormalizer({ bins, frameRateHz, timeConstantS: tau });
    close(r.alpha, Math.exp(-1 / 50), 1e-15);
    const seen: number[][] = [];
    for (let t = 0; t < 50; t++) {
      const f = [next() * 10, next() - 5, 3];
      seen.push(f);
      const z = r.normalize(f);
      const st = r.stats();
      for (let k = 0; k < bins; k++) {
        const col = seen.map((g) => g[k]!);
        const mean = col.reduce((a, b) => a + b, 0) / col.length;
        const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
        close(st.mean[k]!, mean, 1e-4, `t ${t} bin ${k} mean`);
        const std = Math.max(0.01, Math.sqrt(variance));
        close(st.std[k]!, std, 1e-4 * Math.max(1, std), `t ${t} bin ${k} std`);
        close(z[k]!, (f[k]! - mean) / std, 1e-3, `t ${t} bin ${k} z`);
      }
    }
  });

  test('time constant: after a step the mean covers 1 − 1/e of it in τ', () => {
    const frameRateHz = 50;
    const r = new RunningNormalizer({ bins: 1, frameRateHz, timeConstantS: 2 });
    for (let t = 0; t < 1000; t++) r.update([0]);
    for (let t = 0; t < 2 * frameRateHz; t++) r.update([1]);
    close(r.stats().mean[0]!, 1 - Math.exp(-1), 1e-3);
    // Cumulative (τ = ∞): the plain average.
    const c = new RunningNormalizer({ bins: 1, frameRateHz, timeConstantS: Infinity });
    for (let t = 0; t < 1000; t++) c.update([t % 2]);
    close(c.stats().mean[0]!, 0.5, 1e-12);
    close(c.stats().std[0]!, 0.5, 1e-12);
  });

  test('causal: a frame is normalised with past frames only (later frames change nothing before them)', () => {
    const next = rng(6);
    const bins = 4;
    const a = Float32Array.from({ length: 40 * bins }, () => next());
    const b = a.slice();
    for (let i = 20 * bins; i < b.length; i++) b[i] = 100 * next();
    const opts = { bins, frameRateHz: 50 };
    const za = normalizeRunning(a, opts).normalized;
    const zb = normalizeRunning(b, opts).normalized;
    assert.deepEqual(za.subarray(0, 20 * bins), zb.subarray(0, 20 * bins));
    assert.notDeepEqual(za.subarray(20 * bins), zb.subarray(20 * bins));
  });

  test('state carried: stopping and resuming from the saved state gives the same frames', async () => {
    const w = await readWavFile(fixture('lombard-s30-lbwzzp-head.wav'));
    const s = stft(w.samples, AVDCNN_STFT);
    const opts = { bins: s.bins, frameRateHz: 50 };
    const whole = normalizeRunning(s.logPower, opts).normalized;
    const cut = 9 * s.bins;
    const first = normalizeRunning(s.logPower.subarray(0, cut), opts);
    const second = normalizeRunning(s.logPower.subarray(cut), { ...opts, state: first.state }).normalized;
    assert.deepEqual(Float32Array.from([...first.normalized, ...second]), whole);
    assert.throws(
      () => new RunningNormalizer({ bins: 3, frameRateHz: 50, state: first.state }),
      /state of 257 bins, expected 3/,
    );
  });
});

describe('context frames', () => {
  /** T frames of `bins` values where frame t holds t·10 + k, so rows are easy to read. */
  function ramp(t: number, bins: number): Float32Array {
    return Float32Array.from({ length: t * bins }, (_, i) => Math.floor(i / bins) * 10 + (i % bins));
  }
  const rowsOf = (stacked: Float32Array, bins: number): number[] => {
    const rows: number[] = [];
    for (let i = 0; i < stacked.length; i += bins) rows.push(Math.floor(stacked[i]! / 10));
    return rows;
  };

  test('±2 frames (AVDCNN): frames t−2..t+2 oldest first, edges repeated; 257 × 5 values', () => {
    const bins = 3;
    const out = stackContext(ramp(6, bins), bins, AVDCNN_CONTEXT);
    assert.equal(out.length, 6 * 5 * bins);
    const per = (t: number) => rowsOf(out.subarray(t * 5 * bins, (t + 1) * 5 * bins), bins);
    assert.deepEqual(per(0), [0, 0, 0, 1, 2]);
    assert.deepEqual(per(1), [0, 0, 1, 2, 3]);
    assert.deepEqual(per(3), [1, 2, 3, 4, 5]);
    assert.deepEqual(per(5), [3, 4, 5, 5, 5]);
    assert.deepEqual(Array.from(out.subarray(2 * bins, 3 * bins)), [0, 1, 2], 'centre row of frame 0');
    assert.equal(stackContext(new Float32Array(257 * 4), 257, AVDCNN_CONTEXT).length / 4, 1285);
  });

  test('causal (t−4..t): no look-ahead', () => {
    const bins = 2;
    const out = stackContext(ramp(7, bins), bins, CAUSAL_CONTEXT);
    const per = (t: number) => rowsOf(out.subarray(t * 5 * bins, (t + 1) * 5 * bins), bins);
    assert.deepEqual(per(0), [0, 0, 0, 0, 0]);
    assert.deepEqual(per(2), [0, 0, 0, 1, 2]);
    assert.deepEqual(per(6), [2, 3, 4, 5, 6]);
  });

  test('streaming stacker == whole-array stacking; a frame leaves once its look-ahead is in', () => {
    const bins = 5;
    for (const spec of [AVDCNN_CONTEXT, CAUSAL_CONTEXT, { past: 0, future: 3 }]) {
      for (const t of [1, 2, 3, 9]) {
        const frames = ramp(t, bins);
        const s = new ContextStacker(bins, spec);
        const got: number[] = [];
        for (let i = 0; i < t; i++) {
          const out = s.push(frames.subarray(i * bins, (i + 1) * bins));
          assert.deepEqual(
            out.map((o) => o.index),
            i >= spec.future ? [i - spec.future] : [],
          );
          for (const o of out) got.push(...o.features);
        }
        for (const o of s.flush()) got.push(...o.features);
        assert.deepEqual(
          Float32Array.from(got),
          stackContext(frames, bins, spec),
          `${JSON.stringify(spec)} T=${t}`,
        );
      }
    }
    assert.throws(() => new ContextStacker(3, { past: -1, future: 0 }), /past -1/);
    assert.throws(() => new ContextStacker(3, AVDCNN_CONTEXT).push([1, 2]), /2 bins, expected 3/);
  });
});
