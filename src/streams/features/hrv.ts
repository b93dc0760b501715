/**
 * Heart-rate variability over a window of RR intervals (from the QRS detector or a chest strap). Pure.
 *
 * Input: an RR series (ecg/rr.ts): interval i in ms, stamped with the time (µs) of the beat ending it.
 * Ectopic beats and artefacts are removed first by `classifyRr` (out of 300–2000 ms, or > 20 % off the local
 * median); what remains are the NN (normal-to-normal) intervals.
 *
 * Time domain (Task Force of the ESC/NASPE 1996):
 * - meanNnMs: mean NN; meanHrBpm = 60 000 / meanNnMs (HR of the mean interval, not the mean of HRs);
 * - sdnnMs: sample standard deviation of the NN intervals (n − 1 in the denominator);
 * - rmssdMs: root mean square of successive differences, over pairs of intervals that are adjacent in the
 *   original series and both kept (a difference across a removed interval is not a successive difference);
 * - pnn50Pct: percentage of those differences whose magnitude exceeds 50 ms (strictly).
 *
 * Frequency domain: the NN tachogram (value rrMs at its beat time) is interpolated onto an even 4 Hz grid
 * from the first to the last NN beat with a natural cubic spline (or linear, by option), the least-squares
 * line is removed, and the PSD is estimated with Welch's method (ecg/spectrum.ts: 64 s periodic-Hann
 * segments = 256 samples at 4 Hz, 50 % overlap; a shorter window is one segment). Band powers sum the
 * density over [lo, hi): LF = [0.04, 0.15) Hz, HF = [0.15, 0.40) Hz, total = [0, 0.40) Hz, in ms².
 * lfNu = LF / (LF + HF) and hfNu likewise (normalised units, fractions). A band is only estimated when the
 * NN beats span at least two periods of its lowest frequency (LF: 50 s, HF: 13.3 s), else it is null and
 * `notes` says why; the Task Force recommends ≥ 2 min for LF and 5 min for short-term HRV.
 */
import { bandPower, welchPsd } from './ecg/spectrum.ts';
import type { RrRuleOptions, RrSeries } from './ecg/rr.ts';
import { classifyRr } from './ecg/rr.ts';

export const LF_BAND_HZ: readonly [number, number] = [0.04, 0.15];
export const HF_BAND_HZ: readonly [number, number] = [0.15, 0.4];

export interface HrvOptions {
  /** Tachogram resampling rate, Hz (default 4). */
  readonly resampleHz?: number;
  /** Interpolation of the tachogram (default 'cubic': natural cubic spline). */
  readonly interpolation?: 'cubic' | 'linear';
  /** Welch segment length, s (default 64). */
  readonly welchSegmentS?: number;
  /** Ectopic/artefact rule options, or false to use every interval as NN. */
  readonly rrRule?: RrRuleOptions | false;
}

export interface HrvResult extends TimeDomain {
  /** Intervals in the input. */
  readonly intervals: number;
  /** Intervals kept as NN (by the rule; the spectrum also skips any whose beat time does not ascend). */
  readonly nn: number;
  readonly rejectedOutOfRange: number;
  readonly rejectedEctopic: number;
  /** Time from the first to the last NN beat, s. */
  readonly spanS: number;
  readonly lfMs2: number | null;
  readonly hfMs2: number | null;
  readonly lfHf: number | null;
  readonly lfNu: number | null;
  readonly hfNu: number | null;
  readonly totalPowerMs2: number | null;
  readonly spectrumMethod: 'welch';
  /** Why a measure is null. */
  readonly notes: readonly string[];
}

export interface TimeDomain {
  readonly meanNnMs: number | null;
  readonly meanHrBpm: number | null;
  readonly sdnnMs: number | null;
  readonly rmssdMs: number | null;
  readonly pnn50Pct: number | null;
  /** Successive differences used by RMSSD and pNN50. */
  readonly successiveDifferences: number;
}

/**
 * Time-domain HRV of `rrMs` where `kept[i]` is 1 (all kept when omitted). Successive differences use
 * consecutive indices both kept.
 */
