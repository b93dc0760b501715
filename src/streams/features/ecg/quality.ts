/**
 * ECG signal quality over a window of samples (physical units, mV; any rate 125–1000 Hz). Pure. Each flag
 * comes with the measure behind it, so a dashboard can show why a window was masked.
 *
 * Measures (NaN samples are counted and left out; the window's finite samples are used in order):
 * - flat line: `longestFlatS`, the longest stretch whose peak-to-peak stays within 0.02 mV. A beating heart
 *   moves the trace by more than that at least once a second or so, even in asystole-free pauses; flagged at
 *   ≥ 2 s (also when the whole window is shorter than that and flat).
 * - saturation/clipping: `clippedFraction`, the fraction of samples in runs of ≥ max(3, 10 ms) identical
 *   values at the window's maximum or minimum (a rail, or the ADC's limit): flagged at ≥ 1 %. Not evaluated
 *   on a flat window.
 * - high-frequency noise: `hfNoiseRatio` = power in [40 Hz, min(150 Hz, Nyquist)) / power in [1, 40) Hz
 *   (Welch, 1 s segments): muscle (EMG) noise, mains pickup; the QRS complex itself has little above 40 Hz.
 *   Flagged at ≥ 0.25.
 * - electrode off / lead fault: `baselineWanderMv`, the peak-to-peak of the 1 s moving mean (the
 *   electrode-skin potential drifting as an electrode lifts), flagged at ≥ 2 mV; or `outOfRangeFraction`,
 *   samples more than 6 mV from the window's median (beyond any QRS), flagged at ≥ 1 %.
 * Thresholds were set on the clean and car records in ../shared (mitdb 100, qtdb, drivedb 05/06) so that
 * clean windows pass with margin; see the tests. `usable` is false when any flag is set or under half the
 * window's samples are finite.
 */
import { bandPower, welchPsd } from './spectrum.ts';

export interface EcgQualityOptions {
  readonly flatToleranceMv?: number;
  readonly flatMinS?: number;
  readonly clippedMaxFraction?: number;
  readonly hfNoiseMaxRatio?: number;
  readonly baselineWanderMaxMv?: number;
  readonly outOfRangeMv?: number;
  readonly outOfRangeMaxFraction?: number;
}

export const ECG_QUALITY_DEFAULTS: Required<EcgQualityOptions> = {
  flatToleranceMv: 0.02,
  flatMinS: 2,
  clippedMaxFraction: 0.01,
  hfNoiseMaxRatio: 0.25,
  baselineWanderMaxMv: 2,
  outOfRangeMv: 6,
  outOfRangeMaxFraction: 0.01,
};

export interface EcgQuality {
  readonly samples: number;
  readonly nonFinite: number;
  readonly durationS: number;
  readonly peakToPeakMv: number | null;
  readonly flat: { readonly flag: boolean; readonly longestFlatS: number };
  readonly saturation: { readonly flag: boolean; readonly clippedFraction: number };
  readonly noise: { readonly flag: boolean; readonly hfNoiseRatio: number | null };
  readonly electrodeOff: {
    readonly flag: boolean;
    readonly baselineWanderMv: number | null;
    readonly outOfRangeFraction: number;
  };
  readonly usable: boolean;
}

/** Longest stretch (in samples) whose peak-to-peak stays within `tol`. */
export function longestFlatRun(x: ArrayLike<number>, tol: number): number {
  // Two monotone deques give the running min and max of the current stretch in O(n).
  const n = x.length;
  const maxQ = new Int32Array(n);
  const minQ = new Int32Array(n);
  let maxH = 0;
  let maxT = 0;
  let minH = 0;
  let minT = 0;
  let start = 0;
  let best = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    while (maxT > maxH && x[maxQ[maxT - 1]!]! <= v) maxT--;
    maxQ[maxT++] = i;
    while (minT > minH && x[minQ[minT - 1]!]! >= v) minT--;
    minQ[minT++] = i;
    while (x[maxQ[maxH]!]! - x[minQ[minH]!]! > tol) {
      start++;
      if (maxQ[maxH]! < start) maxH++;
      if (minQ[minH]! < start) minH++;
    }
    if (i - start + 1 > best) best = i - start + 1;
  }
  return best;
}

