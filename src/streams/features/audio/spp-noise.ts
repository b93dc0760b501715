/**
 * Causal noise power tracking per frequency bin by speech presence probability (SPP), the alternative to the
 * minimum-statistics floor (noise-floor.ts) for the speech model's noise-aware input (docs/models/speech.md,
 * "Noise-aware input", "The SPP noise tracker"). Gerkmann & Hendriks 2012, "Unbiased MMSE-based noise power
 * estimation with low complexity and low tracking delay" (IEEE TASLP 20(4)):
 *
 * Per bin k, from the periodogram P_t[k] = e^{x_t[k]} (x the ln power of stft.ts) and the previous estimate λ:
 * - the a posteriori probability of speech presence under a fixed a priori SNR ξ_H1 (`priorDb`, 15 dB) and
 *   equal priors: p = 1 / (1 + (1 + ξ_H1)·exp(−γ·ξ_H1/(1 + ξ_H1))), γ = P_t/λ;
 * - a stagnation guard: p̄ ← 0.9·p̄ + 0.1·p, and p ≤ 0.99 while p̄ > 0.99 (so a λ that fell too low can rise);
 * - the MMSE noise periodogram E[|N|²|P] = (1 − p)·P_t + p·λ, smoothed: λ ← α·λ + (1 − α)·E (α = `smoothing`,
 *   0.98 here: car noise is steady, and on training-side material 0.98 fitted the ideal mask better than the
 *   paper's 0.8, docs/models/speech.md);
 * - a posteriori SNR s_t[k] = x_t[k] − ln λ_t (after the update, ln-power units). On steady noise E[s] ≈
 *   −0.36 where the true mean power gives −0.577 (the high draws the rule takes for speech are replaced by λ),
 *   so λ ≈ 0.8 × the mean and the a priori SNR takes `SPP_PRIOR_BIAS` = 1.25 (prior-snr.ts), as the floor's 2.
 *
 * The first `initFrames` unheld frames are taken as noise: λ is their running mean (the estimator needs a start
 * that is not a single periodogram, whose low draws the SPP rule would barely lift). A held frame (concealed
 * audio, the STFT's zero padding) is scored against the current λ and leaves the state as it is; before any
 * unheld frame it scores 0. The state is carried across chunks, like the running normaliser.
 */

export interface SppNoiseParams {
  /** Noise smoothing α in [0, 1) (default 0.98). */
  readonly smoothing: number;
  /** Fixed a priori SNR of speech presence ξ_H1, dB, in [0, 30] (default 15). */
  readonly priorDb: number;
  /** Frames averaged to start λ, integer in [1, 256] (default 8: 64 ms at hop 8 ms). */
  readonly initFrames: number;
}

export const DEFAULT_SPP_NOISE: SppNoiseParams = { smoothing: 0.98, priorDb: 15, initFrames: 8 };

/** Noise power / λ on steady noise with the default parameters (measured; see the file comment). */
export const SPP_PRIOR_BIAS = 1.25;

/** Checks parameters (a RangeError naming the bad one; numbers only, as they may come from a sidecar). */
export function checkSppNoiseParams(p: SppNoiseParams): SppNoiseParams {
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!(num(p.smoothing) && p.smoothing >= 0 && p.smoothing < 1))
    throw new RangeError(`SPP noise tracker: smoothing ${String(p.smoothing)} must be a number in [0, 1)`);
  if (!(num(p.priorDb) && p.priorDb >= 0 && p.priorDb <= 30))
    throw new RangeError(`SPP noise tracker: priorDb ${String(p.priorDb)} must be a number in [0, 30]`);
  if (!(Number.isInteger(p.initFrames) && p.initFrames >= 1 && p.initFrames <= 256))
    throw new RangeError(
      `SPP noise tracker: initFrames ${String(p.initFrames)} must be an integer in [1, 256]`,
    );
  return p;
}

/** A copy of a tracker's state (`snapshot` / `restore`). */
export interface SppNoiseState {
  readonly noise: Float64Array;
  readonly presence: Float64Array;
  readonly frames: number;
}

/** The stagnation guard's smoothing and threshold (Gerkmann & Hendriks 2012). */
const PRESENCE_SMOOTHING = 0.9;
const PRESENCE_CAP = 0.99;

/** See the file comment. One instance per stream. */
export class SppNoiseTracker {
  readonly bins: number;
  private readonly alpha: number;
  private readonly xiH1: number;
  private readonly initFrames: number;
  /** λ, linear noise power. */
  private readonly noise: Float64Array;
  /** p̄, the smoothed presence probability. */
  private readonly presence: Float64Array;
  private frames = 0;

  constructor(bins: number, params: SppNoiseParams = DEFAULT_SPP_NOISE) {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`SPP noise tracker: ${bins} bins`);
    checkSppNoiseParams(params);
    this.bins = bins;
    this.alpha = params.smoothing;
    this.xiH1 = 10 ** (params.priorDb / 10);
    this.initFrames = params.initFrames;
    this.noise = new Float64Array(bins);
    this.presence = new Float64Array(bins).fill(0.5);
  }

  /** Unheld frames seen. */
  get count(): number {
    return this.frames;
  }

  /**
   * Takes ln power frame x_t (bins values) and returns s_t = x_t − ln λ_t (a new array). Non-finite inputs are
   * the caller's to prevent, as for the minimum-statistics tracker. `hold`: see the file comment.
   */
  push(x: ArrayLike<number>, hold = false): Float32Array {
    const bins = this.bins;
    if (x.length !== bins)
      throw new RangeError(`SPP noise tracker: frame of ${x.length} values, want ${bins}`);
    const out = new Float32Array(bins);
    if (hold) {
      if (this.frames > 0) for (let k = 0; k < bins; k++) out[k] = x[k]! - Math.log(this.noise[k]!);
      return out;
    }
    const n = this.frames;
    if (n < this.initFrames) {
      for (let k = 0; k < bins; k++) {
        const lambda = (this.noise[k]! * n + Math.exp(x[k]!)) / (n + 1);
        this.noise[k] = lambda;
        out[k] = x[k]! - Math.log(lambda);
      }
    } else {
      const a = this.alpha;
      const xi = this.xiH1;
      const slope = xi / (1 + xi);
      for (let k = 0; k < bins; k++) {
        const p = Math.exp(x[k]!);
        const prev = this.noise[k]!;
        const gamma = p / prev;
        let presence = 1 / (1 + (1 + xi) * Math.exp(-Math.min(gamma * slope, 700)));
        const bar = PRESENCE_SMOOTHING * this.presence[k]! + (1 - PRESENCE_SMOOTHING) * presence;
        this.presence[k] = bar;
        if (bar > PRESENCE_CAP) presence = Math.min(presence, PRESENCE_CAP);
        const lambda = a * prev + (1 - a) * ((1 - presence) * p + presence * prev);
        this.noise[k] = lambda;
        out[k] = x[k]! - Math.log(lambda);
      }
    }
    this.frames++;
    return out;
  }

  /** A copy of the state, to `restore` later. */
  snapshot(): SppNoiseState {
    return { noise: this.noise.slice(), presence: this.presence.slice(), frames: this.frames };
  }

  /** Puts back a state from `snapshot` of this tracker. */
  restore(s: SppNoiseState): void {
    if (s.noise.length !== this.bins || s.presence.length !== this.bins)
      throw new RangeError('SPP noise tracker: the state is of another tracker');
    this.noise.set(s.noise);
    this.presence.set(s.presence);
    this.frames = s.frames;
  }
}
