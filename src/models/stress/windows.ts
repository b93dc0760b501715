/**
 * Per-window physiological features of a drivedb record, with causal per-drive normalisation.
 *
 * Windows: [t, t + windowS) for t = 0, strideS, 2·strideS, … while t + windowS ≤ durationS. A window's
 * features use only samples inside it, so each is available at its end time (live: one estimate per stride).
 *
 * Raw features (NaN-free or the window is dropped):
 * - HR (bpm points at irregular times): mean, sd, slope (least-squares, bpm/min). Needs ≥ 10 points spanning
 *   ≥ 50 % of the window.
 * - Foot and hand GSR, each: mean, sd, slope (units/min), and the SCR rate (skin-conductance responses per
 *   minute). An SCR, here: the GSR is averaged over 0.25 s blocks, its alternating troughs and peaks are found
 *   with hysteresis `scrMinRise` (a trough → peak or peak → trough move smaller than that is ignored), and a
 *   trough → peak rise counts as one SCR when it is ≥ scrMinRise and takes ≤ 5 s (phasic, not tonic drift).
 *   scrMinRise = 1 % of the drive's calibration GSR level (so it is causal and unit-free across sensors).
 *   Counted by the peak's time: a rise whose peak falls in the window counts for it.
 * - Respiration: rate (breaths/min) from upward zero crossings of the window's mean-removed, 0.5 s-smoothed
 *   signal with hysteresis ±0.25 sd (a crossing counts once the signal has gone below −0.25 sd and then above
 *   +0.25 sd), and amplitude (the smoothed signal's sd). Needs ≥ 50 % finite samples (also for GSR).
 *
 * Causal normalisation: the calibration period is the first `calibrationS` (default 300 s) of the drive's
 * first labelled segment, which must be `low` (drivedb's initial rest). Its baseline is the mean of each raw
 * feature over the windows lying wholly inside the calibration period (same window set-up), plus the mean GSR
 * level. Nothing after the calibration period's end enters the normalisation. Normalised features:
 *   hr_mean − base, log(hr_sd / base), hr_slope − base,
 *   gsr_mean / level − 1, gsr_sd / level, gsr_slope / level, gsr_scr − base   (foot and hand),
 *   resp_rate − base, log(resp_amp / base).
 * Windows overlapping the calibration period are not scored (counted as `calibration`): every scored
 * window lies after it, as a live system would see it.
 *
 * Labels: a window takes the level of the segment covering ≥ `minLabelCoverage` (default 0.8) of it; else it
 * is dropped (counted `unlabelled`). No elapsed-time, position, segment-order or marker feature exists here.
 */
import type { LabelledSegment, StressLevel, StressRecord, UniformSeries } from './records.ts';
import { STRESS_LEVELS } from './records.ts';

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
const NF = FEATURE_NAMES.length;

export interface WindowOptions {
  readonly windowS?: number;
  readonly strideS?: number;
  readonly calibrationS?: number;
  readonly minLabelCoverage?: number;
}

export interface FeatureWindow {
  readonly record: string;
  readonly startS: number;
  readonly endS: number;
  readonly level: StressLevel;
  /** Index of the covering segment in the record's `segments`. */
  readonly segmentIndex: number;
  /** Normalised features, in FEATURE_NAMES order. */
  readonly features: Float64Array;
}

export interface WindowCounts {
  readonly total: number;
  readonly kept: number;
  readonly calibration: number;
  readonly unlabelled: number;
  readonly missingSignal: number;
}

export interface RecordWindows {
  readonly record: string;
  readonly windows: FeatureWindow[];
  readonly counts: WindowCounts;
  /** Baseline raw features (FEATURE_NAMES order) and GSR levels from the calibration period. */
  readonly baseline: {
    readonly features: Float64Array;
    readonly footLevel: number;
    readonly handLevel: number;
  };
  readonly calibration: { readonly startS: number; readonly endS: number };
}

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

/** Block means of `block` samples (NaNs skipped; an all-NaN block is NaN). */
function blockMeans(x: ArrayLike<number>, block: number): Float64Array {
  const b = Math.max(1, Math.round(block));
  const out = new Float64Array(Math.floor(x.length / b));
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    let c = 0;
    for (let i = k * b; i < (k + 1) * b; i++) {
      const v = x[i]!;
      if (Number.isFinite(v)) {
        s += v;
        c++;
      }
    }
    out[k] = c > 0 ? s / c : NaN;
  }
  return out;
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

