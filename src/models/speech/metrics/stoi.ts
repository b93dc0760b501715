/**
 * STOI and ESTOI: intrusive speech-intelligibility predictors (clean reference vs processed signal).
 *
 * - STOI: C. H. Taal, R. C. Hendriks, R. Heusdens, J. Jensen, "An Algorithm for Intelligibility Prediction
 *   of Time–Frequency Weighted Noisy Speech", IEEE TASLP 19(7), 2011.
 * - ESTOI (`extended: true`): J. Jensen, C. H. Taal, "An Algorithm for Predicting the Intelligibility of
 *   Speech Masked by Modulated Noise Maskers", IEEE/ACM TASLP 24(11), 2016.
 *
 * Pipeline (both), implemented from the papers' definitions with the framing conventions of the authors'
 * reference implementation (see docs/models/speech-metrics.md):
 * 1. Resample both signals to 10 kHz (the project's polyphase Kaiser resampler; its pass band reaches
 *    4.5 kHz, above the top band edge of 4.28 kHz).
 * 2. Silent-frame removal: frames of 256 samples, hop 128, Hann window (the symmetric window without its
 *    zero end points, w[i] = ½(1 − cos(2π(i+1)/257))), frame starts 0, 128, … while start < L − 256.
 *    Frame energy 20·log10(‖w·x‖ + ε) of the clean signal; frames more than 40 dB below the loudest clean
 *    frame are dropped from both signals, and the kept (windowed) frames are overlap-added back with hop 128.
 * 3. STFT of the results: the same framing and window, zero-padded to 512 points, bins 0…256.
 * 4. 15 one-third-octave bands, centres 150·2^(k/3) Hz (k = 0…14, 150 … 3810 Hz), edges at the geometric
 *    means of neighbouring centres, each edge snapped to the nearest FFT bin; band k sums bins
 *    [lo_k, hi_k). Envelope X_j(m) = √(Σ_bins |X(k, m)|²).
 * 5. Segments of N = 30 consecutive frames (384 ms), one ending at every frame from the 30th on.
 *    - STOI: per band, the processed envelope is scaled to the clean segment's energy (α = ‖x‖/‖y‖), clipped
 *      to (1 + 10^(−β/20))·x with β = −15 dB, and correlated (Pearson) with the clean envelope; d is the
 *      mean over bands and segments.
 *    - ESTOI: each 15 × 30 segment matrix is normalised to zero mean and unit norm per row (band) and then
 *      per column (frame); the segment score is (1/N)·Σ_n x̌_nᵀ y̌_n, and d the mean over segments. No
 *      clipping.
 *
 * Divisions are guarded with ε = `Number.EPSILON` added to norms (the reference code gives NaN on an
 * all-zero band segment; here such a band contributes 0). Throws a RangeError when the lengths differ or
 * fewer than 30 frames remain after silence removal (≈ 0.4 s of speech at 10 kHz).
 */
import { createRealFft } from '../../../streams/features/audio/fft.ts';
import { resample } from '../../../streams/features/audio/resample.ts';

export type AudioSignal = Float32Array | Float64Array;

export interface StoiOptions {
  /** ESTOI (Jensen & Taal 2016) instead of STOI (default false). */
  readonly extended?: boolean;
}

/** Internal rate, Hz. */
export const STOI_RATE_HZ = 10_000;
/** Frame length and hop (samples at 10 kHz), FFT size. */
export const STOI_FRAME = 256;
export const STOI_HOP = 128;
export const STOI_FFT_SIZE = 512;
/** Number of one-third-octave bands and the centre of the first, Hz. */
export const STOI_BANDS = 15;
export const STOI_MIN_CENTRE_HZ = 150;
/** Frames per segment (N = 30: 384 ms). */
export const STOI_SEGMENT = 30;
/** Lower signal-to-distortion bound of the clipping, dB. */
export const STOI_BETA_DB = -15;
/** Frames this far (dB) below the loudest clean frame count as silence. */
export const STOI_DYNAMIC_RANGE_DB = 40;

const EPS = Number.EPSILON;

/** Symmetric Hann window of n points without its zero end points (the reference's `hanning(n)`). */
export function stoiWindow(n: number = STOI_FRAME): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 * (1 - Math.cos((2 * Math.PI * (i + 1)) / (n + 1)));
  return w;
}

const WINDOW = stoiWindow();

/** Frame starts 0, hop, … while start < length − frame (the reference framing: a final exact fit is not used). */
function frameStarts(length: number): number {
  return length > STOI_FRAME ? Math.floor((length - STOI_FRAME - 1) / STOI_HOP) + 1 : 0;
}

