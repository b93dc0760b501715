/**
 * Mean/variance normalisation per frequency bin of log power spectrum frames (units: ln power, see
 * `stft.ts`): z[k] = (x[k] − μ[k]) / σ[k], with σ floored at `stdFloor` (default 0.01 ln-power units) so a
 * constant bin (digital silence: ln ε throughout) gives 0 instead of a division by zero.
 *
 * - Per utterance (offline, the AVDCNN paper): μ, σ over all frames of the utterance (population variance).
 * - Running (causal, the live path): frame t is normalised with statistics of frames 0..t only. Exponential
 *   forgetting with time constant τ (`timeConstantS`, default 3 s): per-frame weight 1 − α, α = e^{−1/(τ·r)},
 *   r the frame rate (16,000/320 = 50 frames/s → α = 0.99336; at hop 128, 125 frames/s). During warm-up the
 *   weight is max(1 − α, 1/(t + 1)), i.e. the cumulative mean and variance of all frames so far until
 *   t + 1 ≥ 1/(1 − α) (τ·r frames, 3 s), then exponential: no bias towards zero at the start.
 *   Updates (Welford form, w the weight, d = x − μ_{t−1}): μ_t = μ_{t−1} + w·d; v_t = (1 − w)·(v_{t−1} + w·d²).
 *   The state (count, μ, v) can be read and given back to resume a stream (e.g. across a restart).
 */

/** Per-bin statistics. */
export interface BinStats {
  readonly mean: Float32Array;
  /** Standard deviation, already floored. */
  readonly std: Float32Array;
}

export const DEFAULT_STD_FLOOR = 0.01;
export const DEFAULT_TIME_CONSTANT_S = 3;

function checkFrames(frames: Float32Array, bins: number): number {
  if (!Number.isInteger(bins) || bins < 1 || frames.length % bins !== 0)
    throw new RangeError(`normalise: ${frames.length} values are not frames of ${bins} bins`);
  return frames.length / bins;
}

/** Mean and floored standard deviation per bin over frame-major `frames` (T × bins). Empty → μ 0, σ 1. */
export function utteranceStats(frames: Float32Array, bins: number, stdFloor = DEFAULT_STD_FLOOR): BinStats {
  const t = checkFrames(frames, bins);
  const mean = new Float64Array(bins);
  const sq = new Float64Array(bins);
  for (let i = 0; i < t; i++) {
    const o = i * bins;
    for (let k = 0; k < bins; k++) mean[k] = mean[k]! + frames[o + k]!;
  }
  for (let k = 0; k < bins; k++) mean[k] = t > 0 ? mean[k]! / t : 0;
  for (let i = 0; i < t; i++) {
    const o = i * bins;
    for (let k = 0; k < bins; k++) {
      const d = frames[o + k]! - mean[k]!;
      sq[k] = sq[k]! + d * d;
    }
  }
  const std = new Float32Array(bins);
  for (let k = 0; k < bins; k++) std[k] = t > 0 ? Math.max(stdFloor, Math.sqrt(sq[k]! / t)) : 1;
  return { mean: Float32Array.from(mean), std };
}

/** (x − μ)/σ per bin for every frame; returns a new frame-major array. */
export function normalizeFrames(frames: Float32Array, bins: number, stats: BinStats): Float32Array {
  const t = checkFrames(frames, bins);
  const out = new Float32Array(frames.length);
  for (let i = 0; i < t; i++) {
    const o = i * bins;
    for (let k = 0; k < bins; k++) out[o + k] = (frames[o + k]! - stats.mean[k]!) / stats.std[k]!;
  }
  return out;
}

/** x = z·σ + μ per bin for every frame (the inverse of `normalizeFrames`); returns a new array. */
export function denormalizeFrames(frames: Float32Array, bins: number, stats: BinStats): Float32Array {
  const t = checkFrames(frames, bins);
  const out = new Float32Array(frames.length);
  for (let i = 0; i < t; i++) {
    const o = i * bins;
    for (let k = 0; k < bins; k++) out[o + k] = frames[o + k]! * stats.std[k]! + stats.mean[k]!;
  }
  return out;
}

/** Per-utterance normalisation: the normalised frames and the statistics used. */
export function normalizeUtterance(
  frames: Float32Array,
  bins: number,
  stdFloor = DEFAULT_STD_FLOOR,
): { readonly normalized: Float32Array; readonly stats: BinStats } {
  const stats = utteranceStats(frames, bins, stdFloor);
  return { normalized: normalizeFrames(frames, bins, stats), stats };
}

