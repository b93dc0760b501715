import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SequenceTracker } from '../../src/streams/sequence-tracker.ts';

it('classifies in-order, gaps, duplicates, out-of-order and publisher restarts', () => {
  const t = new SequenceTracker();
  const seen = (session: number, seq: number) => t.observe('v/ecg', session, seq);
  assert.deepEqual(seen(1, 10), { status: 'new-session' });
  assert.deepEqual(seen(1, 11), { status: 'in-order' });
  assert.deepEqual(seen(1, 15), { status: 'gap', missing: 3 });
  assert.deepEqual(seen(1, 13), { status: 'out-of-order' });
  assert.deepEqual(seen(1, 13), { status: 'duplicate' });
  assert.deepEqual(seen(1, 15), { status: 'duplicate' });
  assert.deepEqual(seen(1, 16), { status: 'in-order' });
  // A restarted publisher starts at 0 with a new session id: not reordering.
  assert.deepEqual(seen(2, 0), { status: 'new-session' });
  assert.deepEqual(seen(2, 1), { status: 'in-order' });
});

it('handles u32 wrap-around and huge jumps', () => {
  const t = new SequenceTracker();
  t.observe('k', 1, 0xfffffffe);
  assert.deepEqual(t.observe('k', 1, 0xffffffff), { status: 'in-order' });
  assert.deepEqual(t.observe('k', 1, 0), { status: 'in-order' });
  assert.deepEqual(t.observe('k', 1, 2), { status: 'gap', missing: 1 });
  assert.deepEqual(t.observe('k', 1, 5_000_000), { status: 'new-session' });
  // Far behind the history window: cannot tell duplicate from late, so counted as out-of-order.
  assert.deepEqual(t.observe('k', 1, 5_000_000 - 5000), { status: 'out-of-order' });
});

it('slots reused after a gap do not report stale duplicates', () => {
  const t = new SequenceTracker();
  t.observe('k', 1, 0);
  assert.deepEqual(t.observe('k', 1, 1024), { status: 'gap', missing: 1023 });
  assert.deepEqual(t.observe('k', 1, 1025), { status: 'in-order' });
  assert.deepEqual(t.observe('k', 1, 1), { status: 'out-of-order' });
});

it('bounds memory by forgetting the least recently used keys', () => {
  const t = new SequenceTracker(3);
  for (let i = 0; i < 10; i++) t.observe(`k${i}`, 1, 0);
  assert.equal(t.size, 3);
  assert.deepEqual(t.observe('k9', 1, 1), { status: 'in-order' });
  assert.deepEqual(t.observe('k0', 1, 1), { status: 'new-session' });
});
