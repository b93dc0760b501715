import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StressRecord } from '../../src/models/stress/records.ts';
import { reorderSegments, segmentOrder } from '../../src/models/stress/reorder.ts';

/** Every sample's value is the index of the segment it lies in (+ 1; 0 = outside any segment). */
function tagged(): StressRecord {
  const bounds = [5, 105, 305, 405, 605, 700];
  const levels = ['low', 'high', 'medium', 'high', 'low'] as const;
  const dur = 710;
  const tagAt = (t: number) => {
    for (let k = 0; k + 1 < bounds.length; k++) if (t >= bounds[k]! && t < bounds[k + 1]!) return k + 1;
    return 0;
  };
  const ch = (rate: number) => {
    const s = new Float32Array(Math.round(dur * rate));
    for (let i = 0; i < s.length; i++) s[i] = tagAt(i / rate);
    return { rateHz: rate, samples: s };
  };
  const tS = Float64Array.from({ length: dur * 2 }, (_, i) => i / 2 + 0.1);
  return {
    name: 'tag',
    format: 'wfdb',
    baseTime: undefined,
    baseDate: undefined,
    durationS: dur,
    hr: { tS, bpm: tS.map(tagAt), source: 'device' },
    footGsr: ch(31),
    handGsr: ch(31),
    resp: ch(4),
    marker: ch(15.5),
    segments: levels.map((level, k) => ({ name: `s${k}`, level, startS: bounds[k]!, endS: bounds[k + 1]! })),
    hrNote: 'test',
  };
}

it('the order is deterministic by seed, keeps the rest first and is never the identity', () => {
  assert.deepEqual(segmentOrder(7, 3), segmentOrder(7, 3));
  for (let seed = 0; seed < 50; seed++) {
    const o = segmentOrder(7, seed);
    assert.equal(o[0], 0);
    assert.deepEqual([...o].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.notDeepEqual(o, [0, 1, 2, 3, 4, 5, 6]);
  }
});

it('labels stay attached to their samples in every channel; the marker is flattened', () => {
  const r = tagged();
  for (const seed of [1, 2, 3]) {
    const { record: o, order } = reorderSegments(r, seed);
    assert.equal(o.segments.length, 5);
    assert.equal(o.segments[0]!.startS, 5);
    o.segments.forEach((s, k) => {
      const orig = r.segments[order[k]!]!;
      assert.equal(s.level, orig.level);
      assert.ok(Math.abs(s.endS - s.startS - (orig.endS - orig.startS)) < 1e-9);
      const tag = order[k]! + 1;
      for (const ch of [o.footGsr!, o.resp!]) {
        // Every sample strictly inside the new segment (1 sample margin) carries the original segment's tag.
        const i0 = Math.ceil(s.startS * ch.rateHz) + 1;
        const i1 = Math.floor(s.endS * ch.rateHz) - 1;
        for (let i = i0; i < i1; i++) assert.equal(ch.samples[i], tag, `seed ${seed} seg ${k} i ${i}`);
      }
      for (let i = 0; i < o.hr.tS.length; i++) {
        const t = o.hr.tS[i]!;
        if (t >= s.startS && t < s.endS) assert.equal(o.hr.bpm[i], tag);
      }
    });
    assert.equal(o.hr.tS.length, r.hr.tS.length);
    assert.ok(o.hr.tS.every((t, i) => i === 0 || t > o.hr.tS[i - 1]!));
    assert.equal(o.footGsr!.samples.length, r.footGsr!.samples.length);
    assert.ok(o.marker!.samples.every((v) => v === o.marker!.samples[0]));
  }
});

it('refuses non-contiguous segments', () => {
  const r = tagged();
  const segs = [r.segments[0]!, { ...r.segments[1]!, startS: 110 }];
  assert.throws(() => reorderSegments({ ...r, segments: segs }, 1), /contiguous/);
});
