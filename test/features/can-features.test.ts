import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { eventTimeWindows } from '../../src/streams/windows.ts';
import {
  DrivingFeatureAccumulator,
  drivingFeaturesAggregator,
} from '../../src/streams/features/can/driving.ts';
import type { DrivingSample } from '../../src/streams/features/can/driving.ts';
import {
  butterworth2LowPass,
  filtfilt,
  percentile,
  savitzkyGolayDerivative,
} from '../../src/streams/features/can/filters.ts';
import { cleanSeries, resampleSegment, stats } from '../../src/streams/features/can/series.ts';
import {
  countReversals,
  entropyHistogram,
  stationaryPoints,
  steeringEntropy,
  steeringEntropyAlpha,
  steeringPredictionErrors,
  steeringReversalRate,
} from '../../src/streams/features/can/steering.ts';
import { parseDbc } from '../../src/streams/features/can/dbc.ts';
import { parseVehicleProfileText } from '../../src/streams/features/can/profile.ts';
import type { DrivingRole } from '../../src/streams/features/can/profile.ts';
import { SignalExtractor } from '../../src/streams/features/can/signals.ts';
import { readCandumpFile } from '../../src/streams/readers/candump.ts';
import { REPO_ROOT, SHARED_SKIP, shared } from '../readers/shared-data.ts';

