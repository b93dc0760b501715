/**
 * HRV (src/streams/features/hrv.ts): time-domain values checked against hand arithmetic, the ectopic rule's
 * effect, the tachogram interpolation and detrending, and LF/HF on synthetic RR series with known sinusoids.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HF_BAND_HZ,
  LF_BAND_HZ,
  computeHrv,
  detrendLinear,
  hrvInWindow,
  resampleEven,
  timeDomainHrv,
} from '../../src/streams/features/hrv.ts';
import type { RrSeries } from '../../src/streams/features/ecg/rr.ts';

function close(actual: number | null, expected: number, tol: number, what: string): void {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (±${tol})`);
}

/** RR series whose beat times are the cumulative sums of the intervals, starting at `t0S`. */
function series(rrMs: readonly number[], t0S = 0): RrSeries {
  const tUs: number[] = [];
  let t = t0S * 1e6;
  for (const v of rrMs) {
    t += v * 1000;
    tUs.push(t);
  }
  return { tUs: Float64Array.from(tUs), rrMs: Float64Array.from(rrMs) };
}

/**
 * Beats whose intervals follow rr(t) = mean + Σ a·sin(2π f t) evaluated at each beat's time (ms), for
 * `durationS`: the tachogram is the sum of the sinusoids, so LF and HF are known: a²/2 per sinusoid.
 */
function sinusoidalRr(
  durationS: number,
  comps: readonly { f: number; a: number }[],
  mean = 1000,
  slopeMsPerS = 0,
): RrSeries {
  const tUs: number[] = [];
  const rr: number[] = [];
  const at = (t: number): number =>
    mean + slopeMsPerS * t + comps.reduce((s, c) => s + c.a * Math.sin(2 * Math.PI * c.f * t), 0);
  let t = 0;
  while (t < durationS) {
    // The interval ending at t_new is rr(t_new): solve t_new = t + rr(t_new)/1000 by fixed-point iteration.
    let tn = t + at(t) / 1000;
    for (let k = 0; k < 20; k++) tn = t + at(tn) / 1000;
    t = tn;
    tUs.push(t * 1e6);
    rr.push(at(t));
  }
  return { tUs: Float64Array.from(tUs), rrMs: Float64Array.from(rr) };
}

