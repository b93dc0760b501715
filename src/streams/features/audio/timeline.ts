/**
 * Where an audio chunk falls on its segment's timeline: the one rule of the audio conditioner (condition.ts)
 * and the speech enhancer (models/speech/enhancer.ts). A chunk of `frames` samples at `rateHz` whose first
 * sample is at `tUs` is compared with where the segment expects it, `expectedUs` (its start plus the samples
 * so far over the rate):
 * - within ±`toleranceUs` (timestamp jitter): contiguous;
 * - later by up to `maxGapMs`: a gap of that many samples, to be filled (with zeros) so later samples keep
 *   their true times;
 * - later by more: a jump; the segment ends and a new one starts at the chunk's time;
 * - earlier, and ending within the tolerance of the expected time: a duplicate (or a stale chunk), dropped;
 * - earlier but reaching past the expected time: an overlap; its leading samples already covered are
 *   skipped (never all of them: at least its last sample is new).
 * Pure.
 */

export interface TimelineLimits {
  /** Timestamp jitter taken as contiguous, µs. */
  readonly toleranceUs: number;
  /** Longest gap filled, ms; longer ones are jumps. */
  readonly maxGapMs: number;
}

export type ChunkPlacement =
  | { readonly kind: 'contiguous' }
  | { readonly kind: 'gap'; readonly fillSamples: number }
  | { readonly kind: 'jump' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'overlap'; readonly skipSamples: number };

/** See the file comment. `frames` ≥ 1. */
export function placeChunk(
  expectedUs: number,
  tUs: number,
  frames: number,
  rateHz: number,
  limits: TimelineLimits,
): ChunkPlacement {
  const deltaUs = tUs - expectedUs;
  if (deltaUs > limits.toleranceUs)
    return deltaUs <= limits.maxGapMs * 1000
      ? { kind: 'gap', fillSamples: Math.round((deltaUs * rateHz) / 1e6) }
      : { kind: 'jump' };
  if (deltaUs < -limits.toleranceUs) {
    const endUs = tUs + (frames * 1e6) / rateHz;
    if (endUs <= expectedUs + limits.toleranceUs) return { kind: 'duplicate' };
    return { kind: 'overlap', skipSamples: Math.min(frames - 1, Math.round((-deltaUs * rateHz) / 1e6)) };
  }
  return { kind: 'contiguous' };
}