export interface ThirdOctaveBands {
  /** Centre frequencies, Hz. */
  readonly centresHz: Float64Array;
  /** First FFT bin of each band (inclusive) and the bin after its last (exclusive). */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

/** The one-third-octave band → FFT bin map (step 4 of the file comment). */
export function thirdOctaveBands(
  rateHz: number = STOI_RATE_HZ,
  fftSize: number = STOI_FFT_SIZE,
  bands: number = STOI_BANDS,
  minCentreHz: number = STOI_MIN_CENTRE_HZ,
): ThirdOctaveBands {
  const bins = fftSize / 2 + 1;
  const nearest = (hz: number): number => {
    // Nearest bin; the lower bin on a tie.
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < bins; k++) {
      const d = Math.abs((k * rateHz) / fftSize - hz);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  };
  const centresHz = new Float64Array(bands);
  const lo = new Int32Array(bands);
  const hi = new Int32Array(bands);
  for (let k = 0; k < bands; k++) {
    centresHz[k] = minCentreHz * 2 ** (k / 3);
    lo[k] = nearest(minCentreHz * 2 ** ((2 * k - 1) / 6));
    hi[k] = nearest(minCentreHz * 2 ** ((2 * k + 1) / 6));
  }
  return { centresHz, lo, hi };
}

const BANDS = thirdOctaveBands();

function toRate(x: AudioSignal, rateHz: number): Float64Array {
  if (rateHz === STOI_RATE_HZ) return Float64Array.from(x);
  const f32 = x instanceof Float32Array ? x : Float32Array.from(x);
  return Float64Array.from(resample(f32, rateHz, STOI_RATE_HZ));
}

/**
 * Step 2: drops the frames of both signals where the clean one is more than `dynamicRangeDb` below its
 * loudest frame and overlap-adds the kept windowed frames. Returns equal-length signals (empty if no frame).
 */
export function removeSilentFrames(
  clean: Float64Array,
  processed: Float64Array,
  dynamicRangeDb: number = STOI_DYNAMIC_RANGE_DB,
): { clean: Float64Array; processed: Float64Array } {
  const frames = frameStarts(clean.length);
  const energyDb = new Float64Array(frames);
  let maxDb = -Infinity;
  for (let f = 0; f < frames; f++) {
    const s = f * STOI_HOP;
    let e = 0;
    for (let i = 0; i < STOI_FRAME; i++) {
      const v = clean[s + i]! * WINDOW[i]!;
      e += v * v;
    }
    const db = 20 * Math.log10(Math.sqrt(e) + EPS);
    energyDb[f] = db;
    if (db > maxDb) maxDb = db;
  }
  const kept: number[] = [];
  for (let f = 0; f < frames; f++) if (energyDb[f]! - maxDb + dynamicRangeDb > 0) kept.push(f);
  const length = kept.length === 0 ? 0 : (kept.length - 1) * STOI_HOP + STOI_FRAME;
  const outX = new Float64Array(length);
  const outY = new Float64Array(length);
  kept.forEach((f, j) => {
    const si = f * STOI_HOP;
    const so = j * STOI_HOP;
    for (let i = 0; i < STOI_FRAME; i++) {
      const w = WINDOW[i]!;
      outX[so + i] = outX[so + i]! + clean[si + i]! * w;
      outY[so + i] = outY[so + i]! + processed[si + i]! * w;
    }
  });
  return { clean: outX, processed: outY };
}

/** Steps 3–4: one-third-octave envelopes, band-major (`bands × frames`, row j = band j). */
export function thirdOctaveEnvelopes(x: Float64Array): { frames: number; envelopes: Float64Array } {
  const frames = frameStarts(x.length);
  const fft = createRealFft(STOI_FFT_SIZE);
  const buf = new Float64Array(STOI_FFT_SIZE);
  const re = new Float64Array(STOI_FFT_SIZE / 2 + 1);
  const im = new Float64Array(STOI_FFT_SIZE / 2 + 1);
  const env = new Float64Array(STOI_BANDS * frames);
  for (let t = 0; t < frames; t++) {
    const s = t * STOI_HOP;
    for (let i = 0; i < STOI_FRAME; i++) buf[i] = x[s + i]! * WINDOW[i]!;
    // buf[STOI_FRAME…] stays zero (zero padding).
    fft.forward(buf, re, im);
    for (let j = 0; j < STOI_BANDS; j++) {
      let p = 0;
      for (let k = BANDS.lo[j]!; k < BANDS.hi[j]!; k++) p += re[k]! * re[k]! + im[k]! * im[k]!;
      env[j * frames + t] = Math.sqrt(p);
    }
  }
  return { frames, envelopes: env };
}

/** Pearson correlation of a[0..n) and b[0..n) with ε-guarded norms. */
function correlation(a: Float64Array, b: Float64Array, n: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / ((Math.sqrt(saa) + EPS) * (Math.sqrt(sbb) + EPS));
}

/**
 * STOI's intermediate correlations summed per band (over segments), their total (summed in segment-then-band
 * order, as STOI always has, so its value does not change in the last bits), and the segment count.
 */
function stoiBandSums(
  x: Float64Array,
  y: Float64Array,
  frames: number,
  perSegment?: number[],
): { sums: Float64Array; total: number; segments: number } {
  const n = STOI_SEGMENT;
  const clip = 1 + 10 ** (-STOI_BETA_DB / 20);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const sums = new Float64Array(STOI_BANDS);
  let total = 0;
  let segments = 0;
  for (let s = 0; s + n <= frames; s++) {
    let segmentSum = 0;
    for (let j = 0; j < STOI_BANDS; j++) {
      const row = j * frames + s;
      let ex = 0;
      let ey = 0;
      for (let i = 0; i < n; i++) {
        const a = x[row + i]!;
        const b = y[row + i]!;
        xs[i] = a;
        ys[i] = b;
        ex += a * a;
        ey += b * b;
      }
      const alpha = ey > 0 ? Math.sqrt(ex / ey) : 0;
      for (let i = 0; i < n; i++) ys[i] = Math.min(alpha * ys[i]!, clip * xs[i]!);
      const c = correlation(xs, ys, n);
      sums[j]! += c;
      total += c;
      segmentSum += c;
    }
    perSegment?.push(segmentSum / STOI_BANDS);
    segments++;
  }
  return { sums, total, segments };
}

/** Row then column normalisation (zero mean, unit norm) of a bands × n matrix, in place. */
function rowColumnNormalise(m: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += m[o + c]!;
    mean /= cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      const v = m[o + c]! - mean;
      m[o + c] = v;
      ss += v * v;
    }
    const inv = 1 / (Math.sqrt(ss) + EPS);
    for (let c = 0; c < cols; c++) m[o + c] = m[o + c]! * inv;
  }
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += m[r * cols + c]!;
    mean /= rows;
    let ss = 0;
    for (let r = 0; r < rows; r++) {
      const v = m[r * cols + c]! - mean;
      m[r * cols + c] = v;
      ss += v * v;
    }
    const inv = 1 / (Math.sqrt(ss) + EPS);
    for (let r = 0; r < rows; r++) m[r * cols + c] = m[r * cols + c]! * inv;
  }
}

