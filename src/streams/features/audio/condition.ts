/**
 * Conditioning of incoming audio chunks for the speech path: validation, down-mix, concealment, resampling
 * to 16 kHz and a gap-free, never-shifted timeline. Pure: no clock, no I/O; time comes from the chunks.
 *
 * Per chunk (`AudioChunk`-shaped: interleaved Float32 samples, any rate, `tUs` = event time of the first
 * sample, µs since the epoch):
 * - refused, counted by reason, with a message (`push` returns it; the stream goes on): a rate that is not an
 *   integer in 8,000..192,000 Hz, or any rate other than 16 kHz when `rateMismatch: 'refuse'`; a bad channel
 *   count or a sample count that is not a multiple of it; a non-finite `tUs`;
 * - empty (no samples): counted, nothing else (it says nothing about the timeline);
 * - NaN/±Inf samples: replaced by 0 (silence) and counted, plus those the codec already concealed
 *   (`nonFinite`); samples with |x| ≥ `clipLevel` (0.999) counted as clipped, values beyond ±1 clamped;
 * - several channels: averaged to mono;
 * - other rates: resampled to 16 kHz (`resample.ts`: zero-phase, so no timeline shift; 80 dB stop band).
 *
 * Timeline. A segment starts at the first chunk's `tUs` (t0); input sample i of the segment is at
 * t0 + i/rate and output sample k at t0 + k/16,000 s, exactly: timestamps are never re-anchored within a
 * segment. Each chunk's `tUs` is compared with where the segment expects it, t0 + (samples so far)/rate
 * (timeline.ts `placeChunk`, the speech enhancer's rule too):
 * - within ±`toleranceUs` (default 1,000 µs; timestamp jitter): contiguous;
 * - later by up to `maxGapMs` (default 1,000 ms): a gap; that many zeros are inserted (at the input rate,
 *   through the resampler) and counted, so later samples stay at their true times;
 * - earlier, and ending within the tolerance of the expected time: a duplicate, or a stale chunk (a late one
 *   whose time was already filled with zeros, a redelivery after a reconnect): dropped, counted, however old;
 * - earlier but reaching past the expected time: an overlap; the samples already covered are trimmed, counted;
 * - a jump of more than `maxGapMs` forwards, a new publisher session (`sessionId` changed: a restart, whose
 *   clock may also have gone back) or a change of input rate: the segment ends (the resampler's tail is
 *   flushed) and a new one starts at the chunk's own `tUs` (counted). Within a session time never goes back:
 *   a source whose clock jumps backwards must start a new session (publishers do on restart).
 * If the sender's timestamps drift against its sample clock, the drift is corrected in steps (a gap fill or
 * an overlap trim) whenever it exceeds the tolerance, so the output never strays further than that.
 *
 * Latency: none at 16 kHz input; otherwise the resampler's look-ahead (3.6 ms at 44.1 kHz; `latencyUs`).
 */
import { Resampler } from './resample.ts';
import { placeChunk } from './timeline.ts';
import type { ResamplerOptions } from './resample.ts';

/** What the conditioner reads from an `AudioChunk` (src/streams/contracts/messages.ts). */
export interface AudioChunkInput {
  /** Event time of the first sample, µs since the epoch. */
  readonly tUs: number;
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved samples in [−1, 1]. */
  readonly samples: Float32Array;
  /** Non-finite samples the codec already replaced by 0. */
  readonly nonFinite?: number;
  /** Publisher session (`MessageMeta.sessionId`); absent: one session throughout. */
  readonly sessionId?: number;
}

export interface ConditionedAudio {
  /** Event time of samples[0], µs since the epoch, rounded to the µs (exact: segmentStartUs + startSample/rate). */
  readonly tUs: number;
  /** Output rate (16,000 Hz by default). */
  readonly sampleRateHz: number;
  /** Mono samples in [−1, 1]. */
  readonly samples: Float32Array;
  /** Segment number (0, 1, …): a new one after each discontinuity. */
  readonly segment: number;
  /** Event time of the segment's first sample, µs since the epoch. */
  readonly segmentStartUs: number;
  /** Index of samples[0] within the segment, at the output rate. */
  readonly startSample: number;
}

export type RefusalReason = 'rate' | 'channels' | 'length' | 'time';

export interface AudioConditionerStats {
  readonly chunks: number;
  readonly refused: Readonly<Record<RefusalReason, number>>;
  readonly empty: number;
  /** Chunks dropped because their span was already covered (duplicates, stale redeliveries). */
  readonly duplicates: number;
  /** Input samples (per channel) trimmed from chunks overlapping the covered span. */
  readonly overlapSamples: number;
  readonly gaps: number;
  /** Zeros inserted for gaps, input samples and ms. */
  readonly gapFillSamples: number;
  readonly gapFillMs: number;
  /** Segments started after a jump forwards in time beyond `maxGapMs`. */
  readonly timeJumps: number;
  /** Segments started because the publisher session changed. */
  readonly sessionChanges: number;
  /** Segments started because the input rate changed. */
  readonly rateChanges: number;
  readonly segments: number;
  readonly nonFinite: number;
  readonly clipped: number;
  /** Chunks with more than one channel (down-mixed). */
  readonly downmixed: number;
  /** Input samples per channel accepted (gap zeros excluded) and output samples produced. */
  readonly inputSamples: number;
  readonly outputSamples: number;
}