export function timeDomainHrv(rrMs: ArrayLike<number>, kept?: ArrayLike<number>): TimeDomain {
  const n = rrMs.length;
  const isKept = (i: number): boolean => kept === undefined || kept[i] === 1;
  let count = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!isKept(i)) continue;
    count++;
    sum += rrMs[i]!;
  }
  const mean = count > 0 ? sum / count : null;
  let ss = 0;
  if (mean !== null) for (let i = 0; i < n; i++) if (isKept(i)) ss += (rrMs[i]! - mean) ** 2;
  let diffs = 0;
  let sumSq = 0;
  let over50 = 0;
  for (let i = 1; i < n; i++) {
    if (!isKept(i) || !isKept(i - 1)) continue;
    const d = rrMs[i]! - rrMs[i - 1]!;
    diffs++;
    sumSq += d * d;
    if (Math.abs(d) > 50) over50++;
  }
  return {
    meanNnMs: mean,
    meanHrBpm: mean !== null && mean > 0 ? 60_000 / mean : null,
    sdnnMs: count >= 2 ? Math.sqrt(ss / (count - 1)) : null,
    rmssdMs: diffs > 0 ? Math.sqrt(sumSq / diffs) : null,
    pnn50Pct: diffs > 0 ? (100 * over50) / diffs : null,
    successiveDifferences: diffs,
  };
}

/**
 * Evaluates the interpolant through (x[i], y[i]) (x strictly ascending, ≥ 2 points) at x0 + k / rate for
 * k = 0 … floor((x[n−1] − x0) · rate). Natural cubic spline (second derivative 0 at both ends) or linear.
 */
export function resampleEven(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rateHz: number,
  method: 'cubic' | 'linear' = 'cubic',
): Float64Array {
  const n = x.length;
  if (n < 2) throw new RangeError(`interpolation needs ≥ 2 points, got ${n}`);
  for (let i = 1; i < n; i++) {
    if (!(x[i]! > x[i - 1]!)) throw new RangeError(`interpolation knots must ascend (x[${i}] = ${x[i]})`);
  }
  const x0 = x[0]!;
  const count = Math.floor((x[n - 1]! - x0) * rateHz + 1e-9) + 1;
  const out = new Float64Array(count);
  // Second derivatives of the natural spline (tridiagonal solve, Thomas algorithm); zeros for linear.
  const m = new Float64Array(n);
  if (method === 'cubic' && n > 2) {
    const c = new Float64Array(n);
    const d = new Float64Array(n);
    for (let i = 1; i < n - 1; i++) {
      const h0 = x[i]! - x[i - 1]!;
      const h1 = x[i + 1]! - x[i]!;
      const a = h0 / 6;
      const b = (h0 + h1) / 3;
      const cc = h1 / 6;
      const rhs = (y[i + 1]! - y[i]!) / h1 - (y[i]! - y[i - 1]!) / h0;
      const denom = b - a * c[i - 1]!;
      c[i] = cc / denom;
      d[i] = (rhs - a * d[i - 1]!) / denom;
    }
    for (let i = n - 2; i >= 1; i--) m[i] = d[i]! - c[i]! * m[i + 1]!;
  }
  let seg = 0;
  for (let k = 0; k < count; k++) {
    const t = x0 + k / rateHz;
    while (seg < n - 2 && t > x[seg + 1]!) seg++;
    const xa = x[seg]!;
    const xb = x[seg + 1]!;
    const h = xb - xa;
    const a = (xb - t) / h;
    const b = (t - xa) / h;
    out[k] =
      a * y[seg]! +
      b * y[seg + 1]! +
      ((a * a * a - a) * m[seg]! + (b * b * b - b) * m[seg + 1]!) * ((h * h) / 6);
  }
  return out;
}