describe('time-domain HRV by hand', () => {
  test('RR 800, 810, 790, 850, 820 ms', () => {
    // mean = (800 + 810 + 790 + 850 + 820) / 5 = 4070 / 5 = 814 ms; HR = 60000 / 814 = 73.7101 bpm
    // deviations −14, −4, −24, 36, 6 → squares 196 + 16 + 576 + 1296 + 36 = 2120
    //   SDNN = √(2120 / (5 − 1)) = √530 = 23.0217 ms
    // successive differences 10, −20, 60, −30 → squares 100 + 400 + 3600 + 900 = 5000
    //   RMSSD = √(5000 / 4) = √1250 = 35.3553 ms; pNN50 = 1 of 4 (|60| > 50) = 25 %
    const r = computeHrv(series([800, 810, 790, 850, 820]));
    assert.equal(r.nn, 5);
    assert.equal(r.rejectedEctopic + r.rejectedOutOfRange, 0);
    close(r.meanNnMs, 814, 1e-9, 'mean NN');
    close(r.meanHrBpm, 60000 / 814, 1e-9, 'mean HR');
    close(r.sdnnMs, Math.sqrt(530), 1e-9, 'SDNN');
    close(r.rmssdMs, Math.sqrt(1250), 1e-9, 'RMSSD');
    close(r.pnn50Pct, 25, 1e-9, 'pNN50');
    assert.equal(r.successiveDifferences, 4);
  });

  test('pNN50 counts differences strictly above 50 ms', () => {
    // differences 50, −51, 50.5 → 51 and 50.5 exceed 50 → 2 of 3 = 66.67 %;
    // RMSSD = √((2500 + 2601 + 2550.25) / 3) = √(7651.25 / 3) = √2550.4167 = 50.5016 ms
    const r = timeDomainHrv([800, 850, 799, 849.5]);
    close(r.pnn50Pct, 200 / 3, 1e-9, 'pNN50');
    close(r.rmssdMs, Math.sqrt(7651.25 / 3), 1e-9, 'RMSSD');
  });

  test('a premature beat: the rule drops its two intervals; differences only between kept neighbours', () => {
    // 800 ×3, 500 (premature), 1100 (compensatory), 800 ×3. The local median of each suspect is 800 and
    // |500 − 800| = |1100 − 800| = 300 > 0.2 · 800 = 160 → both rejected (ectopic 2).
    // NN: six × 800 → mean 800, SDNN 0; successive pairs kept: (0,1), (1,2), (5,6), (6,7) → 4 differences
    // of 0 → RMSSD 0, pNN50 0.
    const rr = [800, 800, 800, 500, 1100, 800, 800, 800];
    const r = computeHrv(series(rr));
    assert.equal(r.rejectedEctopic, 2);
    assert.equal(r.nn, 6);
    close(r.meanNnMs, 800, 1e-9, 'mean NN');
    close(r.sdnnMs, 0, 1e-9, 'SDNN');
    close(r.rmssdMs, 0, 1e-9, 'RMSSD');
    assert.equal(r.successiveDifferences, 4);
    // Without the rule: mean = (6·800 + 500 + 1100) / 8 = 6400 / 8 = 800;
    // deviations 0 ×6, −300, 300 → SDNN = √(180000 / 7) = 160.3567 ms;
    // differences 0, 0, −300, 600, −300, 0, 0 → RMSSD = √((90000 + 360000 + 90000) / 7) = √77142.857 =
    // 277.746 ms; pNN50 = 3 / 7 = 42.857 %.
    const raw = computeHrv(series(rr), { rrRule: false });
    close(raw.sdnnMs, Math.sqrt(180000 / 7), 1e-9, 'raw SDNN');
    close(raw.rmssdMs, Math.sqrt(540000 / 7), 1e-9, 'raw RMSSD');
    close(raw.pnn50Pct, 300 / 7, 1e-9, 'raw pNN50');
  });

  test('out-of-range intervals (< 300 or > 2000 ms) are rejected and counted', () => {
    const r = computeHrv(series([250, 800, 820, 2500, 810]));
    assert.equal(r.rejectedOutOfRange, 2);
    assert.equal(r.nn, 3);
    close(r.meanNnMs, (800 + 820 + 810) / 3, 1e-9, 'mean NN');
    // Kept indices 1, 2, 4: only (1,2) are adjacent → one difference of 20 ms.
    assert.equal(r.successiveDifferences, 1);
    close(r.rmssdMs, 20, 1e-9, 'RMSSD');
  });

  test('empty and tiny windows: nulls with notes, never NaN', () => {
    const e = computeHrv(series([]));
    assert.deepEqual(
      [e.meanNnMs, e.sdnnMs, e.rmssdMs, e.pnn50Pct, e.lfMs2, e.hfMs2, e.lfHf],
      [null, null, null, null, null, null, null],
    );
    assert.ok(e.notes.includes('no NN intervals'));
    const one = computeHrv(series([900]));
    close(one.meanNnMs, 900, 0, 'mean');
    assert.equal(one.sdnnMs, null);
    assert.equal(one.rmssdMs, null);
  });
});

describe('tachogram resampling and detrending', () => {
  test('natural cubic spline: exact for straight lines, close for smooth curves, knots reproduced', () => {
    const x = [0, 0.7, 1.5, 2.6, 3.1, 4.0];
    const line = resampleEven(
      x,
      x.map((t) => 3 * t - 2),
      4,
    );
    assert.equal(line.length, 17); // 0 … 4 s at 4 Hz
    line.forEach((v, k) => assert.ok(Math.abs(v - (3 * (k / 4) - 2)) < 1e-12));
    const xs = Array.from({ length: 40 }, (_, i) => i * 0.5 + 0.1 * Math.sin(i));
    const ys = xs.map((t) => Math.sin(0.6 * t));
    const y = resampleEven(xs, ys, 4);
    // Away from the ends (natural end conditions), the spline follows sin within 1e-3.
    for (let k = 8; k < y.length - 8; k++) {
      const t = xs[0]! + k / 4;
      assert.ok(Math.abs(y[k]! - Math.sin(0.6 * t)) < 1e-3, `t ${t}`);
    }
    // Knots on the 4 Hz grid come out unchanged: (0, 1), (0.5, 3), (1.25, −2), (2, 4) → indices 0, 2, 5, 8.
    const k = resampleEven([0, 0.5, 1.25, 2], [1, 3, -2, 4], 4);
    for (const [i, v] of [
      [0, 1],
      [2, 3],
      [5, -2],
      [8, 4],
    ] as const)
      assert.ok(Math.abs(k[i]! - v) < 1e-12, `knot ${i}`);
    assert.throws(() => resampleEven([0, 0], [1, 2], 4), RangeError);
    assert.throws(() => resampleEven([0], [1], 4), RangeError);
  });

  test('linear interpolation between knots', () => {
    // knots (0, 0), (1, 10), (2, 0) at 4 Hz: 0, 2.5, 5, 7.5, 10, 7.5, 5, 2.5, 0
    assert.deepEqual(
      Array.from(resampleEven([0, 1, 2], [0, 10, 0], 4, 'linear')),
      [0, 2.5, 5, 7.5, 10, 7.5, 5, 2.5, 0],
    );
  });

  test('detrendLinear removes the least-squares line exactly', () => {
    const x = Float64Array.from({ length: 50 }, (_, i) => 5 + 0.3 * i);
    detrendLinear(x);
    for (const v of x) assert.ok(Math.abs(v) < 1e-12);
  });
});

