/**
 * Reorders a record's labelled segments to test that a model does not learn the protocol order.
 *
 * The record is cut into pieces: [0, first segment start) (unlabelled lead-in), each labelled segment, and
 * [last segment end, durationS) (unlabelled tail). The first labelled segment (the initial rest) stays first;
 * the others are permuted by a Fisher–Yates shuffle seeded per record (`recordSeed`), never the identity when more than one
 * order exists. Lead-in and tail stay at their ends. Samples and labels move together: each uniform channel's
 * samples [round(a·rate), round(b·rate)) and the HR points with a ≤ t < b move with their segment, shifted to
 * its new start. A piece's length in samples is kept, so channel boundaries may differ from the label
 * boundaries by < 1 sample per piece. The marker channel is flattened (every sample set to its first finite
 * value): it would otherwise carry the original order.
 */
import { SeededRandom } from '../common/rng.ts';
import type { HrSeries, LabelledSegment, StressRecord, UniformSeries } from './records.ts';

/**
 * The shuffle seed of one record: the run's seed combined with a hash (FNV-1a) of the record's name, so
 * drives with the same number of segments get different orders (one shared order would test nothing).
 */
export function recordSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return (h ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/** Order of segment indices: 0 first, the rest shuffled by `seed` (not the identity when n > 2). */
export function segmentOrder(n: number, seed: number): number[] {
  const rest = Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1);
  const rng = new SeededRandom(seed);
  const rnd = () => rng.next();
  for (let attempt = 0; attempt < 100; attempt++) {
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [rest[i], rest[j]] = [rest[j]!, rest[i]!];
    }
    if (rest.length < 2 || rest.some((v, i) => v !== i + 1)) break;
  }
  return n > 0 ? [0, ...rest] : [];
}

interface Piece {
  readonly a: number;
  readonly b: number;
  readonly newA: number;
}

function moveUniform(s: UniformSeries, pieces: readonly Piece[]): UniformSeries {
  const parts: Float32Array[] = [];
  for (const p of pieces) {
    const i0 = Math.min(s.samples.length, Math.round(p.a * s.rateHz));
    const i1 = Math.min(s.samples.length, Math.round(p.b * s.rateHz));
    parts.push(s.samples.subarray(i0, i1));
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { rateHz: s.rateHz, samples: out };
}

function moveHr(hr: HrSeries, pieces: readonly Piece[]): HrSeries {
  const t: number[] = [];
  const v: number[] = [];
  for (const p of pieces) {
    for (let i = 0; i < hr.tS.length; i++) {
      const x = hr.tS[i]!;
      if (x >= p.a && x < p.b) {
        t.push(x - p.a + p.newA);
        v.push(hr.bpm[i]!);
      }
    }
  }
  return { tS: Float64Array.from(t), bpm: Float64Array.from(v), source: hr.source };
}

function flatten(s: UniformSeries): UniformSeries {
  const first = s.samples.find((v) => Number.isFinite(v)) ?? 0;
  return { rateHz: s.rateHz, samples: new Float32Array(s.samples.length).fill(first) };
}

export interface ReorderResult {
  readonly record: StressRecord;
  /** New position → original segment index. */
  readonly order: readonly number[];
}

/** Reorders `rec`'s labelled segments (pure; see the file comment). Needs contiguous segments. */
export function reorderSegments(rec: StressRecord, seed: number): ReorderResult {
  const segs = rec.segments;
  if (segs.length === 0) throw new Error(`${rec.name}: no labelled segments to reorder`);
  for (let i = 1; i < segs.length; i++) {
    if (Math.abs(segs[i]!.startS - segs[i - 1]!.endS) > 1e-6) {
      throw new Error(`${rec.name}: segments must be contiguous to reorder (gap before "${segs[i]!.name}")`);
    }
  }
  const order = segmentOrder(segs.length, recordSeed(seed, rec.name));
  const first = segs[0]!;
  const last = segs.at(-1)!;
  const pieces: Piece[] = [];
  const newSegs: LabelledSegment[] = [];
  let cursor = 0;
  const push = (a: number, b: number): number => {
    pieces.push({ a, b, newA: cursor });
    const start = cursor;
    cursor += b - a;
    return start;
  };
  if (first.startS > 0) push(0, first.startS);
  for (const k of order) {
    const s = segs[k]!;
    const start = push(s.startS, s.endS);
    newSegs.push({ ...s, startS: start, endS: start + (s.endS - s.startS) });
  }
  if (last.endS < rec.durationS) push(last.endS, rec.durationS);
  const mv = (s: UniformSeries | undefined) => (s ? moveUniform(s, pieces) : undefined);
  return {
    record: {
      ...rec,
      name: `${rec.name}-reordered-${seed}`,
      hr: moveHr(rec.hr, pieces),
      footGsr: mv(rec.footGsr),
      handGsr: mv(rec.handGsr),
      resp: mv(rec.resp),
      marker: rec.marker ? flatten(moveUniform(rec.marker, pieces)) : undefined,
      ...(rec.ecg ? { ecg: moveUniform(rec.ecg, pieces) } : {}),
      ...(rec.hrChannel ? { hrChannel: moveUniform(rec.hrChannel, pieces) } : {}),
      segments: newSegs,
    },
    order,
  };
}
