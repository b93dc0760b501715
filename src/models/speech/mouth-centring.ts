/**
 * Centred mouth input (docs/models/speech-history.md, "Rule for runs 50 and 51"): the visual branch is given each
 * mouth crop minus a causal running mean of the crops before it, so it sees how the mouth moves, not what the
 * face, its lighting or the tracker's box look like. A still face gives zeros, the model's camera-absent
 * input (the enhancer's camera-mode strength still applies: it counts frames with a crop, not their values).
 *
 * Per audio (STFT) frame t, on the aligned crops x_t (sample-and-hold, corpus.ts `alignMouth`, or the
 * enhancer's causal aligner, which give the same sequence):
 * - a frame with a crop: m_t = x_t at the first frame of a run of frames with crops, else
 *   m_t = m_{t−1} + α·(x_t − m_{t−1}); the input is x_t − m_t;
 * - a frame without a crop: the input is zeros and the run ends (the next crop starts a new mean).
 * α = 1 − exp(−hop / τ) with τ the time constant (`timeConstantS`) and hop the STFT hop in seconds.
 * The same function serves training (`centreAlignedMouth`) and the streaming enhancer (`MouthCentring`),
 * in float32 as the model input is, so the two agree exactly.
 */
import type { AlignedMouth } from './corpus.ts';

/** The sidecar's record of a model trained on centred crops (absent: raw crops). */
export interface CentredVisualInput {
  readonly kind: 'centred';
  /** τ, seconds (> 0). */
  readonly timeConstantS: number;
}

/** The largest time constant accepted, seconds. */
export const MOUTH_CENTRING_MAX_S = 60;

/** Why `timeConstantS` cannot be a centring time constant (undefined: it can). */
export function centringError(timeConstantS: unknown): string | undefined {
  return typeof timeConstantS === 'number' && timeConstantS > 0 && timeConstantS <= MOUTH_CENTRING_MAX_S
    ? undefined
    : `visual centring time constant ${String(timeConstantS)} must be a number of seconds in (0, ${MOUTH_CENTRING_MAX_S}]`;
}

/** α of the running mean for frames `hopS` seconds apart. */
export function centringAlpha(timeConstantS: number, hopS: number): number {
  const why = centringError(timeConstantS);
  if (why !== undefined) throw new RangeError(why);
  if (!(hopS > 0 && Number.isFinite(hopS)))
    throw new RangeError(`visual centring: hop ${hopS} s must be > 0`);
  return 1 - Math.exp(-hopS / timeConstantS);
}

/** The causal running-mean state of one camera stream (see the file comment). */
export class MouthCentring {
  private readonly mean: Float32Array;
  private running = false;

  constructor(
    readonly pixels: number,
    readonly alpha: number,
  ) {
    if (!Number.isInteger(pixels) || pixels < 1) throw new RangeError(`visual centring: ${pixels} pixels`);
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`visual centring: α ${alpha} not in (0, 1]`);
    this.mean = new Float32Array(pixels);
  }

  /** The input for a frame with crop `x` (copied, not kept), or `undefined` for a frame without one. */
  next(x: ArrayLike<number> | undefined, out: Float32Array = new Float32Array(this.pixels)): Float32Array {
    if (x === undefined) {
      this.running = false;
      out.fill(0);
      return out;
    }
    if (x.length !== this.pixels)
      throw new RangeError(`visual centring: crop of ${x.length}, want ${this.pixels}`);
    const m = this.mean;
    if (!this.running) {
      m.set(x);
      this.running = true;
    } else for (let i = 0; i < m.length; i++) m[i] = m[i]! + this.alpha * (x[i]! - m[i]!);
    for (let i = 0; i < m.length; i++) out[i] = x[i]! - m[i]!;
    return out;
  }

  /** Forgets the mean (a new segment). */
  reset(): void {
    this.running = false;
  }
}

/** `mouth` with every frame centred (pure: a new object; `present` is kept). */
export function centreAlignedMouth(mouth: AlignedMouth, alpha: number): AlignedMouth {
  const { frames, frameSize } = mouth;
  const c = new MouthCentring(frameSize, alpha);
  const data = new Float32Array(frames * frameSize);
  for (let t = 0; t < frames; t++) {
    const x = mouth.present[t] === 1 ? mouth.data.subarray(t * frameSize, (t + 1) * frameSize) : undefined;
    c.next(x, data.subarray(t * frameSize, (t + 1) * frameSize));
  }
  return { ...mouth, data };
}
