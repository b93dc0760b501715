/**
 * RNNoise as a peer enhancer for benchmarks and `eval speech`: J.-M. Valin, "A Hybrid DSP/Deep Learning
 * Approach to Real-Time Full-Band Speech Enhancement", MMSP 2018, run from the npm package
 * `@echogarden/rnnoise-wasm` (xiph/rnnoise compiled to WebAssembly, built-in model).
 *
 * RNNoise works at 48 kHz on frames of 480 samples (10 ms) with float samples in the int16 range
 * (±32768). The project's audio is 16 kHz in [−1, 1], so `RnnoiseStream` resamples 16 → 48 kHz with the
 * project's `Resampler` (zero-phase about the output instant: no shift of the timeline), scales by 32768,
 * runs RNNoise frame by frame, scales back, and resamples 48 → 16 kHz.
 *
 * Delay. RNNoise's analysis window spans the previous and the current frame (960 samples, 20 ms) and its
 * synthesis overlap-adds half a window, so output sample n is input sample n − 480 at 48 kHz (10 ms, one
 * frame). The stream drops the first `RNNOISE_DELAY_48K` output samples (and feeds zeros at the end to get
 * the last ones), so the output lines up sample for sample with the input: checked by cross-correlation on
 * real speech in test/models/speech-peers.test.ts (peak at lag 0 compensated, +160 samples at 16 kHz
 * without). In a live path the delay is still there: 10 ms of RNNoise plus the resamplers' look-ahead
 * (`latencySeconds` of each design); the algorithmic delay as the DNS Challenge counts it (window + hop) is
 * 20 + 10 = 30 ms.
 *
 * Lengths. The frame remainder is handled by padding the 48 kHz stream with zeros at `flush()` to whole
 * frames; the output is cut to exactly the input length. Streaming (`push` … `flush`) and whole-signal
 * (`RnnoisePeer.process`) give bit-identical outputs for any chunking: the resamplers are chunk-invariant
 * and RNNoise sees the same frames in the same order.
 *
 * Run directly for a one-off measurement (RTF on this thread, delay by cross-correlation):
 *   node --import tsx bench/speech/rnnoise.ts [speech.wav (16 kHz)]
 */
import RNNoise from '@echogarden/rnnoise-wasm';
import type { RnnoiseModule } from '@echogarden/rnnoise-wasm';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resample, Resampler } from '../../src/streams/features/audio/resample.ts';

export const RNNOISE_PACKAGE = '@echogarden/rnnoise-wasm@0.2.0';
export const RNNOISE_RATE_HZ = 48_000;
export const RNNOISE_FRAME = 480;
/** RNNoise's own delay at 48 kHz: one frame (10 ms). */
export const RNNOISE_DELAY_48K = 480;
/** int16 full scale: RNNoise expects samples in that range. */
const INT16_SCALE = 32_768;
const IO_RATE_HZ = 16_000;

let modulePromise: Promise<RnnoiseModule> | undefined;

/** The WebAssembly module, instantiated once per process. */
export function loadRnnoise(): Promise<RnnoiseModule> {
  modulePromise ??= RNNoise();
  return modulePromise;
}

/** One RNNoise state with its input/output frame buffers in the module's heap. */
class RnnoiseState {
  private state: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  /** VAD probabilities of the frames processed since the start or the last reset. */
  readonly vad: number[] = [];

  constructor(private readonly mod: RnnoiseModule) {
    const frame = mod._rnnoise_get_frame_size();
    if (frame !== RNNOISE_FRAME) throw new Error(`rnnoise: frame size ${frame}, expected ${RNNOISE_FRAME}`);
    this.state = mod._rnnoise_create(0);
    this.inPtr = mod._malloc(RNNOISE_FRAME * 4);
    this.outPtr = mod._malloc(RNNOISE_FRAME * 4);
    if (this.state === 0 || this.inPtr === 0 || this.outPtr === 0) throw new Error('rnnoise: out of memory');
  }

  /** Denoises one 480-sample frame (int16 range) in place of `out`. */
  frame(input: Float32Array, out: Float32Array): void {
    const heap = this.mod.HEAPF32; // re-read: the view changes when the heap grows
    heap.set(input, this.inPtr >> 2);
    this.vad.push(this.mod._rnnoise_process_frame(this.state, this.outPtr, this.inPtr));
    out.set(this.mod.HEAPF32.subarray(this.outPtr >> 2, (this.outPtr >> 2) + RNNOISE_FRAME));
  }

