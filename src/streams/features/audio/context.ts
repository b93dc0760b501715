/**
 * Context stacking of spectral frames: the model input for frame t is frames t − past … t + future, each of
 * `bins` values, concatenated oldest first (row r = frame t − past + r; 257 × 5 = 1285 values for AVDCNN).
 * At the edges the nearest real frame is repeated (frame 0 before the start, the last frame after the end).
 *
 * - AVDCNN (offline): ±2 frames, `{ past: 2, future: 2 }`: two frames of look-ahead (40 ms at hop 320).
 * - Causal (live): `{ past: 4, future: 0 }`: frames t−4..t, no look-ahead (same input size, 5 × 257).
 *
 * Streaming: `ContextStacker.push(frame)` returns the stacked input of frame t − future once frame t has
 * arrived (none for the first `future` frames); `flush()` returns the last `future` ones. The whole-array
 * `stackContext` gives exactly the same values.
 */

export interface ContextSpec {
  /** Frames before the centre frame. */
  readonly past: number;
  /** Frames after the centre frame (look-ahead). */
  readonly future: number;
}

export const AVDCNN_CONTEXT: ContextSpec = { past: 2, future: 2 };
export const CAUSAL_CONTEXT: ContextSpec = { past: 4, future: 0 };

export interface StackedFrame {
  /** Index of the centre frame. */
  readonly index: number;
  /** (past + 1 + future) × bins values, oldest frame first. */
  readonly features: Float32Array;
}

function checkSpec(spec: ContextSpec, bins: number): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 64;
  if (!ok(spec.past) || !ok(spec.future))
    throw new RangeError(`context: past ${spec.past} / future ${spec.future} frames (integers 0..64)`);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`context: ${bins} bins`);
}

/** Stacks a whole frame-major array (T × bins) into T × (past + 1 + future) × bins. */
export function stackContext(frames: Float32Array, bins: number, spec: ContextSpec): Float32Array {
  checkSpec(spec, bins);
  if (frames.length % bins !== 0)
    throw new RangeError(`context: ${frames.length} values are not frames of ${bins} bins`);
  const t = frames.length / bins;
  const rows = spec.past + 1 + spec.future;
  const out = new Float32Array(t * rows * bins);
  for (let c = 0; c < t; c++) {
    for (let r = 0; r < rows; r++) {
      const src = Math.min(t - 1, Math.max(0, c - spec.past + r));
      out.set(frames.subarray(src * bins, (src + 1) * bins), (c * rows + r) * bins);
    }
  }
  return out;
}

/** Streaming context stacking (see the file comment). One instance per stream. */
export class ContextStacker {
  readonly bins: number;
  readonly spec: ContextSpec;
  /** The last past + 1 + future frames; ring[i % size] holds frame i. */
  private readonly ring: Float32Array[];
  private count = 0;
  /** Next centre frame to emit. */
  private next = 0;

  constructor(bins: number, spec: ContextSpec) {
    checkSpec(spec, bins);
    this.bins = bins;
    this.spec = spec;
    this.ring = Array.from({ length: spec.past + 1 + spec.future }, () => new Float32Array(bins));
  }

  /** Adds frame `count` (a copy is kept); returns the stacked frame now complete, if any. */
  push(frame: ArrayLike<number>): StackedFrame[] {
    if (frame.length !== this.bins)
      throw new RangeError(`context: frame of ${frame.length} bins, expected ${this.bins}`);
    this.ring[this.count % this.ring.length]!.set(frame);
    this.count++;
    const out: StackedFrame[] = [];
    while (this.next + this.spec.future < this.count) out.push(this.stack(this.next++));
    return out;
  }

  /** Ends the stream: the stacked frames still waiting for look-ahead (last frame repeated); then resets. */
  flush(): StackedFrame[] {
    const out: StackedFrame[] = [];
    while (this.next < this.count) out.push(this.stack(this.next++));
    this.count = 0;
    this.next = 0;
    return out;
  }

  private stack(c: number): StackedFrame {
    const rows = this.ring.length;
    const bins = this.bins;
    const features = new Float32Array(rows * bins);
    for (let r = 0; r < rows; r++) {
      const src = Math.min(this.count - 1, Math.max(0, c - this.spec.past + r));
      features.set(this.ring[src % rows]!, r * bins);
    }
    return { index: c, features };
  }
}
