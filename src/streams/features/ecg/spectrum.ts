/**
 * Welch power spectral density and band power, for HRV (RR tachogram at 4 Hz) and ECG signal quality. Pure.
 *
 * Welch (1967): periodic Hann window, 50 % overlap, each segment's mean removed, FFT length the next power
 * of two ≥ the segment (zero-padded), periodograms averaged. One-sided density in units²/Hz:
 * P[k] = c · |X[k]|² / (fs · Σ w²), c = 2 except at DC and Nyquist, so Σ P[k] · Δf equals the mean square of
 * the windowed, mean-removed segments (Parseval); for a sinusoid of amplitude A well inside a band, the band
 * power is A²/2. FFT: fft.js (radix-4, MIT).
 */
import FFT from 'fft.js';

export interface Psd {
  /** Bin frequencies, Hz: k · fs / nfft, k = 0 … nfft/2. */
  readonly freqHz: Float64Array;
  /** One-sided density, units²/Hz. */
  readonly psd: Float64Array;
  /** Bin spacing, Hz. */
  readonly dfHz: number;
  readonly segments: number;
  readonly segmentLength: number;
}

function nextPow2(n: number): number {
  let p = 4;
  while (p < n) p <<= 1;
  return p;
}

/**
 * Welch PSD of `x` sampled at `fsHz`, segments of `segmentLength` samples (shortened to x.length when x is
 * shorter) overlapping by `overlap` (fraction, default 0.5). Throws a RangeError for fewer than 4 samples.
 */
export function welchPsd(x: ArrayLike<number>, fsHz: number, segmentLength: number, overlap = 0.5): Psd {
  const n = x.length;
  if (n < 4) throw new RangeError(`Welch PSD needs ≥ 4 samples, got ${n}`);
  if (!(fsHz > 0)) throw new RangeError(`sampling rate ${fsHz} must be > 0`);
  const len = Math.max(4, Math.min(Math.floor(segmentLength), n));
  const step = Math.max(1, len - Math.floor(len * overlap));
  const nfft = nextPow2(len);
  const w = new Float64Array(len);
  let wss = 0;
  for (let i = 0; i < len; i++) {
    w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / len);
    wss += w[i]! * w[i]!;
  }
  const fft = new FFT(nfft);
  const input = new Float64Array(nfft);
  const spec = fft.createComplexArray() as number[];
  const bins = nfft / 2 + 1;
  const acc = new Float64Array(bins);
  let segments = 0;
  for (let start = 0; start + len <= n; start += step) {
    let mean = 0;
    for (let i = 0; i < len; i++) mean += x[start + i]!;
    mean /= len;
    for (let i = 0; i < len; i++) input[i] = (x[start + i]! - mean) * w[i]!;
    fft.realTransform(spec, input);
    for (let k = 0; k < bins; k++) {
      const re = spec[2 * k]!;
      const im = spec[2 * k + 1]!;
      acc[k]! += re * re + im * im;
    }
    segments++;
  }
  const psd = new Float64Array(bins);
  const freqHz = new Float64Array(bins);
  const scale = 1 / (fsHz * wss * segments);
  for (let k = 0; k < bins; k++) {
    const c = k === 0 || k === bins - 1 ? 1 : 2;
    psd[k] = c * acc[k]! * scale;
    freqHz[k] = (k * fsHz) / nfft;
  }
  return { freqHz, psd, dfHz: fsHz / nfft, segments, segmentLength: len };
}

/** Power in [loHz, hiHz): the sum of P[k] · Δf over bins with loHz ≤ f < hiHz (units²). */
export function bandPower(spectrum: Psd, loHz: number, hiHz: number): number {
  let s = 0;
  const { freqHz, psd } = spectrum;
  for (let k = 0; k < freqHz.length; k++) {
    const f = freqHz[k]!;
    if (f >= loHz && f < hiHz) s += psd[k]!;
  }
  return s * spectrum.dfHz;
}
