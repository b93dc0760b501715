/**
 * The mask's gain smoothing (`maskSmoothingBins` w, `maskSmoothingTime` β; w = 1 and β = 0: none): after the
 * strength, floor and expansion, a frame's ln gains are averaged over a centred window of w bins (truncated
 * at the edges), then smoothed over time as g_t = β·g_{t−1} + (1 − β)·d_t (causal, no delay). Averages of
 * gains within [floor, 0] stay there. Against "musical noise": isolated peaks of a per-bin gain in the
 * residual noise.
 */
import { shown } from '../../common/json.ts';

/** The widest frequency window, bins (`maskSmoothingBins`: odd, 1 = none). */
export const MASK_SMOOTHING_MAX_BINS = 15;

export type MaskSmoothingKey = 'maskSmoothingBins' | 'maskSmoothingTime';

/**
 * Why a smoothing setting is refused (undefined when it is valid): `bins` an odd integer in [1,
 * `MASK_SMOOTHING_MAX_BINS`], `time` (the one-pole coefficient β) in [0, 1).
 */
export function maskSmoothingError(key: MaskSmoothingKey, v: unknown): string | undefined {
  if (key === 'maskSmoothingBins')
    return typeof v === 'number' &&
      Number.isInteger(v) &&
      v >= 1 &&
      v <= MASK_SMOOTHING_MAX_BINS &&
      v % 2 === 1
      ? undefined
      : `maskSmoothingBins ${shown(v)} must be an odd integer in [1, ${MASK_SMOOTHING_MAX_BINS}]`;
  return typeof v === 'number' && v >= 0 && v < 1
    ? undefined
    : `maskSmoothingTime ${shown(v)} must be a number in [0, 1)`;
}

/**
 * The ln gains `gain` averaged over a centred window of `width` bins (truncated at the edges), then
 * g = β·`last` + (1 − β)·that when there is a last frame. Pure; returns a new array.
 */
export function smoothLogGain(
  gain: Float64Array,
  width: number,
  beta: number,
  last: Float64Array | null,
): Float64Array {
  const n = gain.length;
  const r = (width - 1) / 2;
  const out = new Float64Array(n);
  if (r >= 1) {
    const prefix = new Float64Array(n + 1);
    for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k]! + gain[k]!;
    for (let k = 0; k < n; k++) {
      const lo = Math.max(0, k - r);
      const hi = Math.min(n, k + r + 1);
      out[k] = (prefix[hi]! - prefix[lo]!) / (hi - lo);
    }
  } else out.set(gain);
  if (beta > 0 && last !== null) for (let k = 0; k < n; k++) out[k] = beta * last[k]! + (1 - beta) * out[k]!;
  return out;
}

/** One model's smoothing in one segment: the last frame's smoothed gains. */
export class GainSmoother {
  private last: Float64Array | null = null;

  constructor(
    readonly width: number,
    readonly beta: number,
  ) {
    for (const [key, v] of [
      ['maskSmoothingBins', width],
      ['maskSmoothingTime', beta],
    ] as const) {
      const why = maskSmoothingError(key, v);
      if (why !== undefined) throw new RangeError(`gain smoothing: ${why}`);
    }
  }

  /** False when the settings smooth nothing (w = 1, β = 0): `next` would return its input's values. */
  get active(): boolean {
    return this.width > 1 || this.beta > 0;
  }

  /** The next frame's ln gains, smoothed (a new array). */
  next(gain: Float64Array): Float64Array {
    this.last = smoothLogGain(gain, this.width, this.beta, this.last);
    return this.last;
  }

  /** Forgets the last frame (a failed model run: the next frame starts afresh). */
  reset(): void {
    this.last = null;
  }
}
