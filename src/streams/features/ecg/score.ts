/**
 * Beat-by-beat scoring of a QRS detector against reference beats (ANSI/AAMI EC57 style): a detection matches
 * a reference beat when they are at most `windowMs` apart (150 ms in EC57 and in this project); each beat
 * matches at most once. Pure.
 *
 * Matching: both lists sorted; each reference, in time order, takes the earliest unmatched detection within
 * its window. Every detection's admissible references form a contiguous run in the same order (a convex
 * bipartite graph), for which this greedy gives a maximum matching (Glover 1967): no other pairing has more
 * true positives. When beats are more than 2 × window apart (150 ms window, RR > 300 ms) it is also the
 * nearest-detection pairing.
 *
 * Se = TP / (TP + FN), +P = TP / (TP + FP); both are null when their denominator is 0.
 */

export interface BeatScore {
  readonly tp: number;
  readonly fn: number;
  readonly fp: number;
  readonly reference: number;
  readonly detected: number;
  /** Sensitivity, 0..1 (null without reference beats). */
  readonly sensitivity: number | null;
  /** Positive predictivity, 0..1 (null without detections). */
  readonly positivePredictivity: number | null;
  /** Mean and largest |detected − reference| over matched pairs, ms (null without matches). */
  readonly meanAbsErrorMs: number | null;
  readonly maxAbsErrorMs: number | null;
  readonly windowMs: number;
}

export interface BeatMatching {
  /** For each reference beat (input order), the input index of its matched detection, or −1. */
  readonly referenceMatch: Int32Array;
  /** For each detection (input order), the input index of its matched reference, or −1. */
  readonly detectionMatch: Int32Array;
}

/** Input indices of `values` in ascending order of value; throws on a non-finite value. */
function order(values: ArrayLike<number>, what: string): Int32Array {
  const idx = new Int32Array(values.length);
  for (let i = 0; i < idx.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new RangeError(`${what}[${i}] = ${values[i]} is not finite`);
    idx[i] = i;
  }
  return idx.sort((a, b) => values[a]! - values[b]! || a - b);
}

/** Pairs detections with reference beats (both µs, any order) within ±`windowMs`, as described above. */
export function matchBeats(
  detectedUs: ArrayLike<number>,
  referenceUs: ArrayLike<number>,
  windowMs = 150,
): BeatMatching {
  if (!(windowMs >= 0) || !Number.isFinite(windowMs))
    throw new RangeError(`windowMs ${windowMs} must be ≥ 0`);
  const di = order(detectedUs, 'detectedUs');
  const ri = order(referenceUs, 'referenceUs');
  const w = windowMs * 1000;
  const referenceMatch = new Int32Array(ri.length).fill(-1);
  const detectionMatch = new Int32Array(di.length).fill(-1);
  let j = 0; // earliest detection not yet matched nor passed
  for (const r of ri) {
    const t = referenceUs[r]!;
    while (j < di.length && detectedUs[di[j]!]! < t - w) j++;
    if (j === di.length) break;
    const d = di[j]!;
    if (detectedUs[d]! > t + w) continue;
    referenceMatch[r] = d;
    detectionMatch[d] = r;
    j++;
  }
  return { referenceMatch, detectionMatch };
}

/** Scores detected beat times against reference beat times (both µs, any order) with a ±`windowMs` window. */
export function scoreBeats(
  detectedUs: ArrayLike<number>,
  referenceUs: ArrayLike<number>,
  windowMs = 150,
): BeatScore {
  const { referenceMatch } = matchBeats(detectedUs, referenceUs, windowMs);
  let tp = 0;
  let sumErr = 0;
  let maxErr = 0;
  for (let r = 0; r < referenceMatch.length; r++) {
    const d = referenceMatch[r]!;
    if (d < 0) continue;
    const err = Math.abs(detectedUs[d]! - referenceUs[r]!);
    tp++;
    sumErr += err;
    if (err > maxErr) maxErr = err;
  }
  const reference = referenceUs.length;
  const detected = detectedUs.length;
  return {
    tp,
    fn: reference - tp,
    fp: detected - tp,
    reference,
    detected,
    sensitivity: reference > 0 ? tp / reference : null,
    positivePredictivity: detected > 0 ? tp / detected : null,
    meanAbsErrorMs: tp > 0 ? sumErr / tp / 1000 : null,
    maxAbsErrorMs: tp > 0 ? maxErr / 1000 : null,
    windowMs,
  };
}
