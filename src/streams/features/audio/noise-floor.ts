/**
 * Causal noise-floor tracking per frequency bin and the a posteriori SNR it gives, for the speech model's
 * noise-aware input (docs/models/speech.md, "Noise-aware input").
 *
 * Per bin k, from ln power frames x_t[k] = ln(|X_t[k]|² + ε) (stft.ts):
 * - smoothed power P̄_t = β·P̄_{t−1} + (1 − β)·e^{x_t} (β = `smoothing`, P̄_0 = e^{x_0});
 * - noise floor N̂_t = the minimum of P̄ over the last `windowS` seconds (minimum statistics, Martin 2001,
 *   "Noise power spectral density estimation based on optimal smoothing and minimum statistics"), tracked
 *   with `subwindows` sub-windows of V = round(windowS·rate / subwindows) frames: the minima of the last
 *   `subwindows` completed sub-windows and of the current one, so each frame costs O(bins) and the window
 *   spans between subwindows·V and (subwindows + 1)·V frames. No bias correction: the model consuming the
 *   feature is trained on exactly this estimate;
 * - a posteriori SNR s_t[k] = x_t[k] − ln N̂_t[k] (ln-power units, ≥ about 0 in noise, large in speech).
 *
 * s is invariant to the recording level (a gain multiplies P̄ and N̂ alike), and a speech burst shorter than
 * the window does not raise N̂. The state starts empty (the first frame sets it) and is carried across
 * chunks, like the running normaliser: it describes the cabin, not a segment.
 */

export interface NoiseFloorOptions {
  readonly bins: number;
  /** Frame rate, frames/s (16,000 / hop). */
  readonly frameRateHz: number;
  /** Minimum-statistics window, s (default 1.5). */
  readonly windowS?: number;
  /** Sub-windows the window is tracked in (default 8). */
  readonly subwindows?: number;
  /** Power smoothing β in [0, 1) (default 0.9: ≈ 10 frames, 80 ms at 125 frames/s). */
  readonly smoothing?: number;
}

/** The parameters as stored with a model (sidecar). */
export interface NoiseFloorParams {
  readonly windowS: number;
  readonly subwindows: number;
  readonly smoothing: number;
}

export const DEFAULT_NOISE_FLOOR: NoiseFloorParams = { windowS: 1.5, subwindows: 8, smoothing: 0.9 };

/** Checks parameters (a RangeError naming the bad one). */
export function checkNoiseFloorParams(p: NoiseFloorParams): NoiseFloorParams {
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!(num(p.windowS) && p.windowS > 0))
    throw new RangeError(`noise floor: windowS ${String(p.windowS)} must be a number > 0`);
  if (!Number.isInteger(p.subwindows) || p.subwindows < 1 || p.subwindows > MAX_SUBWINDOWS)
    throw new RangeError(
      `noise floor: subwindows ${String(p.subwindows)} must be an integer in [1, ${MAX_SUBWINDOWS}]`,
    );
  if (!(num(p.smoothing) && p.smoothing >= 0 && p.smoothing < 1))
    throw new RangeError(`noise floor: smoothing ${String(p.smoothing)} must be a number in [0, 1)`);
  return p;
}

/** Upper bound of `subwindows` (each costs bins values of state and a compare per bin and frame). */
export const MAX_SUBWINDOWS = 64;

/** A copy of a tracker's state (`snapshot` / `restore`). */
export interface NoiseFloorState {
  readonly smoothed: Float64Array;
  readonly current: Float64Array;
  readonly ring: Float64Array;
  readonly counters: readonly [ringCount: number, ringNext: number, inSubwindow: number, frames: number];
}

/** See the file comment. One instance per stream. */
export class NoiseFloorTracker {
  readonly bins: number;
  /** Frames per sub-window (V). */
  readonly subwindowFrames: number;
  private readonly params: NoiseFloorParams;
  private readonly smoothed: Float64Array;
  private readonly current: Float64Array;
  /** Minima of the last `subwindows` completed sub-windows, ring of subwindows × bins. */
  private readonly ring: Float64Array;
  private ringCount = 0;
  private ringNext = 0;
  private inSubwindow = 0;
  private frames = 0;

