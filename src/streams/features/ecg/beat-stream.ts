/**
 * Streaming QRS detection with absolute times: feed ECG chunks (samples + first-sample time + rate), get beats
 * (R-peak times in µs since the epoch). Beats are never lost or doubled at chunk borders: the detector's state
 * runs across chunks sample by sample, so any split of a stream gives the same beats as the whole (a test).
 *
 * Time convention: sample i of a chunk was taken at `tUs + i · 1e6 / rateHz`. Within a segment (a stretch of
 * contiguous, finite samples at one rate) a beat's time is that of its sample counted from the latest chunk
 * stamp at or before it (an anchor): anchor time + (index − anchor index) · 1e6 / rateHz, rounded to whole µs.
 * A chunk within `maxJitterUs` of its expected time continues the segment; if its stamp differs from the
 * expected time by 1 µs or more it becomes a new anchor, so a sensor clock drifting against its nominal rate
 * is followed without a resynchronisation, and stamps that agree with the sample clock change nothing.
 *
 * Outcomes (each counted in `counters`, none throws):
 * - NaN/±Infinity samples are a gap: the segment ends there (its pending beats are decided with the data it
 *   has) and a new one starts at the next finite sample. New segments re-learn their thresholds.
 * - A chunk starting later than the expected time by more than `maxJitterUs` (default 1.5 sample periods) is a
 *   time gap: the segment ends, a new one starts at the chunk. One starting earlier than expected overlaps
 *   what was seen: its overlapping samples are dropped (counted); a chunk wholly in the past is dropped.
 * - A rate change (to another supported rate) ends the segment and re-initialises the filters at the new rate.
 * - A rate outside 125–1000 Hz or a non-finite time: the chunk is rejected (counted, reason kept in
 *   `lastRejection`); the data it held is missing, so the next accepted chunk is a time gap.
 * - Flat line or saturation: no beats come out of a flat stretch (peaks below the detector's floor); the
 *   quality measures (quality.ts) flag such windows.
 * `detectBeats` (whole record) throws a RangeError for an unsupported rate instead.
 *
 * Beats come out in time order, each `segment`-tagged; RR intervals must not span segments (rr.ts).
 */
import type { PhysioChunk } from '../../contracts/messages.ts';
import { checkQrsRate } from './filters.ts';
import type { QrsDetection, QrsParams } from './qrs-detector.ts';
import { QrsDetector } from './qrs-detector.ts';

export interface EcgBeat {
  /** R-peak time, µs since the epoch (integer). */
  readonly tUs: number;
  /** Segment number, from 0; increments at every resynchronisation (gap, NaN run, rate change). */
  readonly segment: number;
  /** Found by search-back (below the main detection threshold). */
  readonly searchBack: boolean;
}

export interface EcgChunk {
  readonly samples: ArrayLike<number>;
  /** First sample's time, µs since the epoch. */
  readonly tUs: number;
  readonly rateHz: number;
}

export interface EcgStreamCounters {
  chunks: number;
  samples: number;
  /** NaN or infinite samples. */
  nonFiniteSamples: number;
  /** Runs of non-finite samples that interrupted a segment. */
  nonFiniteGaps: number;
  /** Chunks that started later than expected (missing data). */
  timeGaps: number;
  /** Chunks that started earlier than expected, and the samples dropped for it. */
  overlaps: number;
  overlapSamplesDropped: number;
  rateChanges: number;
  rejectedChunks: number;
  /** Segments started (resynchronisations + 1 once data has arrived). */
  segments: number;
  beats: number;
  searchBackBeats: number;
}

export interface EcgBeatStreamOptions {
  readonly params?: Partial<QrsParams>;
  /** Largest |chunk time − expected time| treated as continuous, µs (default 1.5 sample periods). */
  readonly maxJitterUs?: number;
}

interface Anchor {
  /** Segment sample index. */
  readonly k: number;
  readonly tUs: number;
}

