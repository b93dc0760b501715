/**
 * Augmentation of a talking-face clip's mouth crops for training (docs/models/speech-history.md, "Rules for runs 36
 * and 37"). The visual branch learns from a few clips of a few faces; a held-out face, its lighting and where
 * the tracker put the box are new to it. Each training mixture of a talking-face clip draws one transform and
 * applies it to every crop of the clip (the model input and the lip target alike):
 * - a mirror image (left–right) with probability `MOUTH_AUGMENT.mirrorProbability`;
 * - a shift of dx ∈ {−shiftX, …, shiftX}, dy ∈ {−shiftY, …, shiftY} pixels, content moving right / down for
 *   positive values, the edge pixels repeated into the uncovered border;
 * - a contrast gain c ∈ [contrast) about the clip's mean m (over its present crops) and a brightness offset
 *   b ∈ [brightness): v' = clamp((v − m)·c + m + b, 0, 1).
 * Missing crops (`present` 0, zeros) stay zeros and missing. Pure: the input is not changed.
 * Crops are `height` × `width` × channels, channel-last ('hwc', corpus.ts), channels = frameSize / (w·h).
 */
import type { SeededRandom } from '../common/rng.ts';
import type { AlignedMouth } from './corpus.ts';

export interface MouthAugmentation {
  readonly mirror: boolean;
  /** Pixels, content moves right for dx > 0. */
  readonly dx: number;
  /** Pixels, content moves down for dy > 0. */
  readonly dy: number;
  readonly contrast: number;
  readonly brightness: number;
}

/** The ranges of the rule (docs/models/speech-history.md, "Rules for runs 36 and 37"). */
export const MOUTH_AUGMENT = {
  mirrorProbability: 0.5,
  shiftX: 2,
  shiftY: 1,
  contrast: [0.75, 1.25],
  brightness: [-0.1, 0.1],
} as const;

export const IDENTITY_AUGMENTATION: MouthAugmentation = {
  mirror: false,
  dx: 0,
  dy: 0,
  contrast: 1,
  brightness: 0,
};

/** One transform from `rng`: five draws, in the order mirror, dx, dy, contrast, brightness. */
export function drawMouthAugmentation(rng: SeededRandom): MouthAugmentation {
  const a = MOUTH_AUGMENT;
  return {
    mirror: rng.next() < a.mirrorProbability,
    dx: rng.int(2 * a.shiftX + 1) - a.shiftX,
    dy: rng.int(2 * a.shiftY + 1) - a.shiftY,
    contrast: rng.uniform(a.contrast[0], a.contrast[1]),
    brightness: rng.uniform(a.brightness[0], a.brightness[1]),
  };
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** The crops of `mouth` under transform `a` (see the file comment). */
export function augmentMouth(mouth: AlignedMouth, a: MouthAugmentation): AlignedMouth {
  const { width: w, height: h, frameSize, frames } = mouth;
  const channels = frameSize / (w * h);
  if (!Number.isInteger(channels) || channels < 1)
    throw new RangeError(`mouth augmentation: frame size ${frameSize} is not ${w}×${h}×channels`);
  if (!Number.isInteger(a.dx) || !Number.isInteger(a.dy))
    throw new RangeError(`mouth augmentation: shift ${a.dx}, ${a.dy} must be whole pixels`);
  if (!(a.contrast > 0 && Number.isFinite(a.brightness)))
    throw new RangeError(`mouth augmentation: contrast ${a.contrast} must be > 0, brightness finite`);
  let sum = 0;
  let count = 0;
  for (let f = 0; f < frames; f++) {
    if (mouth.present[f] !== 1) continue;
    for (let i = f * frameSize; i < (f + 1) * frameSize; i++) sum += mouth.data[i]!;
    count += frameSize;
  }
  const mean = count > 0 ? sum / count : 0;
  // Source column and row of each output pixel: shift first, then the mirror image of the shifted crop.
  const srcX = Int32Array.from({ length: w }, (_, x) => clampIndex((a.mirror ? w - 1 - x : x) - a.dx, w));
  const srcY = Int32Array.from({ length: h }, (_, y) => clampIndex(y - a.dy, h));
  const data = new Float32Array(mouth.data.length);
  for (let f = 0; f < frames; f++) {
    if (mouth.present[f] !== 1) continue;
    const base = f * frameSize;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const from = base + (srcY[y]! * w + srcX[x]!) * channels;
        const to = base + (y * w + x) * channels;
        for (let c = 0; c < channels; c++) {
          const v = (mouth.data[from + c]! - mean) * a.contrast + mean + a.brightness;
          data[to + c] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
      }
  }
  return { ...mouth, data };
}
