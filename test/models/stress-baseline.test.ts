import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  argmax,
  leaveOneDriveOut,
  predictProba,
  scoreConfusion,
  trainLogReg,
} from '../../src/models/stress/baseline.ts';
import type { BaselineRow } from '../../src/models/stress/baseline.ts';
import { prng as mulberry32 } from '../support/fixtures.ts';

it('scores a confusion matrix: accuracy, per-class and macro F1', () => {
  const s = scoreConfusion([
    [2, 0, 0],
    [0, 1, 1],
    [0, 0, 0],
  ]);
  assert.equal(s.accuracy, 3 / 4);
  assert.equal(s.f1.low, 1);
  assert.equal(s.f1.medium, 2 / 3);
  assert.equal(s.f1.high, 0);
  assert.equal(s.macroF1, (1 + 2 / 3 + 0) / 3);
});

it('learns three separable Gaussian classes and its probabilities sum to 1', () => {
  const rnd = mulberry32(7);
  const x: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    x.push(Float64Array.of(c * 3 + rnd() - 0.5, 100 + rnd()));
    y.push(c);
  }
  const m = trainLogReg(x, y, 3, { iterations: 500 });
  const correct = x.filter((r, i) => argmax(predictProba(m, r)) === y[i]).length;
  assert.ok(correct / x.length > 0.97, `${correct}`);
  const p = predictProba(m, Float64Array.of(1, 100));
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

it('leave-one-drive-out never trains on the test drive (a drive-specific label flip is not learned)', () => {
  const rnd = mulberry32(1);
  const drive = (name: string, flip: boolean): { record: string; rows: BaselineRow[] } => ({
    record: name,
    rows: Array.from({ length: 60 }, (_, i) => {
      const c = i % 3;
      return { label: flip ? 2 - c : c, features: Float64Array.of(c + 0.1 * rnd()) };
    }),
  });
  const cv = leaveOneDriveOut([drive('a', false), drive('b', false), drive('d', false), drive('c', true)], {
    iterations: 300,
  });
  const byName = Object.fromEntries(cv.perDrive.map((d) => [d.record, d.scores]));
  assert.equal(byName['a']?.accuracy, 1);
  // The flipped drive is predicted with the others' mapping: only the middle class is right.
  assert.ok(Math.abs(byName['c']!.accuracy - 1 / 3) < 1e-9);
  assert.equal(cv.pooled.n, 240);
});
