/**
 * Steering metrics over uniformly sampled steering-wheel angle (degrees). Pure functions.
 *
 * Steering wheel reversal rate (SWRR) — Markkula, G. & Engström, J. (2006), "A steering wheel reversal rate
 * metric for assessing effects of visual and cognitive secondary task load", Proc. 13th ITS World Congress,
 * London; the same definition is standardised in SAE J2944 (2015). Followed as their published reference
 * implementation (metric_ReversalRate_VTEC.m) does it:
 *   1. low-pass the angle with a 2nd-order Butterworth filter, zero-phase (filtfilt);
 *   2. stationary points: samples k where the sign of the first difference d(k) = θ(k) − θ(k−1) changes by 2
 *      between k and k+1, or d(k) = 0 (with d(0) = 0, so the first sample is always one);
 *   3. upward reversals: walk the stationary points keeping a reference point i; a point j with
 *      θ(j) − θ(i) > gap counts a reversal and becomes the reference; a point with θ(j) ≤ θ(i) becomes the
 *      reference. Downward reversals: the same on −θ. Reversals = upward + downward;
 *   4. rate = reversals / ((N − 1) / fs) × 60, per minute.
 * The paper's recommended settings: 0.6 Hz and a 3° gap for large reversals (visual load), 2 Hz and 0.1°
 * for small ones (cognitive load). The default here is the former.
 *
 * Steering entropy — Nakayama, O., Futami, T., Nakamura, T. & Boer, E. R. (1999), "Development of a steering
 * entropy method for evaluating driver workload", SAE Technical Paper 1999-01-0892:
 *   - the angle sampled every 150 ms;
 *   - second-order Taylor prediction θ̂(n) = θ(n−1) + (θ(n−1) − θ(n−2)) + ½[(θ(n−1) − θ(n−2)) − (θ(n−2) −
 *     θ(n−3))] = 2.5 θ(n−1) − 2 θ(n−2) + 0.5 θ(n−3), prediction error e(n) = θ(n) − θ̂(n);
 *   - α = the 90th percentile of |e| in BASELINE driving (so 90 % of baseline errors lie in [−α, α]);
 *   - nine bins with edges −5α, −2.5α, −α, −0.5α, 0.5α, α, 2.5α, 5α (e on an edge falls in the lower bin);
 *   - H = −Σ pᵢ log₉ pᵢ ∈ [0, 1].
 * α must come from a baseline (the same driver, undisturbed driving) for H to compare workload; computing it
 * from the window being scored makes H describe only the error distribution's shape (`alphaSource` says
 * which was used).
 */
import { butterworth2LowPass, filtfilt, percentile } from './filters.ts';

export interface ReversalOptions {
  /** Minimum angle change of a reversal (degrees). Default 3. */
  readonly gapDeg?: number;
  /** Low-pass cut-off (Hz); default 0.6. */
  readonly cutoffHz?: number;
}

export interface ReversalResult {
  readonly reversals: number;
  readonly upward: number;
  readonly downward: number;
  /** (N − 1) / fs, seconds. */
  readonly durationS: number;
  /** Per minute; NaN when durationS is 0. */
  readonly ratePerMin: number;
}

/** Stationary points of a series (indices), as in the reference implementation. */
export function stationaryPoints(x: Float64Array): number[] {
  const out: number[] = [];
  const n = x.length;
  const d = (k: number): number => (k === 0 ? 0 : x[k]! - x[k - 1]!);
  for (let k = 0; k < n - 1; k++) {
    const dk = d(k);
    if (dk === 0 || Math.abs(Math.sign(dk) - Math.sign(d(k + 1))) === 2) out.push(k);
  }
  return out;
}

function upwardReversals(x: Float64Array, extrema: readonly number[], gap: number, sign: 1 | -1): number {
  if (extrema.length === 0) return 0;
  let count = 0;
  let ref = sign * x[extrema[0]!]!;
  for (const j of extrema) {
    const v = sign * x[j]!;
    if (v - ref > gap) {
      count++;
      ref = v;
    } else if (v <= ref) ref = v;
  }
  return count;
}

/** Reversals in an already filtered (or unfiltered, by choice) uniformly sampled angle series. */
export function countReversals(angleDeg: Float64Array, gapDeg: number): { upward: number; downward: number } {
  const ext = stationaryPoints(angleDeg);
  return {
    upward: upwardReversals(angleDeg, ext, gapDeg, 1),
    downward: upwardReversals(angleDeg, ext, gapDeg, -1),
  };
}

/** SWRR of one contiguous, uniformly sampled segment (needs more than 6 samples for the filter). */
export function steeringReversalRate(
  angleDeg: Float64Array,
  sampleRateHz: number,
  options: ReversalOptions = {},
): ReversalResult {
  const gap = options.gapDeg ?? 3;
  const fc = options.cutoffHz ?? 0.6;
  const filtered = filtfilt(butterworth2LowPass(fc, sampleRateHz), angleDeg);
  const { upward, downward } = countReversals(filtered, gap);
  const durationS = (angleDeg.length - 1) / sampleRateHz;
  const reversals = upward + downward;
  return {
    reversals,
    upward,
    downward,
    durationS,
    ratePerMin: durationS > 0 ? (reversals / durationS) * 60 : NaN,
  };
}

/** Nakayama prediction errors e(n), n = 3 .. N−1, of an angle series sampled every 150 ms. */
export function steeringPredictionErrors(angleDeg: ArrayLike<number>): Float64Array {
  const n = angleDeg.length;
  if (n < 4) return new Float64Array(0);
  const e = new Float64Array(n - 3);
  for (let i = 3; i < n; i++) {
    const pred = 2.5 * angleDeg[i - 1]! - 2 * angleDeg[i - 2]! + 0.5 * angleDeg[i - 3]!;
    e[i - 3] = angleDeg[i]! - pred;
  }
  return e;
}

/** α from baseline prediction errors: the 90th percentile of |e| (degrees). */
export function steeringEntropyAlpha(baselineErrors: ArrayLike<number>): number {
  const abs = Float64Array.from(baselineErrors, (v) => Math.abs(v));
  return percentile(abs, 90);
}

export const ENTROPY_BIN_EDGES_ALPHA = [-5, -2.5, -1, -0.5, 0.5, 1, 2.5, 5] as const;

/** Bin counts of prediction errors for a given α (nine bins). */
export function entropyHistogram(errors: ArrayLike<number>, alpha: number): number[] {
  const counts = new Array<number>(9).fill(0);
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i]!;
    let b = 0;
    while (b < 8 && e > ENTROPY_BIN_EDGES_ALPHA[b]! * alpha) b++;
    counts[b]!++;
  }
  return counts;
}

/** Steering entropy H (log base 9) of prediction errors for α > 0; NaN without errors or with α ≤ 0. */
export function steeringEntropy(errors: ArrayLike<number>, alpha: number): number {
  if (errors.length === 0 || !(alpha > 0)) return NaN;
  let h = 0;
  for (const c of entropyHistogram(errors, alpha)) {
    if (c === 0) continue;
    const p = c / errors.length;
    h -= p * Math.log(p);
  }
  return h / Math.log(9);
}