function estoiScore(x: Float64Array, y: Float64Array, frames: number): number {
  const n = STOI_SEGMENT;
  const xm = new Float64Array(STOI_BANDS * n);
  const ym = new Float64Array(STOI_BANDS * n);
  let sum = 0;
  let count = 0;
  for (let s = 0; s + n <= frames; s++) {
    for (let j = 0; j < STOI_BANDS; j++) {
      for (let i = 0; i < n; i++) {
        xm[j * n + i] = x[j * frames + s + i]!;
        ym[j * n + i] = y[j * frames + s + i]!;
      }
    }
    rowColumnNormalise(xm, STOI_BANDS, n);
    rowColumnNormalise(ym, STOI_BANDS, n);
    let dot = 0;
    for (let k = 0; k < xm.length; k++) dot += xm[k]! * ym[k]!;
    sum += dot / n;
    count++;
  }
  return sum / count;
}

/**
 * STOI (default) or ESTOI (`extended: true`) of `processed` against the clean reference `clean`, both at
 * `rateHz` (integer Hz; resampled to 10 kHz internally) and of equal length. Typically in [0, 1] for
 * speech (STOI of unrelated signals is near 0 and may be slightly negative); identical signals give 1.
 */
export function stoi(
  clean: AudioSignal,
  processed: AudioSignal,
  rateHz: number,
  options: StoiOptions = {},
): number {
  const { clean: ex, processed: ey, frames } = bandEnvelopes(clean, processed, rateHz, 'stoi');
  if (options.extended === true) return estoiScore(ex, ey, frames);
  const { total, segments } = stoiBandSums(ex, ey, frames);
  return total / (segments * STOI_BANDS);
}