const close = (a: number, b: number, tol: number, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

describe('filters', () => {
  test('Butterworth coefficients equal MATLAB butter() (Markkula & Engström’s precomputed table)', () => {
    // GetButterworthFilter.m: N = 2, fs 30 Hz, fc 0.6 Hz and 1 Hz.
    const f = butterworth2LowPass(0.6, 30);
    [0.00362168151493, 0.00724336302986, 0.00362168151493].forEach((v, i) =>
      close(f.b[i]!, v, 1e-14, `b${i}`),
    );
    close(f.a[1], -1.82269492519631, 1e-14, 'a1');
    close(f.a[2], 0.83718165125602, 1e-14, 'a2');
    const g = butterworth2LowPass(1, 30);
    close(g.b[0], 0.0095257623762, 1e-14);
    close(g.a[1], -1.70555214554408, 1e-14);
    close(g.a[2], 0.74365519504887, 1e-14);
    assert.throws(() => butterworth2LowPass(15, 30), RangeError);
  });

  test('filtfilt equals scipy.signal.filtfilt(b, a, x, padtype="odd", padlen=6)', () => {
    // Values from scipy 1.17: b, a = butter(2, 2, fs=10); x as below.
    const x = Float64Array.from([0, 1, 0, 0, 2, 3, 1, 0, -1, 0, 4, 2]);
    const want = [
      -0.002006751592865466, 0.193670710468633, 0.31391771717086187, 0.8328622383786202, 1.7425372793712506,
      2.0648775154835173, 1.2180127979604254, -0.003635935855351935, -0.2586555902252182, 0.7756251548165467,
      1.8581074155356545, 2.010151148086224,
    ];
    const y = filtfilt(butterworth2LowPass(2, 10), x);
    want.forEach((w, i) => close(y[i]!, w, 1e-12, `y[${i}]`));
    // A constant passes unchanged (steady-state initial conditions: no start-up transient).
    for (const v of filtfilt(butterworth2LowPass(0.6, 50), new Float64Array(40).fill(7.5)))
      close(v, 7.5, 1e-12);
    assert.throws(() => filtfilt(butterworth2LowPass(1, 10), new Float64Array(6)), /more than 6 samples/);
  });

  test('Savitzky–Golay derivative is exact for lines and quadratics', () => {
    const dt = 0.02;
    const line = Float64Array.from({ length: 50 }, (_, i) => 3 * (i * dt) + 1);
    for (const d of savitzkyGolayDerivative(line, 5, dt)) close(d, 3, 1e-9);
    // x = t² → x' = 2t at the window centre; output i corresponds to input i + m.
    const quad = Float64Array.from({ length: 50 }, (_, i) => (i * dt) ** 2);
    savitzkyGolayDerivative(quad, 4, dt).forEach((d, i) => close(d, 2 * (i + 4) * dt, 1e-9));
    assert.equal(savitzkyGolayDerivative(line.subarray(0, 10), 5, dt).length, 0);
  });

  test('percentile: linear interpolation (numpy default)', () => {
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9.1); // h = 9 × 0.9 = 8.1 → 9 + 0.1 × 1
    assert.equal(percentile([5], 90), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});

describe('steering: reversal rate (Markkula & Engström 2006)', () => {
  test('stationary points and the gap rule, hand-counted', () => {
    // θ = 0 1 3 2 0 −1 1 4 4 3; d = 0 1 2 −1 −2 −1 2 3 0 −1 (d(0) = 0).
    // Stationary k ∈ 0..8: k=0 (d=0), k=2 (+ → −), k=5 (− → +), k=8 (d=0) → values 0, 3, −1, 4.
    const th = Float64Array.from([0, 1, 3, 2, 0, -1, 1, 4, 4, 3]);
    assert.deepEqual(stationaryPoints(th), [0, 2, 5, 8]);
    // Gap 2. Upward: ref 0; 3 − 0 > 2 → 1, ref 3; −1 ≤ 3 → ref −1; 4 − (−1) > 2 → 2.
    // Downward on −θ (0, −3, 1, −4): −3 ≤ 0 → ref −3; 1 − (−3) > 2 → 1, ref 1; −4 ≤ 1 → ref −4. Total 3.
    assert.deepEqual(countReversals(th, 2), { upward: 2, downward: 1 });
    // Gap 4 (strict >): upward 3 − 0 ≤ 4 (3 > 0, ref stays 0); −1 → ref −1; 4 − (−1) = 5 > 4 → 1.
    // Downward: ref −3 after the first; 1 − (−3) = 4 is not > 4; −4 → ref. Total 1.
    assert.deepEqual(countReversals(th, 4), { upward: 1, downward: 0 });
  });

  test('a 0.2 Hz, ±10° sinusoid over 60 s: 12 upward + 12 downward reversals; ±1° stays under a 3° gap', () => {
    const fs = 50;
    const n = 60 * fs;
    const sine = (amp: number) =>
      Float64Array.from({ length: n }, (_, i) => amp * Math.sin(2 * Math.PI * 0.2 * (i / fs)));
    const r = steeringReversalRate(sine(10), fs);
    // Peaks at 1.25 + 5k s, troughs at 3.75 + 5k s (k = 0..11): start → peak, then 11 trough → peak: 12 up;
    // 12 peak → trough: 12 down. Duration (N − 1)/fs = 59.98 s.
    assert.deepEqual([r.upward, r.downward, r.durationS], [12, 12, 59.98]);
    close(r.ratePerMin, (24 / 59.98) * 60, 1e-9);
    assert.equal(steeringReversalRate(sine(1), fs).reversals, 0);
    // The small-reversal setting (0.1°, 2 Hz) sees them.
    assert.equal(steeringReversalRate(sine(1), fs, { gapDeg: 0.1, cutoffHz: 2 }).reversals, 24);
  });
});

describe('steering: entropy (Nakayama et al. 1999)', () => {
  test('prediction errors: θ̂(n) = 2.5 θ(n−1) − 2 θ(n−2) + 0.5 θ(n−3)', () => {
    // θ = n²: e(3) = 9 − (2.5·4 − 2·1 + 0.5·0) = 9 − 8 = 1; e(4) = 16 − (22.5 − 8 + 0.5) = 1.
    assert.deepEqual([...steeringPredictionErrors([0, 1, 4, 9, 16])], [1, 1]);
    // A straight line is predicted exactly.
    assert.deepEqual([...steeringPredictionErrors([2, 4, 6, 8, 10])], [0, 0]);
    assert.equal(steeringPredictionErrors([1, 2, 3]).length, 0);
  });

  test('bins and H, hand-computed', () => {
    // α = 1, edges −5 −2.5 −1 −0.5 0.5 1 2.5 5; a value on an edge falls in the lower bin (0.5 → centre bin).
    const e = [-6, -3, -1.5, -0.7, 0, 0.5, 0.7, 1.5, 3, 6];
    assert.deepEqual(entropyHistogram(e, 1), [1, 1, 1, 1, 2, 1, 1, 1, 1]);
    // H = −(8 · 0.1 ln 0.1 + 0.2 ln 0.2) / ln 9.
    close(steeringEntropy(e, 1), -(8 * 0.1 * Math.log(0.1) + 0.2 * Math.log(0.2)) / Math.log(9), 1e-15);
    assert.equal(steeringEntropy([0, 0.1, -0.2], 1), 0); // one bin
    close(steeringEntropy([-9, -3, -2, -0.7, 0, 0.7, 2, 3, 9], 1), 1, 1e-15); // one per bin: H = 1
    assert.ok(Number.isNaN(steeringEntropy([], 1)) && Number.isNaN(steeringEntropy([1], 0)));
    // α from a baseline: the 90th percentile of |e|.
    assert.equal(steeringEntropyAlpha([-1, 2, -3, 4, -5, 6, -7, 8, -9, 10]), 9.1);
  });
});

describe('series clean-up', () => {
  test('NaN, duplicate, out-of-order and gaps are counted; gaps split segments', () => {
    // Times in µs. Arrival order: 0, 100k, NaN at 150k, 100k again (duplicate), 50k (late), 200k, then a
    // 1 s silence, 1.2 M, 1.3 M.
    const t = [0, 100_000, 150_000, 100_000, 50_000, 200_000, 1_200_000, 1_300_000];
    const v = [1, 2, NaN, 9, 1.5, 3, 4, 5];
    const s = cleanSeries(t, v, 500_000);
    assert.deepEqual(s.quality, {
      received: 8,
      samples: 6,
      nonFinite: 1,
      duplicates: 1,
      // Only 50k arrived after a later time (100k); the second 100k equals the latest, so it is a duplicate,
      // not out of order; the NaN is dropped before it could count.
      outOfOrder: 1,
      gaps: 1,
      coveredS: 0.2 + 0.1,
    });
    assert.deepEqual(
      s.segments.map((g) => [[...g.tUs], [...g.values]]),
      [
        [
          [0, 50_000, 100_000, 200_000],
          [1, 1.5, 2, 3],
        ],
        [
          [1_200_000, 1_300_000],
          [4, 5],
        ],
      ],
    );
    // The first of equal times is kept (value 2, not the duplicate's 9).
  });

  test('resampling onto a grid and sample statistics', () => {
    const seg = { tUs: Float64Array.from([0, 100, 300]), values: Float64Array.from([0, 10, 30]) };
    assert.deepEqual([...resampleSegment(seg, 50)], [0, 5, 10, 15, 20, 25, 30]);
    assert.deepEqual([...resampleSegment({ tUs: Float64Array.of(5), values: Float64Array.of(2) }, 50)], [2]);
    const st = stats([2, 4, 4, 4, 5, 5, 7, 9])!;
    // mean 5; Σ(x − 5)² = 32; sd = √(32 / 7).
    assert.deepEqual(st, { n: 8, mean: 5, sd: Math.sqrt(32 / 7), min: 2, max: 9 });
    assert.equal(stats([])!, null);
    assert.equal(stats([3])!.sd, null);
  });
});

function samples(
  role: DrivingRole,
  hz: number,
  seconds: number,
  f: (tS: number) => number,
  t0Us = 1_000_000_000,
): DrivingSample[] {
  return Array.from({ length: Math.round(hz * seconds) }, (_, i) => ({
    role,
    tUs: t0Us + (i * 1e6) / hz,
    value: f(i / hz),
  }));
}

describe('driving features accumulator', () => {
  test('a synthetic drive: speed ramp (a = 2 m/s², no jerk), sinusoidal steering, one brake press, throttle', () => {
    const acc = new DrivingFeatureAccumulator({ entropyAlphaDeg: 0.05 });
    const all = [
      ...samples('speed', 100, 10, (t) => 10 + 2 * t),
      ...samples('steering_angle', 100, 10, (t) => 10 * Math.sin(2 * Math.PI * 0.2 * t)),
      // Brake at 40 Hz: pressed from 4 s to 6 s.
      ...samples('brake', 40, 10, (t) => (t >= 4 && t < 6 ? 1 : 0)),
      ...samples('throttle', 30, 10, (t) => (t < 4 ? 25 : 0)),
      ...samples('gear', 1, 10, () => 0),
    ];
    for (const s of all) acc.add(s);
    const f = acc.features();
    assert.equal(f.status, 'ok', f.notes.join('; '));
    // Speed 10 → 29.98 m/s, mean of 10 + 2·(i/100) over i < 1000 = 10 + 2·4.995 = 19.99.
    close(f.speed!.mean, 19.99, 1e-9);
    assert.deepEqual([f.speed!.min, f.speed!.n], [10, 1000]);
    close(f.speed!.max, 29.98, 1e-9);
    // Exact derivative of a line: a = 2 everywhere, jerk 0.
    close(f.acceleration!.mean, 2, 1e-9);
    close(f.acceleration!.sd!, 0, 1e-9);
    close(f.jerk!.rms, 0, 1e-6);
    // Steering: 2 periods of ±10°: derived rate peaks at 10 · 2π · 0.2 = 12.57 deg/s (slightly less: the
    // 0.2 s SG window averages the peak).
    assert.equal(f.steeringRate!.source, 'derived');
    close(f.steeringRate!.max, 4 * Math.PI, 0.1);
    // 2 peaks and 2 troughs in 10 s → 4 reversals (start → peak, peak → trough, …) over 9.98 s.
    assert.equal(f.reversals!.count, 4);
    close(f.reversals!.ratePerMin, (4 / 9.98) * 60, 1e-9);
    assert.ok(
      f.entropy !== null &&
        f.entropy.alphaSource === 'baseline' &&
        f.entropy.value > 0 &&
        f.entropy.value <= 1,
    );
    // Brake: on from sample 160 (4.0 s) to 239; sample-and-hold over 399 intervals of 25 ms: 80 active → 80/399.
    assert.deepEqual([f.brake!.presses, f.brake!.startsActive], [1, false]);
    close(f.brake!.activeFraction, 80 / 399, 1e-12);
    // Throttle: 120 of 300 samples at 25 % → active 120 intervals of 299; window starts active: no press.
    assert.deepEqual([f.throttle!.presses, f.throttle!.startsActive], [0, true]);
    close(f.throttle!.activeFraction, 120 / 299, 1e-12);
    close(f.throttle!.mean, 10, 1e-12);
    assert.deepEqual(f.gear, { last: 0, changes: 0 });
  });

  test('steering rate from the signal when the profile has one', () => {
    const acc = new DrivingFeatureAccumulator();
    for (const s of samples('steering_rate', 50, 2, (t) => (t < 1 ? -5 : 5))) acc.add(s);
    const f = acc.features();
    assert.deepEqual([f.steeringRate!.source, f.steeringRate!.min, f.steeringRate!.max], ['signal', -5, 5]);
    close(f.steeringRate!.mean, 0, 1e-15);
  });

  test('empty window: status empty, every feature null, notes say why', () => {
    const f = new DrivingFeatureAccumulator().features(0, 5_000_000);
    assert.equal(f.status, 'empty');
    assert.deepEqual(
      [
        f.speed,
        f.steeringAngle,
        f.steeringRate,
        f.reversals,
        f.entropy,
        f.brake,
        f.throttle,
        f.acceleration,
        f.jerk,
        f.gear,
      ],
      [null, null, null, null, null, null, null, null, null, null],
    );
    assert.ok(
      f.notes.includes('speed: no speed samples') &&
        f.notes.includes('steering entropy: no steering_angle samples'),
    );
    assert.deepEqual([f.startUs, f.endUs], [0, 5_000_000]);
  });

  test('NaN, duplicates, out-of-order and gaps: counted, and no derivative or press across a gap', () => {
    const acc = new DrivingFeatureAccumulator();
    const base = 2_000_000_000;
    // Speed at 10 Hz for 1 s, a 2 s hole, then 1 s more but 10 m/s faster: a jump across the gap.
    for (let i = 0; i < 10; i++) acc.add({ role: 'speed', tUs: base + i * 100_000, value: 10 });
    for (let i = 0; i < 10; i++) acc.add({ role: 'speed', tUs: base + 3_000_000 + i * 100_000, value: 20 });
    acc.add({ role: 'speed', tUs: base + 100_000, value: 10 }); // duplicate time
    acc.add({ role: 'speed', tUs: base + 50_000, value: 10 }); // late
    acc.add({ role: 'speed', tUs: base + 60_000, value: NaN });
    acc.add({ role: 'speed', tUs: Infinity, value: 1 });
    // Brake: off, gap, on — no press counted across the gap; then off→on inside a segment: one press.
    for (const [dt, v] of [
      [0, 0],
      [100_000, 0],
      [3_000_000, 1],
      [3_100_000, 0],
      [3_200_000, 1],
    ] as const)
      acc.add({ role: 'brake', tUs: base + dt, value: v });
    acc.add({ role: 'unknown' as DrivingRole, tUs: base, value: 1 });
    const f = acc.features();
    const { coveredS, ...counts } = f.quality.speed;
    assert.deepEqual(counts, {
      received: 24,
      samples: 21,
      nonFinite: 2,
      duplicates: 1,
      outOfOrder: 2,
      gaps: 1,
    });
    close(coveredS, 0.9 + 0.9, 1e-12);
    assert.equal(acc.unknownRole, 1);
    // Each segment is constant: acceleration exactly 0 — the 10 → 20 m/s jump is never differentiated.
    // (With 0.5 s SG half windows at 50 Hz, each 0.9 s segment gives 46 grid points − 50 → no jerk.)
    assert.ok(f.acceleration === null || (f.acceleration.max === 0 && f.acceleration.min === 0));
    assert.equal(f.brake!.presses, 1);
    close(f.brake!.activeFraction, 0.1 / 0.3, 1e-12);
    assert.equal(f.status, 'partial');
  });

  test('as an eventTimeWindows aggregator: 5 s tumbling windows, features per window', async () => {
    const t0 = 1_700_000_000_000_000; // a multiple of 5 s
    const input = [
      ...samples('speed', 50, 10, (t) => (t < 5 ? 10 : 10 + (t - 5)), t0),
      ...samples('steering_angle', 50, 10, () => 1, t0),
    ].sort((a, b) => a.tUs - b.tUs);
    const windows = await lastValueFrom(
      from(input).pipe(
        eventTimeWindows({
          sizeMs: 5000,
          timeOf: (s: DrivingSample) => s.tUs,
          aggregator: drivingFeaturesAggregator(),
        }),
        toArray(),
      ),
    );
    assert.deepEqual(
      windows.map((w) => [w.startUs - t0, w.count]),
      [
        [0, 500],
        [5_000_000, 500],
      ],
    );
    const [a, b] = windows.map((w) => w.summary.features(w.startUs, w.endUs));
    close(a!.acceleration!.mean, 0, 1e-9);
    close(b!.acceleration!.mean, 1, 1e-9); // speed rises 1 m/s per s in the second window
    close(b!.speed!.mean, 10 + 0.5 * 4.98, 1e-9);
    assert.equal(a!.steeringAngle!.sd, 0);
  });
});

describe('driving features on the real RAV4 log', { skip: SHARED_SKIP }, () => {
  test('10 s windows agree with the drive (preview CSV: 29 → 73 km/h under throttle, then coasting)', async (t) => {
    const db = parseDbc(readFileSync(shared('can/dbc/toyota_new_mc_pt_generated.dbc'), 'utf8'));
    const profile = parseVehicleProfileText(
      readFileSync(`${REPO_ROOT}/devices/profiles/toyota-rav4-2018.json`, 'utf8'),
    );
    const roles: DrivingRole[] = ['speed', 'steering_angle', 'steering_rate', 'brake', 'throttle', 'gear'];
    const ex = new SignalExtractor(db, roles, { profile });
    const log = await readCandumpFile(shared('can/rav4_2018-08-02--08-34-47_seg40.candump.log'));
    const row = new Float64Array(roles.length);
    const t0 = Math.floor(log.frames[0]!.tUs / 10_000_000) * 10_000_000;
    const windows = new Map<number, DrivingFeatureAccumulator>();
    for (const fr of log.frames) {
      if (!ex.decode(fr, row)) continue;
      const k = Math.floor((fr.tUs - t0) / 10_000_000);
      let acc = windows.get(k);
      if (acc === undefined) windows.set(k, (acc = new DrivingFeatureAccumulator()));
      row.forEach((v, i) => {
        if (!Number.isNaN(v)) acc.add({ role: roles[i]!, tUs: fr.tUs, value: v });
      });
    }
    const feats = [...windows.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([k, acc]) => acc.features(t0 + k * 1e7, t0 + (k + 1) * 1e7));
    for (const f of feats)
      t.diagnostic(
        `speed ${(f.speed!.mean * 3.6).toFixed(1)} km/h, accel ${f.acceleration?.mean.toFixed(2)} m/s², jerk rms ${f.jerk?.rms.toFixed(2)}, ` +
          `SWRR ${f.reversals?.ratePerMin.toFixed(1)}/min, entropy ${f.entropy?.value.toFixed(2)}, ` +
          `throttle ${f.throttle?.activeFraction.toFixed(2)}, brake ${f.brake?.activeFraction.toFixed(2)}, dup ${f.quality.steering_angle.duplicates}`,
      );
    // The first full window (…490 to …500 s) holds the throttle-on acceleration: the preview has 42.46 km/h
    // at 490.6 s and 72.58 km/h at 499.1 s, i.e. (72.58 − 42.46) / 3.6 / 8.5 ≈ 0.98 m/s² on average, with
    // the throttle released at ≈ 497 s (≈ 70 % of the window).
    const accelWin = feats[1]!;
    assert.ok(accelWin.throttle!.activeFraction > 0.6 && accelWin.throttle!.activeFraction < 0.8);
    assert.ok(
      accelWin.acceleration!.mean > 0.8 && accelWin.acceleration!.mean < 1.2,
      `${accelWin.acceleration!.mean}`,
    );
    // Afterwards the driver is off both pedals (preview: gas 0, brake 0 from 497 s on).
    for (const f of feats.slice(2)) {
      assert.equal(f.throttle!.activeFraction, 0);
      assert.equal(f.brake!.activeFraction, 0);
      assert.ok(f.speed!.mean > 13 && f.speed!.mean < 21, `highway speed ${f.speed!.mean}`);
    }
    // Steering around the straight-ahead position on a highway, entropy in (0, 1]. The first window holds only
    // 1.8 s of data: too few prediction errors for an entropy, said in its notes.
    for (const f of feats.slice(1))
      assert.ok(Math.abs(f.steeringAngle!.mean) < 5 && f.entropy!.value > 0 && f.entropy!.value <= 1);
    assert.equal(feats[0]!.entropy, null);
    assert.ok(feats[0]!.notes.includes('steering entropy: too little steering_angle data'));
    assert.equal(feats.length, 7);
    assert.equal(feats[0]!.gear!.last, 0); // 'D' in the DBC's value table
  });
});