export interface AudioConditionerOptions {
  /** Output rate, Hz (default 16,000). */
  readonly outputRateHz?: number;
  /** Other input rates: resample (default) or refuse. */
  readonly rateMismatch?: 'resample' | 'refuse';
  /** Accepted input rates, Hz (default 8,000..192,000, as the audio codec). */
  readonly minInputRateHz?: number;
  readonly maxInputRateHz?: number;
  /** Largest gap filled with zeros, ms (default 1,000); longer ones start a new segment. */
  readonly maxGapMs?: number;
  /** Timestamp jitter accepted as contiguous, µs (default 1,000). */
  readonly toleranceUs?: number;
  /** |x| at or above this counts as clipped (default 0.999, as the codec). */
  readonly clipLevel?: number;
  readonly maxChannels?: number;
  readonly resampler?: Omit<ResamplerOptions, 'inputRateHz' | 'outputRateHz'>;
}

export interface PushResult {
  /** Conditioned audio, in time order (a segment's tail first when a new segment starts). */
  readonly out: ConditionedAudio[];
  /** Set when the chunk was refused: why, for the status topic. */
  readonly refused?: string;
}

interface Segment {
  readonly index: number;
  readonly sessionId: number | undefined;
  readonly t0Us: number;
  readonly inRateHz: number;
  /** Input samples fed, gap zeros included. */
  inCount: number;
  outCount: number;
  readonly resampler: Resampler | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** See the file comment. One instance per audio stream; not re-entrant. */
export class AudioConditioner {
  readonly outputRateHz: number;
  private readonly opts: Required<Omit<AudioConditionerOptions, 'resampler'>>;
  private readonly resamplerOptions: Omit<ResamplerOptions, 'inputRateHz' | 'outputRateHz'>;
  private seg: Segment | null = null;
  private readonly s: Mutable<Omit<AudioConditionerStats, 'refused'>>;
  private readonly refusedBy: Record<RefusalReason, number> = { rate: 0, channels: 0, length: 0, time: 0 };

  constructor(options: AudioConditionerOptions = {}) {
    this.opts = {
      outputRateHz: options.outputRateHz ?? 16_000,
      rateMismatch: options.rateMismatch ?? 'resample',
      minInputRateHz: options.minInputRateHz ?? 8_000,
      maxInputRateHz: options.maxInputRateHz ?? 192_000,
      maxGapMs: options.maxGapMs ?? 1_000,
      toleranceUs: options.toleranceUs ?? 1_000,
      clipLevel: options.clipLevel ?? 0.999,
      maxChannels: options.maxChannels ?? 8,
    };
    this.outputRateHz = this.opts.outputRateHz;
    if (!Number.isInteger(this.outputRateHz) || this.outputRateHz < 1)
      throw new RangeError(`audio conditioner: output rate ${this.outputRateHz} Hz`);
    if (!(this.opts.maxGapMs >= 0) || !(this.opts.toleranceUs >= 0))
      throw new RangeError('audio conditioner: maxGapMs and toleranceUs must be ≥ 0');
    this.resamplerOptions = options.resampler ?? {};
    this.s = {
      chunks: 0,
      empty: 0,
      duplicates: 0,
      overlapSamples: 0,
      gaps: 0,
      gapFillSamples: 0,
      gapFillMs: 0,
      timeJumps: 0,
      sessionChanges: 0,
      rateChanges: 0,
      segments: 0,
      nonFinite: 0,
      clipped: 0,
      downmixed: 0,
      inputSamples: 0,
      outputSamples: 0,
    };
  }

  stats(): AudioConditionerStats {
    return { ...this.s, refused: { ...this.refusedBy } };
  }

  /** The resampler look-ahead of the current segment, µs (0 at the output rate or before any input). */
  get latencyUs(): number {
    return (this.seg?.resampler?.design.latencySeconds ?? 0) * 1e6;
  }