export interface RunningNormState {
  /** Frames seen. */
  readonly count: number;
  readonly mean: Float64Array;
  /** Variance (not floored). */
  readonly variance: Float64Array;
}

export interface RunningNormOptions {
  readonly bins: number;
  /** Frame rate, frames/s (sampleRateHz / hop: 50 for 16 kHz with hop 320). */
  readonly frameRateHz: number;
  /** Time constant τ of the exponential forgetting, seconds (default 3). Infinity: cumulative. */
  readonly timeConstantS?: number;
  readonly stdFloor?: number;
  /** State to resume from (a copy is taken). */
  readonly state?: RunningNormState;
}

/** Causal running normalisation (see the file comment). One instance per stream. */
export class RunningNormalizer {
  readonly bins: number;
  /** Forgetting factor α per frame (0 with τ = Infinity means none: cumulative). */
  readonly alpha: number;
  readonly stdFloor: number;
  private count: number;
  private readonly mean: Float64Array;
  private readonly variance: Float64Array;

  constructor(options: RunningNormOptions) {
    const { bins, frameRateHz } = options;
    const tau = options.timeConstantS ?? DEFAULT_TIME_CONSTANT_S;
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`running normalisation: ${bins} bins`);
    if (!(frameRateHz > 0)) throw new RangeError(`running normalisation: frame rate ${frameRateHz}`);
    if (!(tau > 0)) throw new RangeError(`running normalisation: time constant ${tau} s`);
    this.bins = bins;
    this.alpha = Number.isFinite(tau) ? Math.exp(-1 / (tau * frameRateHz)) : 1;
    this.stdFloor = options.stdFloor ?? DEFAULT_STD_FLOOR;
    const s = options.state;
    if (s !== undefined && (s.mean.length !== bins || s.variance.length !== bins))
      throw new RangeError(`running normalisation: state of ${s.mean.length} bins, expected ${bins}`);
    this.count = s?.count ?? 0;
    this.mean = s ? Float64Array.from(s.mean) : new Float64Array(bins);
    this.variance = s ? Float64Array.from(s.variance) : new Float64Array(bins);
  }

  /** Updates the statistics with `frame` (bins values), then returns it normalised with them. */
  normalize(frame: ArrayLike<number>): Float32Array {
    this.update(frame);
    const out = new Float32Array(this.bins);
    const floor2 = this.stdFloor * this.stdFloor;
    for (let k = 0; k < this.bins; k++)
      out[k] = (frame[k]! - this.mean[k]!) / Math.sqrt(Math.max(this.variance[k]!, floor2));
    return out;
  }

  /** Folds one frame into the statistics. */
  update(frame: ArrayLike<number>): void {
    if (frame.length !== this.bins)
      throw new RangeError(`running normalisation: frame of ${frame.length} bins, expected ${this.bins}`);
    const w = Math.max(1 - this.alpha, 1 / (this.count + 1));
    const mean = this.mean;
    const variance = this.variance;
    for (let k = 0; k < this.bins; k++) {
      const d = frame[k]! - mean[k]!;
      mean[k] = mean[k]! + w * d;
      variance[k] = (1 - w) * (variance[k]! + w * d * d);
    }
    this.count++;
  }

  /** The current statistics (those applied to the latest frame), σ floored; copies. */
  stats(): BinStats {
    const std = new Float32Array(this.bins);
    for (let k = 0; k < this.bins; k++) std[k] = Math.max(this.stdFloor, Math.sqrt(this.variance[k]!));
    return { mean: Float32Array.from(this.mean), std };
  }

  /** A copy of the state, to resume later with `options.state`. */
  state(): RunningNormState {
    return { count: this.count, mean: this.mean.slice(), variance: this.variance.slice() };
  }
}

/** Causal running normalisation of a whole frame-major array: the same as a `RunningNormalizer` per frame. */
export function normalizeRunning(
  frames: Float32Array,
  options: RunningNormOptions,
): { readonly normalized: Float32Array; readonly state: RunningNormState } {
  const r = new RunningNormalizer(options);
  const bins = options.bins;
  const t = checkFrames(frames, bins);
  const out = new Float32Array(frames.length);
  for (let i = 0; i < t; i++) out.set(r.normalize(frames.subarray(i * bins, (i + 1) * bins)), i * bins);
  return { normalized: out, state: r.state() };
}
