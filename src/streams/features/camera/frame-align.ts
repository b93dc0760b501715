/**
 * Frame-rate alignment of per-camera-frame visual features (e.g. the 16×24×3 mouth crop) with the audio
 * frames, by event time.
 *
 * Time conventions (all µs since the epoch, event time):
 * - a camera frame's time is its capture time (`CameraFrame.tUs`);
 * - an audio frame's time is chosen by `audioFrameTimesUs`: by default the centre of its analysis window,
 *   t_k = audioStartUs + (k·hop + window/2) / rate (the AVDCNN set-up: 512-sample window, 320 hop at 16 kHz =
 *   50 frames/s; the live variant's 128 hop = 125 frames/s). `anchor: 'end'` gives the window's last sample
 *   instead (the earliest moment the audio frame is complete, for a strictly causal pairing).
 *
 * Modes:
 * - 'causal' (live; `CausalVisualAligner`): audio frame t gets the newest camera frame with time ≤ t
 *   (sample-and-hold), if it is at most `maxGapUs` old. Needs no future frame, adds no delay.
 * - 'linear' (offline / replay; `alignVisualFrames`): linear interpolation between the camera frames just
 *   before and just after t when they are at most `maxGapUs` apart; at the edges of a run of frames (before
 *   the first, after the last, or next to a gap) the nearest frame is held if it is within `maxGapUs / 2`.
 * Otherwise the audio frame's visual input is **missing**: `status: 'missing'`, `data` all zeros (the model's
 * "camera missing" input, which it is trained with), and counted. The output always has exactly one entry per
 * audio frame, so a stalled camera never shifts the timeline.
 *
 * Arrival order: camera frames are taken in arrival order; a frame whose time is not after the newest frame
 * accepted so far is dropped and counted (`late`; equal times: `duplicates`). A frame rate change (e.g. a
 * camera dropping from 30 to 15 fps in low light) needs no special handling in the alignment — it is by time —
 * and is detected and counted by `FrameRateMonitor` (median of the last 15 intervals moving by > 15 %).
 */

export interface VisualFrame {
  /** Capture time, µs. */
  readonly tUs: number;
  /** Features of the frame (all frames of one stream have the same length). */
  readonly data: Float32Array;
}

export type AlignedStatus = 'ok' | 'missing';

export interface AlignedVisual {
  /** The audio frame's time, µs. */
  readonly tUs: number;
  readonly status: AlignedStatus;
  /** Features at `tUs` (zeros when missing). */
  readonly data: Float32Array;
  /** Times of the camera frames used: [] (missing), [t] (held), [t0, t1] (interpolated). */
  readonly fromUs: readonly number[];
}

export interface AlignStats {
  /** Camera frames accepted. */
  frames: number;
  /** Camera frames dropped because their time was before the newest accepted one. */
  late: number;
  /** Camera frames dropped because their time equalled the newest accepted one. */
  duplicates: number;
  /** Camera frames dropped for a feature length different from the first frame's. */
  badLength: number;
  /** Audio frames answered / answered as missing. */
  queries: number;
  missing: number;
  /** Frame-rate changes seen (FrameRateMonitor). */
  rateChanges: number;
  /** Current frame-rate estimate, frames/s (NaN until two intervals are seen). */
  fps: number;
}

function newStats(): AlignStats {
  return {
    frames: 0,
    late: 0,
    duplicates: 0,
    badLength: 0,
    queries: 0,
    missing: 0,
    rateChanges: 0,
    fps: NaN,
  };
}

export interface AudioFrameGrid {
  /** Time of the audio stream's first sample, µs. */
  readonly startUs: number;
  readonly sampleRateHz: number;
  /** Hop and window, samples. */
  readonly hop: number;
  readonly window: number;
  /** 'centre' (default) or 'end' of the window (see the header). */
  readonly anchor?: 'centre' | 'end';
}

/** Times of audio frames k = first … first + count − 1 on the grid (µs, not rounded). */
export function audioFrameTimesUs(grid: AudioFrameGrid, count: number, first = 0): Float64Array {
  const { startUs, sampleRateHz, hop, window } = grid;
  if (!(sampleRateHz > 0) || !(hop > 0) || !(window > 0))
    throw new RangeError('audio grid: rate, hop and window must be > 0');
  const offset = grid.anchor === 'end' ? window - 1 : window / 2;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = startUs + (((first + i) * hop + offset) / sampleRateHz) * 1e6;
  return out;
}