  push(chunk: AudioChunkInput): PushResult {
    this.s.chunks++;
    const { sampleRateHz: rate, channels, samples, tUs } = chunk;
    const o = this.opts;
    if (!Number.isInteger(rate) || rate < o.minInputRateHz || rate > o.maxInputRateHz)
      return this.refuse(
        'rate',
        `audio at ${rate} Hz refused: rate outside ${o.minInputRateHz}..${o.maxInputRateHz} Hz`,
      );
    if (rate !== this.outputRateHz && o.rateMismatch === 'refuse')
      return this.refuse(
        'rate',
        `audio at ${rate} Hz refused: the speech path takes ${this.outputRateHz} Hz and resampling is off`,
      );
    if (!Number.isInteger(channels) || channels < 1 || channels > o.maxChannels)
      return this.refuse('channels', `audio with ${channels} channels refused (1..${o.maxChannels})`);
    if (samples.length % channels !== 0)
      return this.refuse(
        'length',
        `audio chunk of ${samples.length} samples is not whole ${channels}-channel frames`,
      );
    if (!Number.isFinite(tUs)) return this.refuse('time', `audio chunk with time ${tUs} refused`);
    let frames = samples.length / channels;
    if (frames === 0) {
      this.s.empty++;
      return { out: [] };
    }
    this.s.nonFinite += chunk.nonFinite ?? 0;

    const out: ConditionedAudio[] = [];
    let skip = 0; // leading frames already covered (overlap)
    let seg = this.seg;
    if (seg !== null && chunk.sessionId !== seg.sessionId) {
      this.s.sessionChanges++;
      this.endSegment(out);
      seg = null;
    } else if (seg !== null && rate !== seg.inRateHz) {
      this.s.rateChanges++;
      this.endSegment(out);
      seg = null;
    }
    if (seg !== null) {
      const place = placeChunk(seg.t0Us + (seg.inCount * 1e6) / rate, tUs, frames, rate, o);
      if (place.kind === 'gap') {
        const zeros = place.fillSamples;
        this.s.gaps++;
        this.s.gapFillSamples += zeros;
        this.s.gapFillMs += (zeros / rate) * 1000;
        this.feed(seg, new Float32Array(zeros), out);
      } else if (place.kind === 'jump') {
        this.s.timeJumps++;
        this.endSegment(out);
        seg = null;
      } else if (place.kind === 'duplicate') {
        this.s.duplicates++;
        return { out };
      } else if (place.kind === 'overlap') {
        skip = place.skipSamples;
        this.s.overlapSamples += skip;
      }
    }
    if (seg === null) seg = this.startSegment(tUs, rate, chunk.sessionId);
    frames -= skip;

    const base = skip * channels;
    const clean = sanitizeSamples(samples.subarray(base, base + frames * channels), o.clipLevel);
    let mono = clean.samples;
    if (channels > 1) {
      mono = new Float32Array(frames);
      for (let f = 0; f < frames; f++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) acc += clean.samples[f * channels + c]!;
        mono[f] = acc / channels;
      }
      this.s.downmixed++;
    }
    const { nonFinite, clipped } = clean;
    this.s.nonFinite += nonFinite;
    this.s.clipped += clipped;
    this.s.inputSamples += frames;
    this.feed(seg, mono, out);
    return { out };
  }

  /** Ends the stream: the resampler's tail of the current segment (if any). A later chunk starts a new one. */
  flush(): ConditionedAudio[] {
    const out: ConditionedAudio[] = [];
    this.endSegment(out);
    return out;
  }

  private refuse(reason: RefusalReason, message: string): PushResult {
    this.refusedBy[reason]++;
    return { out: [], refused: message };
  }

  private startSegment(t0Us: number, inRateHz: number, sessionId: number | undefined): Segment {
    const resampler =
      inRateHz === this.outputRateHz
        ? null
        : new Resampler({ ...this.resamplerOptions, inputRateHz: inRateHz, outputRateHz: this.outputRateHz });
    this.seg = { index: this.s.segments++, sessionId, t0Us, inRateHz, inCount: 0, outCount: 0, resampler };
    return this.seg;
  }

  private endSegment(out: ConditionedAudio[]): void {
    const seg = this.seg;
    if (seg === null) return;
    if (seg.resampler !== null) this.emit(seg, seg.resampler.flush(), out);
    this.seg = null;
  }

  private feed(seg: Segment, mono: Float32Array, out: ConditionedAudio[]): void {
    seg.inCount += mono.length;
    this.emit(seg, seg.resampler === null ? mono : seg.resampler.process(mono), out);
  }

  private emit(seg: Segment, samples: Float32Array, out: ConditionedAudio[]): void {
    if (samples.length === 0) return;
    const rate = this.outputRateHz;
    out.push({
      tUs: Math.round(seg.t0Us + (seg.outCount * 1e6) / rate),
      sampleRateHz: rate,
      samples,
      segment: seg.index,
      segmentStartUs: seg.t0Us,
      startSample: seg.outCount,
    });
    seg.outCount += samples.length;
    this.s.outputSamples += samples.length;
  }
}

/**
 * The sample rule of the file comment, shared with the speech enhancer: NaN/±Inf → 0 (counted), |x| ≥
 * `clipLevel` counted as clipped and values beyond ±1 clamped. Returns a new array and the counts.
 */
export function sanitizeSamples(
  input: ArrayLike<number>,
  clipLevel: number,
): { readonly samples: Float32Array; readonly nonFinite: number; readonly clipped: number } {
  const out = new Float32Array(input.length);
  let nonFinite = 0;
  let clipped = 0;
  for (let i = 0; i < input.length; i++) {
    let v = input[i]!;
    if (!Number.isFinite(v)) {
      v = 0;
      nonFinite++;
    } else if (v >= clipLevel || v <= -clipLevel) {
      clipped++;
      if (v > 1) v = 1;
      else if (v < -1) v = -1;
    }
    out[i] = v;
  }
  return { samples: out, nonFinite, clipped };
}