/** Removes the least-squares line from `x` (in place) and returns it. */
export function detrendLinear(x: Float64Array): Float64Array {
  const n = x.length;
  if (n < 2) {
    if (n === 1) x[0] = 0;
    return x;
  }
  const tMean = (n - 1) / 2;
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += x[i]!;
  yMean /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (i - tMean) * (x[i]! - yMean);
    sxx += (i - tMean) ** 2;
  }
  const slope = sxy / sxx;
  for (let i = 0; i < n; i++) x[i] = x[i]! - yMean - slope * (i - tMean);
  return x;
}

/** HRV of a whole RR series (already cut to the window; see `hrvInWindow`). */
export function computeHrv(series: RrSeries, options: HrvOptions = {}): HrvResult {
  const notes: string[] = [];
  const n = series.rrMs.length;
  const cls =
    options.rrRule === false
      ? { kept: new Uint8Array(n).fill(1), outOfRange: 0, ectopic: 0 }
      : classifyRr(series.rrMs, options.rrRule ?? {});
  const td = timeDomainHrv(series.rrMs, cls.kept);
  const tS: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    if (cls.kept[i] !== 1) continue;
    const t = series.tUs[i]! / 1e6;
    if (tS.length > 0 && !(t > tS[tS.length - 1]!)) continue;
    tS.push(t);
    v.push(series.rrMs[i]!);
  }
  const spanS = tS.length >= 2 ? tS[tS.length - 1]! - tS[0]! : 0;
  if (td.meanNnMs === null) notes.push('no NN intervals');
  else if (td.sdnnMs === null) notes.push('one NN interval: no SDNN');
  if (td.successiveDifferences === 0 && td.meanNnMs !== null) notes.push('no successive NN pair');

  let lf: number | null = null;
  let hf: number | null = null;
  let total: number | null = null;
  const minHfS = 2 / HF_BAND_HZ[0];
  const minLfS = 2 / LF_BAND_HZ[0];
  if (tS.length >= 3 && spanS >= minHfS) {
    const fs = options.resampleHz ?? 4;
    const even = detrendLinear(resampleEven(tS, v, fs, options.interpolation ?? 'cubic'));
    const psd = welchPsd(even, fs, Math.round((options.welchSegmentS ?? 64) * fs));
    hf = bandPower(psd, HF_BAND_HZ[0], HF_BAND_HZ[1]);
    total = bandPower(psd, 0, HF_BAND_HZ[1]);
    if (spanS >= minLfS) lf = bandPower(psd, LF_BAND_HZ[0], LF_BAND_HZ[1]);
    else notes.push(`NN span ${spanS.toFixed(1)} s < ${minLfS} s: no LF`);
  } else {
    notes.push(`NN span ${spanS.toFixed(1)} s < ${minHfS.toFixed(1)} s (or < 3 NN): no spectrum`);
  }
  const lfHf = lf !== null && hf !== null && hf > 0 ? lf / hf : null;
  const sumLH = lf !== null && hf !== null ? lf + hf : 0;
  return {
    intervals: n,
    nn: n - cls.outOfRange - cls.ectopic,
    rejectedOutOfRange: cls.outOfRange,
    rejectedEctopic: cls.ectopic,
    spanS,
    ...td,
    lfMs2: lf,
    hfMs2: hf,
    lfHf,
    lfNu: sumLH > 0 ? lf! / sumLH : null,
    hfNu: sumLH > 0 ? hf! / sumLH : null,
    totalPowerMs2: total,
    spectrumMethod: 'welch',
    notes,
  };
}

/** HRV of the intervals whose ending beat falls in [startUs, endUs). */
export function hrvInWindow(
  series: RrSeries,
  startUs: number,
  endUs: number,
  options: HrvOptions = {},
): HrvResult {
  const t: number[] = [];
  const rr: number[] = [];
  for (let i = 0; i < series.tUs.length; i++) {
    const ti = series.tUs[i]!;
    if (ti >= startUs && ti < endUs) {
      t.push(ti);
      rr.push(series.rrMs[i]!);
    }
  }
  return computeHrv({ tUs: Float64Array.from(t), rrMs: Float64Array.from(rr) }, options);
}
