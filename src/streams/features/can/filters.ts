/**
 * Small signal-processing helpers for the driving features, over uniformly sampled series (pure).
 */

/** Biquad coefficients, a0 normalised to 1: y[n] = b0 x[n] + b1 x[n−1] + b2 x[n−2] − a1 y[n−1] − a2 y[n−2]. */
export interface Biquad {
  readonly b: readonly [number, number, number];
  readonly a: readonly [1, number, number];
}

/**
 * Second-order Butterworth low-pass by the bilinear transform with pre-warping, as MATLAB's
 * `butter(2, fc / (fs / 2))` and scipy's `butter(2, fc, fs=fs)` compute it (e.g. fs 30 Hz, fc 0.6 Hz:
 * b = [0.0036217, 0.0072434, 0.0036217], a = [1, −1.8226949, 0.8371817]).
 */
export function butterworth2LowPass(cutoffHz: number, sampleRateHz: number): Biquad {
  if (!(cutoffHz > 0) || !(sampleRateHz > 0) || cutoffHz >= sampleRateHz / 2)
    throw new RangeError(
      `cut-off ${cutoffHz} Hz must lie in (0, ${sampleRateHz / 2}) for ${sampleRateHz} Hz`,
    );
  const k = Math.tan((Math.PI * cutoffHz) / sampleRateHz);
  const k2 = k * k;
  const norm = 1 / (1 + Math.SQRT2 * k + k2);
  const b0 = k2 * norm;
  return { b: [b0, 2 * b0, b0], a: [1, 2 * (k2 - 1) * norm, (1 - Math.SQRT2 * k + k2) * norm] };
}

/** Direct form II transposed, starting from state (z1, z2); returns the filtered copy. */
function lfilter(f: Biquad, x: Float64Array, z1: number, z2: number): Float64Array {
  const [b0, b1, b2] = f.b;
  const a1 = f.a[1];
  const a2 = f.a[2];
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const yi = b0 * xi + z1;
    z1 = b1 * xi - a1 * yi + z2;
    z2 = b2 * xi - a2 * yi;
    y[i] = yi;
  }
  return y;
}

/** Steady-state state of the DF-II-T filter for a unit step (scipy's lfilter_zi). */
function steadyState(f: Biquad): [number, number] {
  const [b0, b1, b2] = f.b;
  const a1 = f.a[1];
  const a2 = f.a[2];
  const gain = (b0 + b1 + b2) / (1 + a1 + a2);
  const z2 = b2 - a2 * gain;
  const z1 = b1 - a1 * gain + z2;
  return [z1, z2];
}

/** Pad length MATLAB's filtfilt uses for a biquad: 3 × (filter order). */
export const FILTFILT_PAD = 6;

/**
 * Zero-phase filtering (forward, then backward), as MATLAB's `filtfilt` and scipy's
 * `filtfilt(b, a, x, padtype='odd', padlen=6)`: odd reflection of 6 samples at each end and steady-state
 * initial conditions scaled by the first sample of each pass. Needs x.length > 6.
 */
export function filtfilt(f: Biquad, x: Float64Array): Float64Array {
  const n = x.length;
  const p = FILTFILT_PAD;
  if (n <= p) throw new RangeError(`filtfilt needs more than ${p} samples, got ${n}`);
  const ext = new Float64Array(n + 2 * p);
  const first = x[0]!;
  const last = x[n - 1]!;
  for (let i = 0; i < p; i++) ext[i] = 2 * first - x[p - i]!;
  ext.set(x, p);
  for (let i = 0; i < p; i++) ext[n + p + i] = 2 * last - x[n - 2 - i]!;
  const [z1, z2] = steadyState(f);
  const fwd = lfilter(f, ext, z1 * ext[0]!, z2 * ext[0]!);
  fwd.reverse();
  const back = lfilter(f, fwd, z1 * fwd[0]!, z2 * fwd[0]!);
  back.reverse();
  return back.slice(p, p + n);
}

/**
 * Savitzky–Golay first derivative (polynomial order 1 or 2, which give the same derivative) over 2m + 1
 * points: x'(i) = Σ_{k=−m..m} k·x(i+k) / (Σ k²) / dt. Exact for quadratics. Returns the derivative at
 * i = m .. n−m−1 (length n − 2m; empty if n < 2m + 1).
 */
export function savitzkyGolayDerivative(x: Float64Array, halfWidth: number, dtS: number): Float64Array {
  const m = halfWidth;
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`half width must be an integer ≥ 1, got ${m}`);
  const n = x.length;
  if (n < 2 * m + 1) return new Float64Array(0);
  const denom = ((m * (m + 1) * (2 * m + 1)) / 3) * dtS;
  const out = new Float64Array(n - 2 * m);
  for (let i = m; i < n - m; i++) {
    let s = 0;
    for (let k = 1; k <= m; k++) s += k * (x[i + k]! - x[i - k]!);
    out[i - m] = s / denom;
  }
  return out;
}

/** Linear-interpolation percentile (numpy's default, "type 7"), p in [0, 100]; NaN for no data. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}