interface Segment {
  readonly detector: QrsDetector;
  readonly rateHz: number;
  readonly periodUs: number;
  readonly number: number;
  /** Chunk stamps, ascending in k; anchors[0] is the segment's first sample. */
  readonly anchors: Anchor[];
}

/** Anchors kept per segment at most (beats are decided within seconds; older anchors are pruned). */
const MAX_ANCHORS = 4096;

export class EcgBeatStream {
  readonly counters: EcgStreamCounters = {
    chunks: 0,
    samples: 0,
    nonFiniteSamples: 0,
    nonFiniteGaps: 0,
    timeGaps: 0,
    overlaps: 0,
    overlapSamplesDropped: 0,
    rateChanges: 0,
    rejectedChunks: 0,
    segments: 0,
    beats: 0,
    searchBackBeats: 0,
  };
  /** Why the last chunk was rejected, if any was. */
  lastRejection: string | undefined;
  private seg: Segment | undefined;
  /** Expected time of the next sample, µs (NaN before the first chunk). */
  private nextUs = NaN;
  private lastRate = NaN;
  private readonly detections: QrsDetection[] = [];

  constructor(private readonly options: EcgBeatStreamOptions = {}) {}

  /** Feeds one chunk; returns the beats decided so far that were not returned before, in time order. */
  push(chunk: EcgChunk): EcgBeat[] {
    const c = this.counters;
    c.chunks++;
    const out: EcgBeat[] = [];
    const { rateHz, tUs } = chunk;
    try {
      checkQrsRate(rateHz);
    } catch (e) {
      return this.reject((e as Error).message, out);
    }
    if (!Number.isFinite(tUs)) return this.reject(`chunk time ${tUs} is not finite`, out);
    let samples = chunk.samples;
    let startUs = tUs;
    const periodUs = 1e6 / rateHz;
    if (!Number.isNaN(this.nextUs) && rateHz !== this.lastRate) {
      c.rateChanges++;
      this.endSegment(out);
    } else if (!Number.isNaN(this.nextUs)) {
      const jitter = this.options.maxJitterUs ?? 1.5 * periodUs;
      const dt = tUs - this.nextUs;
      if (dt > jitter) {
        c.timeGaps++;
        this.endSegment(out);
      } else if (dt < -jitter) {
        c.overlaps++;
        const drop = Math.min(samples.length, Math.round(-dt / periodUs));
        c.overlapSamplesDropped += drop;
        if (drop === samples.length) return out;
        samples = subarray(samples, drop);
        startUs = tUs + drop * periodUs;
      } else if (this.seg !== undefined && Math.abs(dt) >= 1) {
        this.addAnchor(this.seg, { k: this.seg.detector.samples, tUs });
      }
    }
    this.lastRate = rateHz;
    c.samples += samples.length;
    this.feed(samples, startUs, rateHz, out);
    this.nextUs = startUs + samples.length * periodUs;
    if (this.seg !== undefined) this.nextUs = this.expectedNext(this.seg);
    return out;
  }

  /** Feeds the first ECG channel (`kind: 'ecg'`) of a physio chunk; a chunk without one yields nothing. */
  pushPhysio(chunk: PhysioChunk): EcgBeat[] {
    const ch = chunk.channels.find((x) => x.kind === 'ecg');
    if (ch === undefined) return [];
    return this.push({ samples: ch.samples, tUs: chunk.tUs, rateHz: ch.rateHz });
  }

  /** Ends the stream (or a stretch of it): decides every pending beat and returns them. */
  flush(): EcgBeat[] {
    const out: EcgBeat[] = [];
    this.endSegment(out);
    return out;
  }

  private reject(reason: string, out: EcgBeat[]): EcgBeat[] {
    this.counters.rejectedChunks++;
    this.lastRejection = reason;
    return out;
  }

  /** Time of the segment's next sample by its latest anchor. */
  private expectedNext(seg: Segment): number {
    return this.timeOf(seg, seg.detector.samples);
  }