describe('frequency-domain HRV', () => {
  test('LF 0.1 Hz (30 ms) + HF 0.25 Hz (20 ms) over 5 min: LF ≈ 30²/2 = 450, HF ≈ 20²/2 = 200 ms², LF/HF ≈ 2.25', () => {
    const r = computeHrv(
      sinusoidalRr(300, [
        { f: 0.1, a: 30 },
        { f: 0.25, a: 20 },
      ]),
    );
    assert.equal(r.spectrumMethod, 'welch');
    close(r.lfMs2, 450, 0.05 * 450, 'LF');
    close(r.hfMs2, 200, 0.05 * 200, 'HF');
    close(r.lfHf, 2.25, 0.08 * 2.25, 'LF/HF');
    close(r.lfNu, 450 / 650, 0.03, 'LFnu');
    close(r.hfNu, 200 / 650, 0.03, 'HFnu');
    assert.ok(r.totalPowerMs2! >= r.lfMs2! + r.hfMs2!);
    assert.deepEqual(r.notes, []);
  });

  test('swapped amplitudes swap the balance (LF 10 ms, HF 30 ms → LF/HF ≈ 50/450)', () => {
    const r = computeHrv(
      sinusoidalRr(300, [
        { f: 0.08, a: 10 },
        { f: 0.3, a: 30 },
      ]),
    );
    close(r.lfMs2, 50, 0.08 * 50, 'LF');
    close(r.hfMs2, 450, 0.08 * 450, 'HF');
    close(r.lfHf, 50 / 450, 0.1 * (50 / 450), 'LF/HF');
  });

  test('a sinusoid outside both bands (0.02 Hz, VLF) leaves LF and HF near zero', () => {
    const r = computeHrv(sinusoidalRr(300, [{ f: 0.02, a: 40 }]));
    assert.ok(r.lfMs2! < 0.05 * 800, `LF ${r.lfMs2}`);
    assert.ok(r.hfMs2! < 1, `HF ${r.hfMs2}`);
  });

  test('an RR trend (HR slowing, +2 ms/s) is removed: total power stays ≈ LF + HF', () => {
    // Without the linear detrend the ramp's leakage would add ≈ 280 ms² to the 60 s window's total power.
    for (const durationS of [60, 300]) {
      const r = computeHrv(
        sinusoidalRr(
          durationS,
          [
            { f: 0.1, a: 30 },
            { f: 0.25, a: 20 },
          ],
          800,
          2,
        ),
      );
      close(r.lfMs2, 450, 0.05 * 450, `LF (${durationS} s)`);
      close(r.totalPowerMs2, r.lfMs2! + r.hfMs2!, 0.03 * (r.lfMs2! + r.hfMs2!), `total (${durationS} s)`);
    }
  });

  test('linear interpolation option runs; cubic is closer for HF', () => {
    const s = sinusoidalRr(300, [{ f: 0.25, a: 20 }]);
    const cubic = computeHrv(s).hfMs2!;
    const lin = computeHrv(s, { interpolation: 'linear' }).hfMs2!;
    assert.ok(Math.abs(cubic - 200) < Math.abs(lin - 200), `cubic ${cubic}, linear ${lin}`);
  });

  test('windows too short for a band give null with a note', () => {
    const thirty = computeHrv(sinusoidalRr(30, [{ f: 0.25, a: 20 }]));
    assert.equal(thirty.lfMs2, null);
    assert.ok(thirty.hfMs2 !== null);
    assert.equal(thirty.lfHf, null);
    assert.ok(thirty.notes.some((n) => /no LF/.test(n)));
    const ten = computeHrv(sinusoidalRr(10, [{ f: 0.25, a: 20 }]));
    assert.equal(ten.hfMs2, null);
    assert.ok(ten.notes.some((n) => /no spectrum/.test(n)));
    assert.equal(2 / LF_BAND_HZ[0], 50);
    assert.ok(Math.abs(2 / HF_BAND_HZ[0] - 13.333) < 1e-3);
  });

  test('hrvInWindow keeps intervals whose ending beat lies in [start, end)', () => {
    const s = series([1000, 1000, 1000, 1000, 1000]); // beats at 1, 2, 3, 4, 5 s
    const r = hrvInWindow(s, 2e6, 4e6); // beats at 2 and 3 s
    assert.equal(r.intervals, 2);
  });
});
