import assert from 'node:assert/strict';
import { it } from 'node:test';
import { classTable, segmentClass } from '../../scripts/speech-segments.ts';

it('segmentClass: pause below 0.2, speech from 0.8, mixed between', () => {
  assert.deepEqual([0, 0.19, 0.2, 0.79, 0.8, 1].map(segmentClass), [
    'pause',
    'pause',
    'mixed',
    'mixed',
    'speech',
    'speech',
  ]);
});

it('classTable: pooled means per class, and shares that add up to the difference of the pooled means', () => {
  const items = [
    {
      activeFraction: Float64Array.from([0, 0.5, 1]),
      correlation: { a: Float64Array.from([0.2, 0.9, 1]), b: Float64Array.from([0.4, 0.9, 0.98]) },
    },
    {
      activeFraction: Float64Array.from([0.1, 0.9]),
      correlation: { a: Float64Array.from([0.3, 0.95]), b: Float64Array.from([0.5, 0.97]) },
    },
  ];
  const t = classTable(items, ['a', 'b']);
  assert.equal(t.pause.segments, 2);
  assert.ok(Math.abs(t.pause.mean['a']! - 0.25) < 1e-12 && Math.abs(t.pause.mean['b']! - 0.45) < 1e-12);
  assert.equal(t.mixed.segments, 1);
  assert.equal(t.speech.segments, 2);
  const mean = (k: 'a' | 'b') =>
    items.flatMap((i) => Array.from(i.correlation[k])).reduce((s, v) => s + v, 0) / 5;
  const shares = t.pause.shareOfDifference + t.mixed.shareOfDifference + t.speech.shareOfDifference;
  assert.ok(Math.abs(shares - (mean('a') - mean('b'))) < 1e-12);
  assert.ok(Math.abs(t.pause.shareOfDifference - -0.4 / 5) < 1e-12);
});
