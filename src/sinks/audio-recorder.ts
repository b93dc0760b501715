/**
 * Records an audio stream (e.g. `…/audio/enhanced`) into one WAV file: chunks are placed on the timeline by
 * their event times (`tUs`) from the first chunk's, so chunks that arrive out of order land where they
 * belong, gaps are silence and a repeated or overlapping chunk does not double the audio (later samples at
 * an already written position are ignored, counted). The pure part (`AudioTimeline`) holds the samples; the
 * file is written at the edge (`writeWav`). Memory is bounded by `maxSeconds` (default one hour): beyond it
 * chunks are refused, counted.
 */
import { writeWavFile } from '../streams/readers/wav.ts';

export interface AudioTimelineStats {
  readonly chunks: number;
  /** Samples placed on the timeline. */
  readonly samples: number;
  /** Samples not placed: before the first chunk, already written, or beyond `maxSeconds`. */
  readonly ignoredSamples: number;
  /** Chunks at another sample rate than the first (refused). */
  readonly rateMismatches: number;
}

export class AudioTimeline {
  private buf = new Float32Array(0);
  private written = new Uint8Array(0);
  private length = 0;
  private t0Us: number | undefined;
  private rate: number | undefined;
  private s = { chunks: 0, samples: 0, ignoredSamples: 0, rateMismatches: 0 };

  constructor(private readonly maxSeconds = 3600) {
    if (!(maxSeconds > 0)) throw new RangeError(`AudioTimeline: maxSeconds ${maxSeconds} must be > 0`);
  }

  get sampleRateHz(): number | undefined {
    return this.rate;
  }

  add(chunk: { readonly tUs: number; readonly sampleRateHz: number; readonly samples: Float32Array }): void {
    this.s.chunks++;
    if (this.rate === undefined) {
      this.rate = chunk.sampleRateHz;
      this.t0Us = chunk.tUs;
    } else if (chunk.sampleRateHz !== this.rate) {
      this.s.rateMismatches++;
      return;
    }
    const rate = this.rate;
    const start = Math.round(((chunk.tUs - this.t0Us!) / 1e6) * rate);
    const limit = Math.floor(this.maxSeconds * rate);
    const end = Math.min(start + chunk.samples.length, limit);
    this.grow(end);
    let placed = 0;
    for (let i = Math.max(0, start); i < end; i++) {
      if (this.written[i] === 1) continue;
      this.buf[i] = chunk.samples[i - start]!;
      this.written[i] = 1;
      placed++;
    }
    this.s.samples += placed;
    this.s.ignoredSamples += chunk.samples.length - placed;
    if (end > this.length) this.length = end;
  }

  /** Length of the timeline, s (0 before the first chunk). */
  get durationS(): number {
    return this.rate === undefined ? 0 : this.length / this.rate;
  }

  /** The timeline from the first chunk's time to the end of the latest sample (gaps are zeros). */
  samples(): Float32Array {
    return this.buf.slice(0, this.length);
  }

  stats(): AudioTimelineStats {
    return { ...this.s };
  }

  private grow(n: number): void {
    if (n <= this.buf.length) return;
    const size = Math.max(n, 2 * this.buf.length);
    const b = new Float32Array(size);
    b.set(this.buf);
    const w = new Uint8Array(size);
    w.set(this.written);
    this.buf = b;
    this.written = w;
  }
}

/** Writes the timeline as a 16-bit PCM WAV; false when nothing was recorded. */
export async function writeTimelineWav(path: string, timeline: AudioTimeline): Promise<boolean> {
  const rate = timeline.sampleRateHz;
  if (rate === undefined) return false;
  await writeWavFile(path, { sampleRateHz: rate, channels: 1, samples: timeline.samples() }, 'pcm16');
  return true;
}
