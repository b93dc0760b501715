/**
 * The speech model's noise-aware input channels, one implementation for training (whole mixtures) and serving
 * (frame by frame): the a posteriori SNR over a causal noise estimate — the minimum-statistics floor
 * (noise-floor.ts) or, with `spp`, the speech-presence tracker (spp-noise.ts) — and, optionally, the
 * decision-directed a priori SNR (prior-snr.ts). docs/models/speech.md, "Noise-aware input".
 *
 * `startHoldFrames`: the first frames of a stream (and of every restarted STFT) cover the STFT's leading zero
 * padding (W/hop − 1 frames: 3 at 512/128): part signal, part zeros, with the onset's broadband leakage, so a
 * floor started on them is wrong for a whole tracker window (too high or too low depending on the noise's
 * spectrum; docs/models/speech.md); they are held — scored, left out of the state. 0 (the default, and what
 * models from before this field were trained with) holds none. Likewise a stream's last frames (the STFT's
 * trailing zeros at a flush) must not shape the state a later segment inherits: `snapshot` before them and
 * `restore` after.
 */
import { NoiseFloorTracker, checkNoiseFloorParams } from './noise-floor.ts';
import type { NoiseFloorParams, NoiseFloorState } from './noise-floor.ts';
import { PriorSnrTracker, checkPriorSnrParams } from './prior-snr.ts';
import type { PriorSnrParams } from './prior-snr.ts';
import { SppNoiseTracker, checkSppNoiseParams } from './spp-noise.ts';
import type { SppNoiseParams, SppNoiseState } from './spp-noise.ts';

/**
 * The minimum-statistics fields (`windowS`, `subwindows`, `smoothing`) describe the floor tracker; with `spp`
 * present the speech-presence tracker replaces it and they are unused (kept so every sidecar has one shape).
 */
export interface NoiseAwareParams extends NoiseFloorParams {
  /** Frames held at a stream's start (default 0). */
  readonly startHoldFrames?: number;
  /** Present: the noise is tracked by speech presence probability (spp-noise.ts), not minimum statistics. */
  readonly spp?: SppNoiseParams;
  /** Present: a third channel, ln ξ (prior-snr.ts). */
  readonly prior?: PriorSnrParams;
}

/** Upper bound of `startHoldFrames`. */
export const MAX_START_HOLD_FRAMES = 64;

/** Checks parameters (a RangeError naming the bad one). */
export function checkNoiseAwareParams(p: NoiseAwareParams): NoiseAwareParams {
  checkNoiseFloorParams(p);
  const h: unknown = p.startHoldFrames === undefined ? 0 : p.startHoldFrames;
  if (typeof h !== 'number' || !Number.isInteger(h) || h < 0 || h > MAX_START_HOLD_FRAMES)
    throw new RangeError(
      `noise-aware input: startHoldFrames ${String(h)} must be an integer in [0, ${MAX_START_HOLD_FRAMES}]`,
    );
  if (p.prior !== undefined) {
    if (typeof p.prior !== 'object' || p.prior === null)
      throw new RangeError(`noise-aware input: prior ${JSON.stringify(p.prior)} must be an object`);
    checkPriorSnrParams(p.prior);
  }
  if (p.spp !== undefined) {
    if (typeof p.spp !== 'object' || p.spp === null)
      throw new RangeError(`noise-aware input: spp ${JSON.stringify(p.spp)} must be an object`);
    checkSppNoiseParams(p.spp);
  }
  return p;
}

/** Channels the noise-aware input adds to the ln power: 1 (SNR) or 2 (SNR, prior SNR). */
export function noiseAwareChannels(p: NoiseAwareParams): 1 | 2 {
  return p.prior !== undefined ? 2 : 1;
}

/** Frames of the STFT's leading zero padding: ceil(W/hop) − 1. */
export function paddedStartFrames(windowLength: number, hop: number): number {
  return Math.ceil(windowLength / hop) - 1;
}

export interface NoiseAwareState {
  readonly floor: NoiseFloorState | SppNoiseState;
  readonly prior: Float64Array | undefined;
}