/** Steps 1–4 for both signals, checked (see `stoi`); `who` names the caller in the errors. */
function bandEnvelopes(
  clean: AudioSignal,
  processed: AudioSignal,
  rateHz: number,
  who: string,
): { clean: Float64Array; processed: Float64Array; frames: number } {
  if (clean.length !== processed.length)
    throw new RangeError(
      `${who}: signals of ${clean.length} and ${processed.length} samples (must be equal)`,
    );
  if (!Number.isInteger(rateHz) || rateHz <= 0)
    throw new RangeError(`${who}: sample rate ${rateHz} Hz must be a positive integer`);
  const trimmed = removeSilentFrames(toRate(clean, rateHz), toRate(processed, rateHz));
  const ex = thirdOctaveEnvelopes(trimmed.clean);
  const ey = thirdOctaveEnvelopes(trimmed.processed);
  const frames = ex.frames;
  if (frames < STOI_SEGMENT)
    throw new RangeError(
      `${who}: ${frames} frames of speech after silence removal, at least ${STOI_SEGMENT} needed ` +
        `(about ${((STOI_SEGMENT + 1) * STOI_HOP + STOI_FRAME) / STOI_RATE_HZ} s of speech)`,
    );
  return { clean: ex.envelopes, processed: ey.envelopes, frames };
}

/** Per one-third-octave band (centres `thirdOctaveBands().centresHz`): what STOI averages, and the level. */
export interface StoiBandScores {
  /** Mean intermediate correlation of each band over the segments; their mean is the STOI. */
  readonly correlation: Float64Array;
  /**
   * Processed envelope energy over the clean one on the speech frames, dB (10·log10 Σ Y² / Σ X²): below 0
   * the band comes out quieter than the clean speech (attenuated), above 0 louder (residual noise).
   */
  readonly levelDb: Float64Array;
}

/**
 * STOI broken down by band (a diagnostic: where a processed signal loses intelligibility); same inputs,
 * checks and steps as `stoi`.
 */
export function stoiBands(clean: AudioSignal, processed: AudioSignal, rateHz: number): StoiBandScores {
  const { clean: ex, processed: ey, frames } = bandEnvelopes(clean, processed, rateHz, 'stoiBands');
  const { sums, segments } = stoiBandSums(ex, ey, frames);
  const levelDb = new Float64Array(STOI_BANDS);
  for (let j = 0; j < STOI_BANDS; j++) {
    let px = 0;
    let py = 0;
    for (let t = j * frames; t < (j + 1) * frames; t++) {
      px += ex[t]! * ex[t]!;
      py += ey[t]! * ey[t]!;
    }
    levelDb[j] = 10 * Math.log10((py + EPS) / (px + EPS));
  }
  return { correlation: sums.map((v) => v / segments), levelDb };
}

/** Per STOI segment: what STOI averages, and how much of the segment is speech in the clean reference. */
export interface StoiSegmentScores {
  /** Per segment (30 frames, sliding by one): the mean over bands of the intermediate correlation. */
  readonly correlation: Float64Array;
  /**
   * Per segment: the fraction of its frames whose clean one-third-octave energy (all bands) is within
   * `activeRangeDb` of the loudest frame's. Near 0, the segment is a pause in which STOI compares the
   * processed signal with the clean recording's own background (frames more than 40 dB down are dropped
   * before, those between are kept).
   */
  readonly activeFraction: Float64Array;
}

/**
 * STOI broken down by segment (a diagnostic: in which stretches a processed signal loses intelligibility,
 * e.g. speech against pauses); same inputs, checks and steps as `stoi`, whose value is the mean of
 * `correlation`.
 */
export function stoiSegments(
  clean: AudioSignal,
  processed: AudioSignal,
  rateHz: number,
  activeRangeDb = 25,
): StoiSegmentScores {
  if (!(activeRangeDb > 0)) throw new RangeError(`stoiSegments: activeRangeDb ${activeRangeDb} must be > 0`);
  const { clean: ex, processed: ey, frames } = bandEnvelopes(clean, processed, rateHz, 'stoiSegments');
  const perSegment: number[] = [];
  stoiBandSums(ex, ey, frames, perSegment);
  const frameDb = new Float64Array(frames);
  let maxDb = -Infinity;
  for (let t = 0; t < frames; t++) {
    let e = 0;
    for (let j = 0; j < STOI_BANDS; j++) e += ex[j * frames + t]! ** 2;
    frameDb[t] = 10 * Math.log10(e + EPS);
    if (frameDb[t]! > maxDb) maxDb = frameDb[t]!;
  }
  const activeFraction = new Float64Array(perSegment.length);
  for (let s = 0; s < perSegment.length; s++) {
    let active = 0;
    for (let t = s; t < s + STOI_SEGMENT; t++) if (frameDb[t]! >= maxDb - activeRangeDb) active++;
    activeFraction[s] = active / STOI_SEGMENT;
  }
  return { correlation: Float64Array.from(perSegment), activeFraction };
}