  constructor(options: NoiseFloorOptions) {
    const { bins, frameRateHz } = options;
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`noise floor: ${bins} bins`);
    if (!(frameRateHz > 0)) throw new RangeError(`noise floor: frame rate ${frameRateHz}`);
    this.params = checkNoiseFloorParams({
      windowS: options.windowS ?? DEFAULT_NOISE_FLOOR.windowS,
      subwindows: options.subwindows ?? DEFAULT_NOISE_FLOOR.subwindows,
      smoothing: options.smoothing ?? DEFAULT_NOISE_FLOOR.smoothing,
    });
    this.bins = bins;
    this.subwindowFrames = Math.max(
      1,
      Math.round((this.params.windowS * frameRateHz) / this.params.subwindows),
    );
    this.smoothed = new Float64Array(bins);
    this.current = new Float64Array(bins).fill(Infinity);
    this.ring = new Float64Array(bins * this.params.subwindows);
  }

  /** Frames seen. */
  get count(): number {
    return this.frames;
  }

  /**
   * Takes ln power frame x_t (bins values) and returns s_t = x_t − ln N̂_t (a new array). Non-finite inputs
   * are the caller's to prevent (the enhancer conditions its audio first); a non-finite x gives a non-finite s.
   * `hold`: s against the current floor, the state left as it is (frames of concealed audio — zeros filling a
   * gap, or the STFT's zero padding at a stream's start — must not pull the floor down); before the first
   * unheld frame there is no floor, and a held frame scores 0 (as a first frame does).
   */
  push(x: ArrayLike<number>, hold = false): Float32Array {
    const bins = this.bins;
    if (x.length !== bins) throw new RangeError(`noise floor: frame of ${x.length} values, want ${bins}`);
    if (hold) return this.frames > 0 ? this.held(x) : new Float32Array(bins);
    const beta = this.params.smoothing;
    const u = this.params.subwindows;
    const out = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      const p = Math.exp(x[k]!);
      const s = this.frames === 0 ? p : beta * this.smoothed[k]! + (1 - beta) * p;
      this.smoothed[k] = s;
      if (s < this.current[k]!) this.current[k] = s;
      let floor = this.current[k]!;
      for (let j = 0; j < this.ringCount; j++) {
        const m = this.ring[j * bins + k]!;
        if (m < floor) floor = m;
      }
      out[k] = x[k]! - Math.log(floor);
    }
    this.frames++;
    if (++this.inSubwindow === this.subwindowFrames) {
      this.ring.set(this.current, this.ringNext * bins);
      this.ringNext = (this.ringNext + 1) % u;
      this.ringCount = Math.min(u, this.ringCount + 1);
      this.current.fill(Infinity);
      this.inSubwindow = 0;
    }
    return out;
  }

  /** A copy of the state, to `restore` later. */
  snapshot(): NoiseFloorState {
    return {
      smoothed: this.smoothed.slice(),
      current: this.current.slice(),
      ring: this.ring.slice(),
      counters: [this.ringCount, this.ringNext, this.inSubwindow, this.frames],
    };
  }

  /** Puts back a state from `snapshot` of this tracker. */
  restore(s: NoiseFloorState): void {
    if (s.smoothed.length !== this.bins || s.ring.length !== this.ring.length)
      throw new RangeError('noise floor: the state is of another tracker');
    this.smoothed.set(s.smoothed);
    this.current.set(s.current);
    this.ring.set(s.ring);
    [this.ringCount, this.ringNext, this.inSubwindow, this.frames] = s.counters;
  }

  private held(x: ArrayLike<number>): Float32Array {
    const bins = this.bins;
    const out = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      let floor = this.current[k]!;
      for (let j = 0; j < this.ringCount; j++) floor = Math.min(floor, this.ring[j * bins + k]!);
      out[k] = x[k]! - Math.log(floor);
    }
    return out;
  }
}

/** s_t for every frame of frame-major ln power `logPower` (T × bins), with a fresh tracker. */
export function aPosterioriSnrFrames(logPower: Float32Array, options: NoiseFloorOptions): Float32Array {
  const bins = options.bins;
  if (logPower.length % bins !== 0)
    throw new RangeError(`noise floor: ${logPower.length} values are not frames of ${bins} bins`);
  const tracker = new NoiseFloorTracker(options);
  const out = new Float32Array(logPower.length);
  for (let o = 0; o < logPower.length; o += bins) out.set(tracker.push(logPower.subarray(o, o + bins)), o);
  return out;
}
