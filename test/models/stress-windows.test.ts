import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StressRecord } from '../../src/models/stress/records.ts';
import {
  FEATURE_NAMES,
  hysteresisCrossings,
  recordWindows,
  scrPeaks,
  windowLabel,
} from '../../src/models/stress/windows.ts';

/** Synthetic 30-min drive: rest 0–600 s (low), 600–1200 (high), 1200–1800 (medium). */
function synthetic(hrAt: (t: number) => number, gsrAt: (t: number) => number): StressRecord {
  const dur = 1800;
  const rate = 8;
  const n = dur * rate;
  const tS = new Float64Array(dur);
  const bpm = new Float64Array(dur);
  for (let i = 0; i < dur; i++) {
    tS[i] = i + 0.5;
    bpm[i] = hrAt(i) + Math.sin(i / 7); // some variability: a flat HR has sd 0 (log ratio undefined)
  }
  const gsr = new Float32Array(n);
  const resp = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    gsr[i] = gsrAt(t) + 0.01 * Math.sin(t / 3);
    resp[i] = Math.sin(2 * Math.PI * (15 / 60) * t); // 15 breaths/min
  }
  return {
    name: 'syn',
    format: 'wfdb',
    baseTime: undefined,
    baseDate: undefined,
    durationS: dur,
    hr: { tS, bpm, source: 'device' },
    footGsr: { rateHz: rate, samples: gsr },
    handGsr: { rateHz: rate, samples: gsr },
    resp: { rateHz: rate, samples: resp },
    marker: undefined,
    segments: [
      { name: 'rest', level: 'low', startS: 0, endS: 600 },
      { name: 'city', level: 'high', startS: 600, endS: 1200 },
      { name: 'highway', level: 'medium', startS: 1200, endS: 1800 },
    ],
    hrNote: 'test',
  };
}

const hrI = FEATURE_NAMES.indexOf('hr_mean');
const rrI = FEATURE_NAMES.indexOf('resp_rate');

it('labels need ≥ 80 % cover; windows touching calibration are not scored; counts add up', () => {
  const w = recordWindows(
    synthetic(
      () => 70,
      () => 5,
    ),
  );
  const c = w.counts;
  assert.equal(c.total, (1800 - 60) / 10 + 1);
  assert.equal(c.total, c.kept + c.calibration + c.unlabelled + c.missingSignal);
  // Calibration 0–300 s: windows starting before 300 s overlap it.
  assert.equal(c.calibration, 30);
  assert.equal(c.missingSignal, 0);
  for (const x of w.windows) {
    assert.ok(x.startS >= 300);
    if (x.startS >= 600 && x.endS <= 1200) assert.equal(x.level, 'high');
    if (x.startS >= 1200) assert.equal(x.level, 'medium');
  }
  // A window 590–650 is 5/6 high; 560–620 is 2/3 low: dropped.
  assert.equal(w.windows.find((x) => x.startS === 590)?.level, 'high');
  assert.equal(
    w.windows.find((x) => x.startS === 560),
    undefined,
  );
  assert.equal(
    windowLabel(
      synthetic(
        () => 70,
        () => 5,
      ).segments,
      560,
      620,
      0.8,
    ),
    undefined,
  );
});

it('normalisation uses only the calibration period: changing data after it leaves the baseline unchanged', () => {
  const a = recordWindows(
    synthetic(
      () => 70,
      () => 5,
    ),
  );
  const b = recordWindows(
    synthetic(
      (t) => (t < 300 ? 70 : 120),
      (t) => (t < 300 ? 5 : 9),
    ),
  );
  assert.deepEqual(Array.from(a.baseline.features), Array.from(b.baseline.features));
  const late = b.windows.find((x) => x.startS === 1000)!;
  assert.ok(Math.abs(late.features[hrI]! - 50) < 0.5, 'HR mean relative to the 70 bpm calibration');
  assert.ok(Math.abs(late.features[FEATURE_NAMES.indexOf('foot_gsr_mean')]! - (9 / 5 - 1)) < 0.01);
  // Same respiration everywhere: rate change 0 (within one crossing per minute).
  assert.ok(Math.abs(late.features[rrI]!) <= 1);
});

it('a drive whose first segment is not low is refused (no calibration rest)', () => {
  const r = synthetic(
    () => 70,
    () => 5,
  );
  assert.throws(() => recordWindows({ ...r, segments: r.segments.slice(1) }), /initial rest/);
});

it('SCR counting: quick rises count, slow drift and sub-threshold wiggles do not', () => {
  const rate = 4;
  const x: number[] = [];
  for (let i = 0; i < 60 * rate; i++) {
    const t = i / rate;
    // Three 2-s rises of 0.5 at t = 10, 30, 50 s, each decaying; small 0.02 wiggle.
    let v = 0.02 * Math.sin(t * 5);
    for (const t0 of [10, 30, 50])
      if (t >= t0) v += t < t0 + 2 ? 0.25 * (t - t0) : 0.5 * Math.exp(-(t - t0 - 2) / 3);
    x.push(v);
  }
  assert.equal(scrPeaks(x, rate, 0.1).length, 3);
  const drift = Array.from({ length: 240 }, (_, i) => i * 0.01); // 2.4 rise over 60 s
  assert.equal(scrPeaks(drift, rate, 0.1).length, 0);
  assert.equal(hysteresisCrossings([-1, 1, -1, 1, 0.1, -0.1, 0.1], 0.5), 2);
});