  reset(): void {
    this.mod._rnnoise_destroy(this.state);
    this.state = this.mod._rnnoise_create(0);
    this.vad.length = 0;
  }

  destroy(): void {
    this.mod._rnnoise_destroy(this.state);
    this.mod._free(this.inPtr);
    this.mod._free(this.outPtr);
    this.state = 0;
  }
}

export interface RnnoiseStreamOptions {
  /**
   * Output samples (48 kHz) dropped at the start to undo RNNoise's delay (default `RNNOISE_DELAY_48K`);
   * 0 gives RNNoise's raw timing (output late by 10 ms).
   */
  readonly delayCompensation48k?: number;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Streaming RNNoise at 16 kHz: `push(chunk)` returns the enhanced samples now complete, `flush()` ends the
 * utterance (zeros after it), returns the rest so the total equals the input length, and resets the state.
 */
export class RnnoiseStream {
  private readonly rnn: RnnoiseState;
  private readonly up = new Resampler({ inputRateHz: IO_RATE_HZ, outputRateHz: RNNOISE_RATE_HZ });
  private readonly down = new Resampler({ inputRateHz: RNNOISE_RATE_HZ, outputRateHz: IO_RATE_HZ });
  private readonly compensation: number;
  /** 48 kHz samples waiting for a whole frame (< 480). */
  private readonly pending = new Float32Array(RNNOISE_FRAME);
  private pendingLen = 0;
  private readonly frameIn = new Float32Array(RNNOISE_FRAME);
  private readonly frameOut = new Float32Array(RNNOISE_FRAME);
  /** RNNoise output samples still to drop (delay compensation). */
  private skip: number;
  /** 16 kHz samples received; 48 kHz samples passed on to the down-sampler. */
  private received = 0;
  private emitted48 = 0;

  constructor(mod: RnnoiseModule, options: RnnoiseStreamOptions = {}) {
    this.compensation = options.delayCompensation48k ?? RNNOISE_DELAY_48K;
    if (!Number.isInteger(this.compensation) || this.compensation < 0)
      throw new RangeError(`rnnoise: delay compensation ${this.compensation} must be an integer ≥ 0`);
    this.skip = this.compensation;
    this.rnn = new RnnoiseState(mod);
  }

  /** VAD probability RNNoise gave each 10 ms frame since the start or the last flush. */
  get vad(): readonly number[] {
    return this.rnn.vad;
  }

  /** Enhances a chunk of 16 kHz samples in [−1, 1]; returns the 16 kHz output now complete. */
  push(chunk: Float32Array): Float32Array {
    this.received += chunk.length;
    const y48 = this.denoise48(this.up.process(chunk), Infinity);
    return this.down.process(y48);
  }

  /** Ends the utterance: returns the remaining output (total = input length) and resets the state. */
  flush(): Float32Array {
    const total48 = 3 * this.received; // the up-sampler's output length once flushed: ceil(n·3/1)
    const parts = [this.denoise48(this.up.flush(), total48)];
    // Zeros after the end, in whole frames, until the compensated output reaches the input's length.
    const zeros = new Float32Array(RNNOISE_FRAME);
    while (this.emitted48 < total48) parts.push(this.denoise48(zeros, total48));
    const a = this.down.process(concat(parts));
    const b = this.down.flush();
    this.rnn.reset();
    this.pendingLen = 0;
    this.skip = this.compensation;
    this.received = 0;
    this.emitted48 = 0;
    return concat([a, b]);
  }

  /** Frees the RNNoise state (the stream is unusable afterwards). */
  destroy(): void {
    this.rnn.destroy();
  }

