/**
 * Window helpers shared by the stress model's input builder (inputs.ts) and its evaluation: the names of the
 * 13 per-window physiological statistics, least-squares slope, SCR (skin-conductance response) detection,
 * hysteresis zero crossings for the respiration rate, and the label of a window.
 *
 * - SCR: on evenly sampled EDA, alternating troughs and peaks are tracked with hysteresis `minRise`; a trough
 *   → peak rise ≥ minRise that takes ≤ 5 s is one response (phasic, not tonic drift), counted at its peak.
 * - Respiration rate: upward crossings of the mean-removed signal with hysteresis ±h (a crossing counts once
 *   the signal has gone below −h and then above +h).
 * - Labels: a window takes the level of the segment covering ≥ `minCoverage` of it, else it has none.
 */
import type { LabelledSegment, StressLevel } from './records.ts';

export const FEATURE_NAMES = [
  'hr_mean',
  'hr_sd',
  'hr_slope',
  'foot_gsr_mean',
  'foot_gsr_sd',
  'foot_gsr_slope',
  'foot_gsr_scr',
  'hand_gsr_mean',
  'hand_gsr_sd',
  'hand_gsr_slope',
  'hand_gsr_scr',
  'resp_rate',
  'resp_amp',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

// ---------------------------------------------------------------------------------------------------------
// Small statistics
// ---------------------------------------------------------------------------------------------------------

function meanSd(x: ArrayLike<number>): { mean: number; sd: number } {
  const n = x.length;
  if (n === 0) return { mean: NaN, sd: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(v / (n - 1)) : 0 };
}

/** Least-squares slope of y on t (per unit of t). */
export function slope(t: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = t.length;
  if (n < 2) return NaN;
  const mt = meanSd(t).mean;
  const my = meanSd(y).mean;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (t[i]! - mt) * (y[i]! - my);
    sxx += (t[i]! - mt) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/**
 * SCR times (s, relative to the signal's start): peaks of trough → peak rises ≥ minRise lasting ≤ maxRiseS,
 * found on `x` (evenly sampled at rateHz, NaN-free) by hysteresis extremum tracking.
 */
export function scrPeaks(x: ArrayLike<number>, rateHz: number, minRise: number, maxRiseS = 5): number[] {
  const peaks: number[] = [];
  if (x.length === 0 || !(minRise > 0)) return peaks;
  let troughV = x[0]!;
  let troughI = 0;
  let peakV = x[0]!;
  let peakI = 0;
  let rising = false; // false: tracking a trough; true: tracking a peak
  for (let i = 1; i < x.length; i++) {
    const v = x[i]!;
    if (!rising) {
      if (v < troughV) {
        troughV = v;
        troughI = i;
      } else if (v - troughV >= minRise) {
        rising = true;
        peakV = v;
        peakI = i;
      }
    } else if (v > peakV) {
      peakV = v;
      peakI = i;
    } else if (peakV - v >= minRise) {
      if ((peakI - troughI) / rateHz <= maxRiseS) peaks.push(peakI / rateHz);
      rising = false;
      troughV = v;
      troughI = i;
    }
  }
  if (rising && (peakI - troughI) / rateHz <= maxRiseS && peakI < x.length - 1) peaks.push(peakI / rateHz);
  return peaks;
}

/** Upward zero crossings with hysteresis ±h. */
export function hysteresisCrossings(x: ArrayLike<number>, h: number): number {
  let below = false;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < -h) below = true;
    else if (v > h && below) {
      n++;
      below = false;
    }
  }
  return n;
}

/** Least label coverage of a scored window (a window spanning two segments is not scored). */
export const MIN_LABEL_COVERAGE = 0.8;

/** The level of the segment covering ≥ minCoverage of [a, b), with its index, or undefined. */
export function windowLabel(
  segments: readonly LabelledSegment[],
  a: number,
  b: number,
  minCoverage: number,
): { level: StressLevel; index: number } | undefined {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const overlap = Math.min(b, s.endS) - Math.max(a, s.startS);
    if (overlap >= minCoverage * (b - a) - 1e-9) return { level: s.level, index: i };
  }
  return undefined;
}

export const LEVEL_INDEX: Readonly<Record<StressLevel, number>> = { low: 0, medium: 1, high: 2 };