/** Either noise tracker, tagged so `restore` can check a state's kind. */
type Tracker =
  | { readonly kind: 'minimum'; readonly t: NoiseFloorTracker }
  | { readonly kind: 'spp'; readonly t: SppNoiseTracker };

/**
 * See the file comment. One instance per stream: it holds the first `startHoldFrames` frames after its
 * creation and after each `restart` (a new STFT), and any frame the caller says to hold.
 */
export class NoiseAwareInput {
  readonly channels: 1 | 2;
  private readonly startHoldFrames: number;
  private readonly floor: Tracker;
  private readonly prior: PriorSnrTracker | undefined;
  /** Frames pushed since creation or the last `restart`. */
  private sinceStart = 0;

  constructor(bins: number, frameRateHz: number, params: NoiseAwareParams) {
    checkNoiseAwareParams(params);
    this.floor =
      params.spp !== undefined
        ? { kind: 'spp', t: new SppNoiseTracker(bins, params.spp) }
        : { kind: 'minimum', t: new NoiseFloorTracker({ bins, frameRateHz, ...params }) };
    this.prior = params.prior !== undefined ? new PriorSnrTracker(bins, params.prior) : undefined;
    this.channels = noiseAwareChannels(params);
    this.startHoldFrames = params.startHoldFrames ?? 0;
  }

  /** A new STFT starts (a new segment): its first `startHoldFrames` frames are held; the state carries on. */
  restart(): void {
    this.sinceStart = 0;
  }

  /** A copy of the state, to `restore` later. */
  snapshot(): NoiseAwareState {
    return { floor: this.floor.t.snapshot(), prior: this.prior?.snapshot() };
  }

  /** Puts back a state from `snapshot` of this input. */
  restore(s: NoiseAwareState): void {
    const f = this.floor;
    if (f.kind === 'spp' && 'presence' in s.floor) f.t.restore(s.floor);
    else if (f.kind === 'minimum' && 'ring' in s.floor) f.t.restore(s.floor);
    else throw new RangeError('noise-aware input: the state is of another noise tracker');
    if (this.prior !== undefined && s.prior !== undefined) this.prior.restore(s.prior);
  }

  /** The added channels of ln power frame x (raw, not normalised): [s] or [s, ln ξ]. */
  push(x: ArrayLike<number>, hold = false): Float32Array[] {
    const held = hold || this.sinceStart < this.startHoldFrames;
    this.sinceStart++;
    const s = this.floor.t.push(x, held);
    return this.prior !== undefined ? [s, this.prior.push(x, s, held)] : [s];
  }
}

/**
 * The added channels of every frame of frame-major ln power (T × bins), each T × bins, from a fresh stream:
 * the first `startHoldFrames` frames held.
 */
export function noiseAwareFrames(
  logPower: Float32Array,
  bins: number,
  frameRateHz: number,
  params: NoiseAwareParams,
): Float32Array[] {
  if (logPower.length % bins !== 0)
    throw new RangeError(`noise-aware input: ${logPower.length} values are not frames of ${bins} bins`);
  const input = new NoiseAwareInput(bins, frameRateHz, params);
  const out = Array.from({ length: input.channels }, () => new Float32Array(logPower.length));
  for (let o = 0; o < logPower.length; o += bins)
    input.push(logPower.subarray(o, o + bins)).forEach((c, i) => out[i]!.set(c, o));
  return out;
}

/**
 * Channels of equal length (each frame-major, frames × bins, or one frame) interleaved per value: out[C·i + j]
 * = channels[j][i], the model's [frames][bins][C] audio layout.
 */
export function interleaveChannels(channels: readonly Float32Array[]): Float32Array {
  const c = channels.length;
  const n = channels[0]?.length ?? 0;
  if (channels.some((ch) => ch.length !== n))
    throw new RangeError('interleaveChannels: channels of different lengths');
  const out = new Float32Array(n * c);
  channels.forEach((ch, j) => {
    for (let i = 0; i < n; i++) out[c * i + j] = ch[i]!;
  });
  return out;
}