/**
 * Frame-rate estimate from capture times: the median of the last `history` intervals; a change of more than
 * `tolerance` (relative) from the current estimate counts as a rate change. Robust to single dropped frames and
 * stalls (one long interval does not move a median of 15).
 */
export class FrameRateMonitor {
  private readonly intervals: number[] = [];
  private lastUs: number | undefined;
  private stableUs: number | undefined;
  changes = 0;
  constructor(
    private readonly history = 15,
    private readonly tolerance = 0.15,
  ) {}

  /** Feed a frame time (strictly increasing). Returns true when this frame confirmed a rate change. */
  push(tUs: number): boolean {
    const last = this.lastUs;
    this.lastUs = tUs;
    if (last === undefined) return false;
    this.intervals.push(tUs - last);
    if (this.intervals.length > this.history) this.intervals.shift();
    if (this.intervals.length < Math.min(5, this.history)) return false;
    const m = median(this.intervals);
    if (this.stableUs === undefined) {
      this.stableUs = m;
      return false;
    }
    if (Math.abs(m - this.stableUs) > this.tolerance * this.stableUs) {
      this.stableUs = m;
      this.changes++;
      return true;
    }
    return false;
  }

  /** Frames/s (NaN until known). */
  get fps(): number {
    const m = this.stableUs ?? (this.intervals.length > 0 ? median(this.intervals) : undefined);
    return m === undefined || m <= 0 ? NaN : 1e6 / m;
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export interface AlignOptions {
  /** Maximum age of a held frame (causal) / distance between interpolated frames (linear), µs. Default 100 ms. */
  readonly maxGapUs?: number;
}

const DEFAULT_MAX_GAP_US = 100_000;

/** Accepts frames in arrival order, dropping (and counting) late, duplicate and wrong-length ones. */
class FrameIntake {
  readonly stats = newStats();
  readonly monitor = new FrameRateMonitor();
  newestUs = -Infinity;
  size: number | undefined;

  accept(f: VisualFrame): boolean {
    if (!Number.isFinite(f.tUs) || f.tUs < this.newestUs) {
      this.stats.late++;
      return false;
    }
    if (f.tUs === this.newestUs) {
      this.stats.duplicates++;
      return false;
    }
    if (this.size !== undefined && f.data.length !== this.size) {
      this.stats.badLength++;
      return false;
    }
    this.size ??= f.data.length;
    this.newestUs = f.tUs;
    this.stats.frames++;
    this.monitor.push(f.tUs);
    this.stats.rateChanges = this.monitor.changes;
    this.stats.fps = this.monitor.fps;
    return true;
  }
}

/**
 * Live alignment: push camera frames as they arrive, ask for each audio frame when it is processed.
 * Memory: frames older than the last query minus `maxGapUs` are released (the newest of them is kept).
 */
export class CausalVisualAligner {
  private readonly intake = new FrameIntake();
  private readonly frames: VisualFrame[] = [];
  private readonly maxGapUs: number;
  private lastQueryUs = -Infinity;

  constructor(options: AlignOptions = {}) {
    this.maxGapUs = options.maxGapUs ?? DEFAULT_MAX_GAP_US;
    if (!(this.maxGapUs >= 0)) throw new RangeError(`maxGapUs ${this.maxGapUs} must be ≥ 0`);
  }

  get stats(): Readonly<AlignStats> {
    return this.intake.stats;
  }

  /** 'accepted', or why the frame was dropped. */
  push(frame: VisualFrame): 'accepted' | 'late' | 'duplicate' | 'bad-length' {
    const before = { ...this.intake.stats };
    if (this.intake.accept(frame)) {
      this.frames.push(frame);
      return 'accepted';
    }
    const s = this.intake.stats;
    return s.duplicates > before.duplicates
      ? 'duplicate'
      : s.badLength > before.badLength
        ? 'bad-length'
        : 'late';
  }

  /** The visual input for the audio frame at `tUs` (non-decreasing across calls). */
  at(tUs: number): AlignedVisual {
    if (!(tUs >= this.lastQueryUs))
      throw new RangeError(`query time ${tUs} µs is before the previous ${this.lastQueryUs}`);
    this.lastQueryUs = tUs;
    const s = this.intake.stats;
    s.queries++;
    // Newest frame at or before tUs.
    let i = this.frames.length - 1;
    while (i >= 0 && this.frames[i]!.tUs > tUs) i--;
    // Release frames that no later query can use (all but the newest one at or before tUs − maxGap).
    if (i > 0) this.frames.splice(0, i);
    const a = i >= 0 ? this.frames[0] : undefined;
    if (a !== undefined && tUs - a.tUs <= this.maxGapUs)
      return { tUs, status: 'ok', data: a.data, fromUs: [a.tUs] };
    s.missing++;
    return { tUs, status: 'missing', data: new Float32Array(this.intake.size ?? 0), fromUs: [] };
  }
}

/**
 * Offline / replay alignment of a whole sequence: `frames` in arrival order, `timesUs` the audio frame times
 * (non-decreasing). Returns one entry per audio frame and the counters. `frameSize` fixes the length of the
 * zero vector of missing entries when no frame was accepted at all.
 */
export function alignVisualFrames(
  frames: Iterable<VisualFrame>,
  timesUs: ArrayLike<number>,
  options: AlignOptions & { readonly mode?: 'causal' | 'linear'; readonly frameSize?: number } = {},
): { aligned: AlignedVisual[]; stats: AlignStats } {
  const mode = options.mode ?? 'linear';
  const maxGapUs = options.maxGapUs ?? DEFAULT_MAX_GAP_US;
  if (mode === 'causal') {
    // Same rules as live, with every frame available before the queries.
    const al = new CausalVisualAligner({ maxGapUs });
    for (const f of frames) al.push(f);
    const aligned = Array.from({ length: timesUs.length }, (_, k) => al.at(timesUs[k]!));
    return { aligned, stats: { ...al.stats } };
  }
  const intake = new FrameIntake();
  const kept: VisualFrame[] = [];
  for (const f of frames) if (intake.accept(f)) kept.push(f);
  const size = intake.size ?? options.frameSize ?? 0;
  const s = intake.stats;
  const aligned: AlignedVisual[] = [];
  let j = 0; // kept[j] is the first frame with time > t
  let prevT = -Infinity;
  for (let k = 0; k < timesUs.length; k++) {
    const t = timesUs[k]!;
    if (!(t >= prevT)) throw new RangeError(`audio frame times must be non-decreasing (index ${k})`);
    prevT = t;
    s.queries++;
    while (j < kept.length && kept[j]!.tUs <= t) j++;
    const a = j > 0 ? kept[j - 1] : undefined;
    const b = kept[j];
    if (a !== undefined && a.tUs === t) {
      aligned.push({ tUs: t, status: 'ok', data: a.data, fromUs: [a.tUs] });
    } else if (a !== undefined && b !== undefined && b.tUs - a.tUs <= maxGapUs) {
      const w = (t - a.tUs) / (b.tUs - a.tUs);
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = a.data[i]! + w * (b.data[i]! - a.data[i]!);
      aligned.push({ tUs: t, status: 'ok', data, fromUs: [a.tUs, b.tUs] });
    } else {
      const da = a === undefined ? Infinity : t - a.tUs;
      const db = b === undefined ? Infinity : b.tUs - t;
      const near = da <= db ? a : b;
      if (near !== undefined && Math.min(da, db) <= maxGapUs / 2) {
        aligned.push({ tUs: t, status: 'ok', data: near.data, fromUs: [near.tUs] });
      } else {
        s.missing++;
        aligned.push({ tUs: t, status: 'missing', data: new Float32Array(size), fromUs: [] });
      }
    }
  }
  return { aligned, stats: { ...s } };
}

/**
 * The model's visual context for audio frame `k`: frames k − before … k + after concatenated (each of the
 * frames' own layout, oldest first). Indices outside the sequence repeat the edge frame; a missing frame
 * contributes its zeros. The paper uses ±2 (5 frames); the live path (no look-ahead) uses after = 0.
 */
export function stackContext(
  seq: readonly AlignedVisual[],
  k: number,
  before = 2,
  after = 2,
): { data: Float32Array; missing: number } {
  if (seq.length === 0) throw new RangeError('stackContext: empty sequence');
  if (!Number.isInteger(k) || k < 0 || k >= seq.length)
    throw new RangeError(`stackContext: index ${k} out of range`);
  const size = seq[k]!.data.length;
  const data = new Float32Array(size * (before + after + 1));
  let missing = 0;
  for (let d = -before, o = 0; d <= after; d++, o += size) {
    const f = seq[Math.min(seq.length - 1, Math.max(0, k + d))]!;
    if (f.status === 'missing') missing++;
    data.set(f.data.length === size ? f.data : new Float32Array(size), o);
  }
  return { data, missing };
}