/** Fraction of samples in runs of ≥ `minRun` equal values at the maximum or minimum of `x`. */
export function clippedFraction(x: ArrayLike<number>, minRun: number): number {
  const n = x.length;
  if (n === 0) return 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let clipped = 0;
  let i = 0;
  while (i < n) {
    const v = x[i]!;
    let j = i + 1;
    while (j < n && x[j] === v) j++;
    if ((v === hi || v === lo) && j - i >= minRun) clipped += j - i;
    i = j;
  }
  return clipped / n;
}

/** Peak-to-peak of the `len`-sample moving mean of `x` (x.length ≥ len). */
function movingMeanPeakToPeak(x: ArrayLike<number>, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += x[i]!;
  let lo = s;
  let hi = s;
  for (let i = len; i < x.length; i++) {
    s += x[i]! - x[i - len]!;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return (hi - lo) / len;
}

function median(x: Float64Array): number {
  const s = Float64Array.from(x).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Quality of one window of ECG samples (mV) at `rateHz`. */
export function ecgQuality(
  samples: ArrayLike<number>,
  rateHz: number,
  options: EcgQualityOptions = {},
): EcgQuality {
  if (!(rateHz > 0) || !Number.isFinite(rateHz)) throw new RangeError(`ECG rate ${rateHz} Hz must be > 0`);
  const o = { ...ECG_QUALITY_DEFAULTS, ...options };
  const finite: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (Number.isFinite(v)) finite.push(v);
  }
  const x = Float64Array.from(finite);
  const n = x.length;
  const nonFinite = samples.length - n;
  const durationS = samples.length / rateHz;
  if (n === 0) {
    return {
      samples: samples.length,
      nonFinite,
      durationS,
      peakToPeakMv: null,
      flat: { flag: false, longestFlatS: 0 },
      saturation: { flag: false, clippedFraction: 0 },
      noise: { flag: false, hfNoiseRatio: null },
      electrodeOff: { flag: false, baselineWanderMv: null, outOfRangeFraction: 0 },
      usable: false,
    };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, x[i]!);
    hi = Math.max(hi, x[i]!);
  }
  const p2p = hi - lo;
  const flatS = longestFlatRun(x, o.flatToleranceMv) / rateHz;
  const isFlat = flatS >= Math.min(o.flatMinS, n / rateHz);
  const clip = isFlat ? 0 : clippedFraction(x, Math.max(3, Math.round(0.01 * rateHz)));
  let hfRatio: number | null = null;
  if (n >= 8 && !isFlat) {
    const psd = welchPsd(x, rateHz, Math.round(rateHz));
    const ref = bandPower(psd, 1, 40);
    const hf = bandPower(psd, 40, Math.min(150, rateHz / 2 + psd.dfHz));
    hfRatio = ref > 0 ? hf / ref : null;
  }
  const win = Math.round(rateHz);
  const wander = n >= win ? movingMeanPeakToPeak(x, win) : null;
  const med = median(x);
  let out = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[i]! - med) > o.outOfRangeMv) out++;
  const outFrac = out / n;
  const flat = { flag: isFlat, longestFlatS: flatS };
  const saturation = { flag: clip >= o.clippedMaxFraction, clippedFraction: clip };
  const noise = { flag: hfRatio !== null && hfRatio >= o.hfNoiseMaxRatio, hfNoiseRatio: hfRatio };
  const electrodeOff = {
    flag: (wander !== null && wander >= o.baselineWanderMaxMv) || outFrac >= o.outOfRangeMaxFraction,
    baselineWanderMv: wander,
    outOfRangeFraction: outFrac,
  };
  return {
    samples: samples.length,
    nonFinite,
    durationS,
    peakToPeakMv: p2p,
    flat,
    saturation,
    noise,
    electrodeOff,
    usable: !flat.flag && !saturation.flag && !noise.flag && !electrodeOff.flag && n * 2 >= samples.length,
  };
}
