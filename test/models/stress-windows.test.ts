import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hysteresisCrossings, scrPeaks, windowLabel } from '../../src/models/stress/windows.ts';

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

it('a window takes the label of the segment covering ≥ 80 % of it, else none', () => {
  const segs = [
    { name: 'rest', level: 'low' as const, startS: 0, endS: 100 },
    { name: 'city', level: 'high' as const, startS: 100, endS: 200 },
  ];
  assert.deepEqual(windowLabel(segs, 30, 90, 0.8), { level: 'low', index: 0 });
  assert.deepEqual(windowLabel(segs, 52, 112, 0.8), { level: 'low', index: 0 }, '48 of 60 s = 80 %');
  assert.equal(windowLabel(segs, 60, 120, 0.8), undefined, 'two thirds / one third');
  assert.deepEqual(windowLabel(segs, 110, 170, 0.8), { level: 'high', index: 1 });
  assert.equal(windowLabel(segs, 190, 250, 0.8), undefined, 'past the labels');
});

it('respiration crossings need the hysteresis band on both sides', () => {
  const sine = Array.from({ length: 400 }, (_, i) => Math.sin((2 * Math.PI * i) / 40));
  assert.equal(
    hysteresisCrossings(sine, 0.5),
    9,
    'ten cycles; the first rise starts above −h, so it does not count',
  );
  const wiggle = sine.map((v) => 0.2 * v);
  assert.equal(hysteresisCrossings(wiggle, 0.5), 0);
});
