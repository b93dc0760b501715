/**
 * Where a chunk falls on its segment's timeline (src/streams/features/audio/timeline.ts): the rule the audio
 * conditioner and the speech enhancer share. Both keep their own tests of the consequences (zeros filled,
 * segments restarted, chunks dropped or trimmed, all counted); these hold the rule itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { placeChunk } from '../../src/streams/features/audio/timeline.ts';

const LIMITS = { toleranceUs: 1000, maxGapMs: 1000 };
const FS = 16_000;

describe('placeChunk', () => {
  it('contiguous within the tolerance, either side', () => {
    for (const t of [0, 999, -999, 1000, -1000])
      assert.deepEqual(placeChunk(0, t, 320, FS, LIMITS), { kind: 'contiguous' }, `${t} µs`);
  });

  it('a gap of up to maxGapMs is that many samples to fill; beyond it a jump', () => {
    assert.deepEqual(placeChunk(0, 20_000, 320, FS, LIMITS), { kind: 'gap', fillSamples: 320 });
    assert.deepEqual(placeChunk(0, 1_000_000, 320, FS, LIMITS), { kind: 'gap', fillSamples: 16_000 });
    assert.deepEqual(placeChunk(0, 1_000_001, 320, FS, LIMITS), { kind: 'jump' });
    assert.deepEqual(placeChunk(5_000_000, 1_001, 320, FS, { toleranceUs: 1000, maxGapMs: 0 }), {
      kind: 'duplicate',
    });
  });

  it('earlier: a duplicate when it ends within the tolerance of the expected time, else an overlap', () => {
    // 320 samples are 20 ms: a chunk from −20 ms ends exactly where the segment expects the next one.
    assert.deepEqual(placeChunk(0, -20_000, 320, FS, LIMITS), { kind: 'duplicate' });
    assert.deepEqual(placeChunk(0, -19_000, 320, FS, LIMITS), { kind: 'duplicate' }, 'within the tolerance');
    assert.deepEqual(placeChunk(0, -10_000, 320, FS, LIMITS), { kind: 'overlap', skipSamples: 160 });
    assert.deepEqual(placeChunk(0, -5_000_000, 320, FS, LIMITS), { kind: 'duplicate' }, 'however old');
  });

  it('an overlap keeps at least its last sample (it reaches past the expected time)', () => {
    // No tolerance: 10 samples from 9.6 samples back, rounding would skip all 10.
    const tUs = (-9.6 * 1e6) / FS;
    assert.deepEqual(placeChunk(0, tUs, 10, FS, { toleranceUs: 0, maxGapMs: 1000 }), {
      kind: 'overlap',
      skipSamples: 9,
    });
  });

  it('for any chunk: the kinds partition the time axis as stated, and an overlap skips fewer than all', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -3e6, max: 3e6, noNaN: true }),
        fc.integer({ min: 1, max: 4000 }),
        fc.constantFrom(8000, 16_000, 44_100),
        fc.integer({ min: 0, max: 5000 }),
        (offsetUs, frames, rate, toleranceUs) => {
          const tUs = 1e9 + offsetUs;
          const deltaUs = tUs - 1e9; // as represented
          const p = placeChunk(1e9, tUs, frames, rate, { toleranceUs, maxGapMs: 1000 });
          const endDeltaUs = deltaUs + (frames * 1e6) / rate;
          const want =
            deltaUs > toleranceUs
              ? deltaUs <= 1e6
                ? 'gap'
                : 'jump'
              : deltaUs < -toleranceUs
                ? endDeltaUs <= toleranceUs + 1e-6
                  ? 'duplicate'
                  : 'overlap'
                : 'contiguous';
          // Floating-point ties at the duplicate boundary are left to the rule.
          if (Math.abs(endDeltaUs - toleranceUs) > 1e-3) assert.equal(p.kind, want);
          if (p.kind === 'overlap')
            assert.ok(p.skipSamples >= 0 && p.skipSamples < frames, `${p.skipSamples}`);
          if (p.kind === 'gap') assert.equal(p.fillSamples, Math.round((deltaUs * rate) / 1e6));
        },
      ),
      { numRuns: 2000, seed: 3 },
    );
  });
});