  /** Runs whole frames of `x48` (with the pending samples) through RNNoise; keeps ≤ `limit` outputs in all. */
  private denoise48(x48: Float32Array, limit: number): Float32Array {
    const frames = Math.floor((this.pendingLen + x48.length) / RNNOISE_FRAME);
    const out = new Float32Array(frames * RNNOISE_FRAME);
    let n = 0;
    let pos = 0;
    for (let f = 0; f < frames; f++) {
      const fromPending = this.pendingLen;
      const fresh = RNNOISE_FRAME - fromPending;
      for (let i = 0; i < fromPending; i++) this.frameIn[i] = this.pending[i]! * INT16_SCALE;
      for (let i = 0; i < fresh; i++) this.frameIn[fromPending + i] = x48[pos + i]! * INT16_SCALE;
      pos += fresh;
      this.pendingLen = 0;
      this.rnn.frame(this.frameIn, this.frameOut);
      let start = 0;
      if (this.skip > 0) {
        start = Math.min(this.skip, RNNOISE_FRAME);
        this.skip -= start;
      }
      for (let i = start; i < RNNOISE_FRAME && this.emitted48 < limit; i++) {
        out[n++] = this.frameOut[i]! / INT16_SCALE;
        this.emitted48++;
      }
    }
    const rest = x48.length - pos;
    this.pending.set(x48.subarray(pos), this.pendingLen);
    this.pendingLen += rest;
    return n === out.length ? out : out.slice(0, n);
  }
}

/** RNNoise on whole 16 kHz utterances (and streams of them). */
export class RnnoisePeer {
  readonly name = 'RNNoise';
  readonly version = RNNOISE_PACKAGE;
  readonly sampleRateHz = IO_RATE_HZ;

  private constructor(private readonly mod: RnnoiseModule) {}

  static async create(): Promise<RnnoisePeer> {
    return new RnnoisePeer(await loadRnnoise());
  }

  /** A new stream (its own RNNoise state); `destroy()` it when done. */
  stream(options: RnnoiseStreamOptions = {}): RnnoiseStream {
    return new RnnoiseStream(this.mod, options);
  }

  /** Enhances a whole 16 kHz utterance from a fresh state; same length, aligned with the input. */
  process(audio16k: Float32Array, options: RnnoiseStreamOptions = {}): Float32Array {
    const s = this.stream(options);
    try {
      const a = s.push(audio16k);
      return concat([a, s.flush()]);
    } finally {
      s.destroy();
    }
  }
}

/** Lag (samples) of `y` relative to `x` maximising their cross-correlation, searched in ±maxLag. */
export function crossCorrelationLag(x: Float32Array, y: Float32Array, maxLag: number): number {
  let best = 0;
  let bestValue = -Infinity;
  const n = Math.min(x.length, y.length);
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let s = 0;
    for (let i = Math.max(0, -lag); i < n && i + lag < n; i++) s += x[i]! * y[i + lag]!;
    if (s > bestValue) {
      bestValue = s;
      best = lag;
    }
  }
  return best;
}

async function main(): Promise<void> {
  const { readPeerClip } = await import('./clip.ts');
  const { file, samples: x } = await readPeerClip(process.argv[2]);
  const peer = await RnnoisePeer.create();
  peer.process(x); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    peer.process(x);
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  const seconds = x.length / IO_RATE_HZ;
  // RNNoise alone (48 kHz frames, no resampling), for the share of the resamplers.
  const mod = await loadRnnoise();
  const st = new RnnoiseState(mod);
  const frames = Math.floor((3 * x.length) / RNNOISE_FRAME);
  const x48 = resample(x, IO_RATE_HZ, RNNOISE_RATE_HZ).map((v) => v * INT16_SCALE);
  const fout = new Float32Array(RNNOISE_FRAME);
  const core: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t1 = process.hrtime.bigint();
    for (let f = 0; f < frames; f++) st.frame(x48.subarray(f * RNNOISE_FRAME, (f + 1) * RNNOISE_FRAME), fout);
    core.push(Number(process.hrtime.bigint() - t1) / 1e9);
  }
  core.sort((a, b) => a - b);
  const coreSeconds = core[2]!;
  st.destroy();
  const lagRaw = crossCorrelationLag(x, peer.process(x, { delayCompensation48k: 0 }), 800);
  const lagCompensated = crossCorrelationLag(x, peer.process(x), 800);
  console.log(
    JSON.stringify(
      {
        file,
        seconds,
        rtfMedian: runs[2]! / seconds,
        rtfRnnoiseOnly: coreSeconds / ((frames * RNNOISE_FRAME) / RNNOISE_RATE_HZ),
        lagUncompensated16k: lagRaw,
        lagCompensated16k: lagCompensated,
      },
      null,
      2,
    ),
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main();
}