function finiteSlice(s: UniformSeries, a: number, b: number): { t: number[]; y: number[]; total: number } {
  const i0 = Math.max(0, Math.ceil(a * s.rateHz - 1e-9));
  const i1 = Math.min(s.samples.length, Math.ceil(b * s.rateHz - 1e-9));
  const t: number[] = [];
  const y: number[] = [];
  for (let i = i0; i < i1; i++) {
    const v = s.samples[i]!;
    if (Number.isFinite(v)) {
      t.push(i / s.rateHz);
      y.push(v);
    }
  }
  return { t, y, total: Math.max(0, i1 - i0) };
}

// ---------------------------------------------------------------------------------------------------------
// Raw features of one window
// ---------------------------------------------------------------------------------------------------------

function hrFeatures(rec: StressRecord, a: number, b: number, out: Float64Array): void {
  const { tS, bpm } = rec.hr;
  let lo = 0;
  let hi = tS.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (tS[m]! < a) lo = m + 1;
    else hi = m;
  }
  const t: number[] = [];
  const y: number[] = [];
  for (let i = lo; i < tS.length && tS[i]! < b; i++) {
    t.push(tS[i]! / 60);
    y.push(bpm[i]!);
  }
  const span = t.length > 1 ? (t.at(-1)! - t[0]!) * 60 : 0;
  if (t.length < 10 || span < 0.5 * (b - a)) {
    out.fill(NaN, 0, 3);
    return;
  }
  const ms = meanSd(y);
  out[0] = ms.mean;
  out[1] = ms.sd;
  out[2] = slope(t, y);
}

function gsrFeatures(
  s: UniformSeries | undefined,
  a: number,
  b: number,
  scrMinRise: number,
  out: Float64Array,
  at: number,
): void {
  const sl = s ? finiteSlice(s, a, b) : undefined;
  if (!s || !sl || sl.total === 0 || sl.y.length < 0.5 * sl.total) {
    out.fill(NaN, at, at + 4);
    return;
  }
  const ms = meanSd(sl.y);
  out[at] = ms.mean;
  out[at + 1] = ms.sd;
  out[at + 2] = slope(
    sl.t.map((x) => x / 60),
    sl.y,
  );
  const block = s.rateHz * 0.25;
  const i0 = Math.max(0, Math.ceil(a * s.rateHz - 1e-9));
  const i1 = Math.min(s.samples.length, Math.ceil(b * s.rateHz - 1e-9));
  const smooth = Array.from(blockMeans(s.samples.subarray(i0, i1), block)).filter((v) => Number.isFinite(v));
  const rate = s.rateHz / Math.max(1, Math.round(block));
  out[at + 3] = scrPeaks(smooth, rate, scrMinRise).length / ((b - a) / 60);
}

function respFeatures(
  s: UniformSeries | undefined,
  a: number,
  b: number,
  out: Float64Array,
  at: number,
): void {
  const sl = s ? finiteSlice(s, a, b) : undefined;
  if (!s || !sl || sl.total === 0 || sl.y.length < 0.5 * sl.total) {
    out.fill(NaN, at, at + 2);
    return;
  }
  const i0 = Math.max(0, Math.ceil(a * s.rateHz - 1e-9));
  const i1 = Math.min(s.samples.length, Math.ceil(b * s.rateHz - 1e-9));
  const sm = Array.from(blockMeans(s.samples.subarray(i0, i1), s.rateHz * 0.5)).filter((v) =>
    Number.isFinite(v),
  );
  const ms = meanSd(sm);
  const centred = sm.map((v) => v - ms.mean);
  out[at] = hysteresisCrossings(centred, 0.25 * ms.sd) / ((b - a) / 60);
  out[at + 1] = ms.sd;
}

/** Raw (unnormalised) features of [a, b), FEATURE_NAMES order; NaN where a signal is missing. */
export function rawWindowFeatures(
  rec: StressRecord,
  a: number,
  b: number,
  scrMinRise: { foot: number; hand: number },
): Float64Array {
  const out = new Float64Array(NF);
  hrFeatures(rec, a, b, out);
  gsrFeatures(rec.footGsr, a, b, scrMinRise.foot, out, 3);
  gsrFeatures(rec.handGsr, a, b, scrMinRise.hand, out, 7);
  respFeatures(rec.resp, a, b, out, 11);
  return out;
}