  private timeOf(seg: Segment, k: number): number {
    const a = seg.anchors;
    let i = a.length - 1;
    while (i > 0 && a[i]!.k > k) i--;
    const anchor = a[i]!;
    return anchor.tUs + (k - anchor.k) * seg.periodUs;
  }

  private addAnchor(seg: Segment, anchor: Anchor): void {
    const a = seg.anchors;
    if (a.length > 0 && a[a.length - 1]!.k === anchor.k) a.pop();
    a.push(anchor);
    if (a.length > MAX_ANCHORS) a.splice(0, a.length - MAX_ANCHORS);
  }

  /** Splits at non-finite samples; runs of finite samples go to the current (or a new) segment. */
  private feed(x: ArrayLike<number>, startUs: number, rateHz: number, out: EcgBeat[]): void {
    const n = x.length;
    const periodUs = 1e6 / rateHz;
    let i = 0;
    while (i < n) {
      if (!Number.isFinite(x[i]!)) {
        let j = i;
        while (j < n && !Number.isFinite(x[j]!)) j++;
        this.counters.nonFiniteSamples += j - i;
        if (this.seg !== undefined) {
          this.counters.nonFiniteGaps++;
          this.endSegment(out);
        }
        // The segment that resumes after the run starts at sample j's own time.
        this.nextUs = startUs + j * periodUs;
        i = j;
        continue;
      }
      let j = i;
      while (j < n && Number.isFinite(x[j]!)) j++;
      const seg = this.seg ?? this.startSegment(startUs + i * periodUs, rateHz);
      seg.detector.process(x, i, j, this.detections);
      this.drain(seg, out);
      i = j;
    }
  }

  private startSegment(t0Us: number, rateHz: number): Segment {
    const seg: Segment = {
      detector: new QrsDetector(rateHz, this.options.params),
      rateHz,
      periodUs: 1e6 / rateHz,
      number: this.counters.segments,
      anchors: [{ k: 0, tUs: t0Us }],
    };
    this.counters.segments++;
    this.seg = seg;
    return seg;
  }

  private endSegment(out: EcgBeat[]): void {
    const seg = this.seg;
    if (seg === undefined) return;
    seg.detector.finish(this.detections);
    this.drain(seg, out);
    this.nextUs = this.expectedNext(seg);
    this.seg = undefined;
  }

  private drain(seg: Segment, out: EcgBeat[]): void {
    const d = this.detections;
    if (d.length === 0) return;
    for (let k = 0; k < d.length; k++) {
      const det = d[k]!;
      out.push({
        tUs: Math.round(this.timeOf(seg, det.index)),
        segment: seg.number,
        searchBack: det.searchBack,
      });
      this.counters.beats++;
      if (det.searchBack) this.counters.searchBackBeats++;
    }
    // Later beats have later indices: anchors before the one covering the last beat are no longer needed.
    const lastIndex = d[d.length - 1]!.index;
    const a = seg.anchors;
    let keepFrom = 0;
    while (keepFrom + 1 < a.length && a[keepFrom + 1]!.k <= lastIndex) keepFrom++;
    if (keepFrom > 0) a.splice(0, keepFrom);
    d.length = 0;
  }
}

function subarray(x: ArrayLike<number>, from: number): ArrayLike<number> {
  if (ArrayBuffer.isView(x)) return (x as unknown as Float32Array).subarray(from);
  return Array.prototype.slice.call(x, from) as number[];
}

/**
 * Whole-record detection: the streaming detector fed one chunk and flushed (so both paths agree by
 * construction). `t0Us` is the first sample's time. Throws a RangeError for a rate outside 125–1000 Hz.
 * Non-finite samples split the record into segments as in the stream.
 */
export function detectBeats(
  samples: ArrayLike<number>,
  rateHz: number,
  t0Us = 0,
  params: Partial<QrsParams> = {},
): EcgBeat[] {
  checkQrsRate(rateHz);
  const stream = new EcgBeatStream({ params });
  const beats = stream.push({ samples, tUs: t0Us, rateHz });
  for (const b of stream.flush()) beats.push(b);
  return beats;
}
