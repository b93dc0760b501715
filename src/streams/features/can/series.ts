/**
 * Irregular time series (CAN signal samples) → cleaned, gap-split, optionally resampled. Pure.
 *
 * Time: µs since the epoch (event time, the frame's timestamp), integers or not.
 * Clean-up, each outcome counted in `SeriesQuality`:
 *   - non-finite values (NaN, ±∞) are dropped (`nonFinite`);
 *   - samples that arrived with a time earlier than the previous arrival are kept and sorted into place
 *     (`outOfOrder` counts them);
 *   - samples with the same time as an earlier one are dropped, the first kept (`duplicates`);
 *   - consecutive samples further apart than `maxGapUs` are a gap (`gaps`): nothing is interpolated,
 *     differentiated or held across it; the series is split into segments there.
 * `coveredS` is the time spanned by gap-free consecutive pairs.
 */

export interface SeriesQuality {
  /** Samples offered. */
  received: number;
  /** Samples kept (finite, not duplicates). */
  samples: number;
  nonFinite: number;
  duplicates: number;
  outOfOrder: number;
  gaps: number;
  /** Seconds covered by gap-free sample pairs. */
  coveredS: number;
}

export function emptyQuality(): SeriesQuality {
  return { received: 0, samples: 0, nonFinite: 0, duplicates: 0, outOfOrder: 0, gaps: 0, coveredS: 0 };
}

export interface Segment {
  /** Times (µs), strictly increasing. */
  readonly tUs: Float64Array;
  readonly values: Float64Array;
}

export interface CleanSeries {
  /** Gap-free runs, in time order (single samples are segments of length 1). */
  readonly segments: readonly Segment[];
  readonly quality: SeriesQuality;
}

/**
 * Cleans raw samples (in arrival order). A streaming caller that already dropped non-finite samples and
 * counted arrivals passes its counts in `counted`; they replace those computed here.
 */
export function cleanSeries(
  tUs: ArrayLike<number>,
  values: ArrayLike<number>,
  maxGapUs: number,
  counted?: Pick<SeriesQuality, 'received' | 'nonFinite' | 'outOfOrder'>,
): CleanSeries {
  const q = emptyQuality();
  const n = Math.min(tUs.length, values.length);
  const idx: number[] = [];
  let lastArrival = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = tUs[i]!;
    const v = values[i]!;
    if (!Number.isFinite(v) || !Number.isFinite(t)) {
      q.nonFinite++;
      continue;
    }
    if (t < lastArrival) q.outOfOrder++;
    else lastArrival = t;
    idx.push(i);
  }
  q.received = n;
  if (counted !== undefined) {
    // The caller filtered non-finite samples out already and counted arrivals with the same rule.
    q.received = counted.received;
    q.nonFinite = counted.nonFinite;
    q.outOfOrder = counted.outOfOrder;
  }
  // Stable sort by time keeps the first-arrived of equal times first.
  idx.sort((a, b) => tUs[a]! - tUs[b]!);
  const segments: Segment[] = [];
  let segT: number[] = [];
  let segV: number[] = [];
  let prevT = NaN;
  const flush = (): void => {
    if (segT.length > 0) segments.push({ tUs: Float64Array.from(segT), values: Float64Array.from(segV) });
    segT = [];
    segV = [];
  };
  for (const i of idx) {
    const t = tUs[i]!;
    if (t === prevT) {
      q.duplicates++;
      continue;
    }
    if (!Number.isNaN(prevT)) {
      if (t - prevT > maxGapUs) {
        q.gaps++;
        flush();
      } else q.coveredS += (t - prevT) / 1e6;
    }
    segT.push(t);
    segV.push(values[i]!);
    prevT = t;
  }
  flush();
  q.samples = segments.reduce((a, s) => a + s.tUs.length, 0);
  return { segments, quality: q };
}

/**
 * Linear interpolation of a segment onto the grid t₀ + k·stepUs (k ≥ 0, up to the segment's last time).
 * A single-sample segment gives one point.
 */
export function resampleSegment(seg: Segment, stepUs: number): Float64Array {
  const t = seg.tUs;
  const v = seg.values;
  const n = t.length;
  if (n === 0) return new Float64Array(0);
  const t0 = t[0]!;
  const count = Math.floor((t[n - 1]! - t0) / stepUs) + 1;
  const out = new Float64Array(count);
  let j = 0;
  for (let k = 0; k < count; k++) {
    const tk = t0 + k * stepUs;
    while (j < n - 2 && t[j + 1]! < tk) j++;
    if (n === 1) {
      out[k] = v[0]!;
      continue;
    }
    const ta = t[j]!;
    const tb = t[j + 1]!;
    const f = tb > ta ? (tk - ta) / (tb - ta) : 0;
    out[k] = v[j]! + Math.min(1, Math.max(0, f)) * (v[j + 1]! - v[j]!);
  }
  return out;
}

export interface Stats {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); null for n < 2. */
  readonly sd: number | null;
  readonly min: number;
  readonly max: number;
}

/** Sample statistics (Welford); null for no values. */
export function stats(values: Iterable<number>): Stats | null {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return null;
  return { n, mean, sd: n > 1 ? Math.sqrt(m2 / (n - 1)) : null, min, max };
}

export function* segmentValues(segments: readonly Segment[]): Generator<number> {
  for (const s of segments) yield* s.values;
}
