/**
 * Aligned mouth crops for tests (corpus.ts `AlignedMouth`): any size and channel count, values from a
 * function of (frame, row, column, channel), some frames missing.
 */
import type { AlignedMouth } from '../../src/models/speech/corpus.ts';

/** `frames` crops of w × h × channels with value `at(f, y, x, c)`; `missing` frames are zeros. */
export function mouthOf(
  frames: number,
  w: number,
  h: number,
  channels: number,
  at: (f: number, y: number, x: number, c: number) => number,
  missing: readonly number[] = [],
): AlignedMouth {
  const frameSize = w * h * channels;
  const data = new Float32Array(frames * frameSize);
  const present = new Uint8Array(frames).fill(1);
  for (const f of missing) present[f] = 0;
  for (let f = 0; f < frames; f++)
    if (present[f] === 1)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < channels; c++)
            data[f * frameSize + (y * w + x) * channels + c] = at(f, y, x, c);
  return {
    frames,
    frameSize,
    width: w,
    height: h,
    data,
    present,
    stats: {
      frames,
      late: 0,
      duplicates: 0,
      badLength: 0,
      queries: frames,
      missing: missing.length,
      rateChanges: 0,
      fps: 25,
    },
  };
}