function meanLevel(s: UniformSeries | undefined, a: number, b: number): number {
  if (!s) return NaN;
  return meanSd(finiteSlice(s, a, b).y).mean;
}

/** Normalises raw features by the calibration baseline (see the file comment). */
export function normaliseFeatures(
  raw: Float64Array,
  base: Float64Array,
  footLevel: number,
  handLevel: number,
): Float64Array {
  const o = new Float64Array(NF);
  o[0] = raw[0]! - base[0]!;
  o[1] = Math.log(raw[1]! / base[1]!);
  o[2] = raw[2]! - base[2]!;
  const gsr = (at: number, level: number) => {
    o[at] = raw[at]! / level - 1;
    o[at + 1] = raw[at + 1]! / level;
    o[at + 2] = raw[at + 2]! / level;
    o[at + 3] = raw[at + 3]! - base[at + 3]!;
  };
  gsr(3, footLevel);
  gsr(7, handLevel);
  o[11] = raw[11]! - base[11]!;
  o[12] = Math.log(raw[12]! / base[12]!);
  return o;
}

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

/** Windows, labels and normalised features of one labelled record (pure). */
export function recordWindows(rec: StressRecord, options: WindowOptions = {}): RecordWindows {
  const W = options.windowS ?? 60;
  const stride = options.strideS ?? 10;
  const calS = options.calibrationS ?? 300;
  const minCov = options.minLabelCoverage ?? 0.8;
  if (!(W > 0 && stride > 0 && calS >= W))
    throw new RangeError('need windowS > 0, strideS > 0, calibrationS ≥ windowS');
  const first = rec.segments[0];
  if (!first || first.level !== 'low')
    throw new Error(`${rec.name}: first labelled segment must be the low initial rest`);
  const calStart = first.startS;
  const calEnd = Math.min(first.endS, calStart + calS);
  if (calEnd - calStart < W) throw new Error(`${rec.name}: calibration period shorter than one window`);
  // Baseline: GSR levels, then raw features of windows wholly inside the calibration period.
  const footLevel = meanLevel(rec.footGsr, calStart, calEnd);
  const handLevel = meanLevel(rec.handGsr, calStart, calEnd);
  const rise = { foot: 0.01 * Math.abs(footLevel), hand: 0.01 * Math.abs(handLevel) };
  const sums = new Float64Array(NF);
  const counts = new Float64Array(NF);
  for (let a = calStart; a + W <= calEnd + 1e-9; a += stride) {
    const r = rawWindowFeatures(rec, a, a + W, rise);
    for (let k = 0; k < NF; k++) {
      if (Number.isFinite(r[k]!)) {
        sums[k] = sums[k]! + r[k]!;
        counts[k] = counts[k]! + 1;
      }
    }
  }
  const base = sums.map((s, k) => (counts[k]! > 0 ? s / counts[k]! : NaN));
  const windows: FeatureWindow[] = [];
  let total = 0;
  let calibration = 0;
  let unlabelled = 0;
  let missingSignal = 0;
  for (let i = 0; i * stride + W <= rec.durationS + 1e-9; i++) {
    const a = i * stride;
    const b = a + W;
    total++;
    if (a < calEnd && b > calStart) {
      calibration++;
      continue;
    }
    const lab = windowLabel(rec.segments, a, b, minCov);
    if (!lab) {
      unlabelled++;
      continue;
    }
    const f = normaliseFeatures(rawWindowFeatures(rec, a, b, rise), base, footLevel, handLevel);
    if (!f.every((v) => Number.isFinite(v))) {
      missingSignal++;
      continue;
    }
    windows.push({
      record: rec.name,
      startS: a,
      endS: b,
      level: lab.level,
      segmentIndex: lab.index,
      features: f,
    });
  }
  return {
    record: rec.name,
    windows,
    counts: { total, kept: windows.length, calibration, unlabelled, missingSignal },
    baseline: { features: base, footLevel, handLevel },
    calibration: { startS: calStart, endS: calEnd },
  };
}

export const LEVEL_INDEX: Readonly<Record<StressLevel, number>> = { low: 0, medium: 1, high: 2 };
export { STRESS_LEVELS };
