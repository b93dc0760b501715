import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { median, nearestRank } from '../../bench/stats.ts';

describe('bench order statistics', () => {
  test('median: the middle value, or the mean of the two middle ones; the input is not reordered', () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  test('nearest rank: index ⌊p/100 · n⌋ of the sorted list, clamped; null when empty', () => {
    const s = [10, 20, 30, 40];
    assert.equal(nearestRank(s, 0), 10);
    assert.equal(nearestRank(s, 50), 30);
    assert.equal(nearestRank(s, 99), 40);
    assert.equal(nearestRank(s, 100), 40);
    assert.equal(nearestRank([], 50), null);
  });
});
