/**
 * Causal a priori SNR per frequency bin by the decision-directed rule, for the speech model's noise-aware
 * input (docs/models/speech.md, "Noise-aware input"): a third audio channel that carries what a classical
 * estimator knows over seconds, which the model's 5 input frames (64 ms) cannot see.
 *
 * Per frame t and bin k, from the ln power x_t[k] and the a posteriori SNR s_t[k] = x_t[k] − ln N̂_t[k] of the
 * noise-floor tracker (noise-floor.ts):
 * - noise power λ_t = `bias` · N̂_t (a minimum of smoothed power lies below the mean noise power; measured on
 *   steady noise with the default tracker, E[s] ≈ 0.15 where an unbiased λ gives E[ln(P/λ)] = −0.577, so
 *   N̂ ≈ λ·e^{−0.73} and the default bias is 2);
 * - γ_t = e^{s_t}/bias = P_t/λ_t;
 * - ξ_t = max(ξ_min, α·Â²_{t−1}/λ_t + (1 − α)·max(γ_t − 1, 0)) (Ephraim & Malah 1984's decision-directed
 *   estimate; α = 0.98), with Â²_{t−1} = G²_{t−1}·P_{t−1} and the Wiener gain G = ξ/(1 + ξ) (Scalart &
 *   Vieira Filho 1996, "Speech enhancement based on a priori signal to noise estimation"). Â² starts at 0;
 * - output ln ξ_t (≥ ln ξ_min).
 *
 * Where speech is absent a spike of γ moves ξ by only (1 − α)(γ − 1), so ξ stays near ξ_min (the smoothing
 * that keeps logMMSE free of musical noise); at a speech onset ξ reaches ≈ γ − 1 within a few frames, and it
 * falls back within a few frames of the offset. It is the part of a classical estimator that the model's 5
 * input frames cannot compute from γ alone. It is invariant to the recording level (s and Â²/λ are). `hold`: the output from the current state, the state left
 * as it is (frames of concealed audio or of the STFT's zero padding).
 */

export interface PriorSnrParams {
  /** Decision-directed smoothing α in [0, 1) (default 0.98). */
  readonly alpha: number;
  /** Noise power / noise floor ratio (default 2, see the file comment). */
  readonly bias: number;
  /** ξ_min in dB (default −25). */
  readonly minDb: number;
}

export const DEFAULT_PRIOR_SNR: PriorSnrParams = { alpha: 0.98, bias: 2, minDb: -25 };

/** Checks parameters (a RangeError naming the bad one; numbers only, as they may come from a sidecar). */
export function checkPriorSnrParams(p: PriorSnrParams): PriorSnrParams {
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!(num(p.alpha) && p.alpha >= 0 && p.alpha < 1))
    throw new RangeError(`prior SNR: alpha ${String(p.alpha)} must be a number in [0, 1)`);
  if (!(num(p.bias) && p.bias >= 0.1 && p.bias <= 10))
    throw new RangeError(`prior SNR: bias ${String(p.bias)} must be a number in [0.1, 10]`);
  if (!(num(p.minDb) && p.minDb <= 0 && p.minDb >= -100))
    throw new RangeError(`prior SNR: minDb ${String(p.minDb)} must be a number in [−100, 0]`);
  return p;
}

/** See the file comment. One instance per stream, fed after its noise-floor tracker. */
export class PriorSnrTracker {
  readonly bins: number;
  private readonly alpha: number;
  private readonly lnBias: number;
  private readonly minPriori: number;
  /** Â²_{t−1}, the previous frame's estimated clean power (linear). */
  private readonly prevClean: Float64Array;

  constructor(bins: number, params: PriorSnrParams = DEFAULT_PRIOR_SNR) {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`prior SNR: ${bins} bins`);
    checkPriorSnrParams(params);
    this.bins = bins;
    this.alpha = params.alpha;
    this.lnBias = Math.log(params.bias);
    this.minPriori = 10 ** (params.minDb / 10);
    this.prevClean = new Float64Array(bins);
  }

  /** A copy of the state (Â²_{t−1}), to `restore` later. */
  snapshot(): Float64Array {
    return this.prevClean.slice();
  }

  /** Puts back a state from `snapshot`. */
  restore(s: Float64Array): void {
    if (s.length !== this.bins) throw new RangeError('prior SNR: the state is of another tracker');
    this.prevClean.set(s);
  }

  /** ln ξ_t of ln power frame x and a posteriori SNR s (noise-floor.ts), both bins values; a new array. */
  push(x: ArrayLike<number>, s: ArrayLike<number>, hold = false): Float32Array {
    const bins = this.bins;
    if (x.length !== bins || s.length !== bins)
      throw new RangeError(`prior SNR: frames of ${x.length} and ${s.length} values, want ${bins}`);
    const a = this.alpha;
    const out = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      const lnLambda = x[k]! - s[k]! + this.lnBias;
      const gamma = Math.exp(s[k]! - this.lnBias);
      const xi = Math.max(
        this.minPriori,
        a * this.prevClean[k]! * Math.exp(-lnLambda) + (1 - a) * Math.max(gamma - 1, 0),
      );
      out[k] = Math.log(xi);
      if (!hold) {
        const g = 1 / (1 + 1 / xi);
        this.prevClean[k] = g * g * Math.exp(x[k]!);
      }
    }
    return out;
  }
}
