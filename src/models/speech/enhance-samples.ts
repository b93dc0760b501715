/**
 * Whole signals through the streaming enhancer, exactly as a stream would feed it: fixed-size chunks with
 * their event times (first sample at t = 0), each mouth frame with the chunk that contains its time, then a
 * flush. Used by `drivesense enhance` and the evaluation, so both produce what the live path produces.
 * Also converts the corpus's per-video-frame mouth crops (`MouthTrack`) into the enhancer's `MouthFrame`s.
 */
import type { AlignedMouth, MouthTrack } from './corpus.ts';
import type { StreamingSpeechEnhancer } from './enhancer.ts';
import type { MouthFrame } from './camera-input.ts';
import { frameCount } from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';

/** The crops of a video's frames ('ok' ones), each at its frame time offsetS + i/fps on the audio timeline. */
export function mouthFramesFromTrack(track: MouthTrack): MouthFrame[] {
  const frames: MouthFrame[] = [];
  for (let i = 0; i < track.count; i++) {
    if (track.ok[i] !== 1) continue;
    frames.push({
      tUs: Math.round((track.offsetS + i / track.fps) * 1e6),
      data: track.data.slice(i * track.frameSize, (i + 1) * track.frameSize),
    });
  }
  return frames;
}

/**
 * Crops already aligned to the STFT frames of `stft` (corpus.ts `alignMouth`), each placed at its audio
 * frame's centre time ((t + 1)·hop − W/2 samples, as corpus.ts `stftFrameCentresUs`): the fallback when the
 * per-video-frame track is not known. Missing entries are left out.
 */
export function mouthFramesFromAligned(
  aligned: AlignedMouth,
  samples: number,
  stft: StftConfig,
): MouthFrame[] {
  const { sampleRateHz: fs, windowLength: w, hop } = stft;
  const frames: MouthFrame[] = [];
  const n = Math.min(frameCount(samples, stft), aligned.frames);
  for (let k = 0; k < n; k++) {
    if (aligned.present[k] !== 1) continue;
    frames.push({
      tUs: Math.round((((k + 1) * hop - w / 2) * 1e6) / fs),
      data: aligned.data.slice(k * aligned.frameSize, (k + 1) * aligned.frameSize),
    });
  }
  return frames;
}

/**
 * Runs `enhancer` over `samples` (16 kHz, first sample at t = 0) in chunks of `chunkSamples`, each mouth
 * frame handed over with the chunk containing its time (earlier ones with the first; frames are taken in time
 * order), then flushes.
 * Returns exactly `samples.length` enhanced samples.
 */
export async function enhanceSamples(
  enhancer: StreamingSpeechEnhancer,
  samples: Float32Array,
  chunkSamples: number,
  mouthFrames: readonly MouthFrame[] = [],
): Promise<Float32Array> {
  if (!Number.isInteger(chunkSamples) || chunkSamples < 1)
    throw new RangeError(`chunk of ${chunkSamples} samples`);
  const fs = enhancer.sampleRateHz;
  const sorted = [...mouthFrames].sort((a, b) => a.tUs - b.tUs);
  const out = new Float32Array(samples.length);
  let written = 0;
  const take = (chunks: { samples: Float32Array }[]): void => {
    for (const c of chunks) {
      const n = Math.max(0, Math.min(c.samples.length, out.length - written));
      if (n > 0) out.set(c.samples.subarray(0, n), written);
      written += c.samples.length;
    }
  };
  let m = 0;
  for (let start = 0; start < samples.length; start += chunkSamples) {
    const end = Math.min(samples.length, start + chunkSamples);
    const endUs = (end * 1e6) / fs;
    const cam: MouthFrame[] = [];
    while (m < sorted.length && sorted[m]!.tUs < endUs) cam.push(sorted[m++]!);
    take(await enhancer.push(samples.subarray(start, end), Math.round((start * 1e6) / fs), cam));
  }
  take(await enhancer.flush());
  if (written !== samples.length)
    throw new Error(`the enhancer returned ${written} samples for ${samples.length} (a bug)`);
  return out;
}
