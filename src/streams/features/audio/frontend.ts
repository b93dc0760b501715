/**
 * The speech model's input features, composed from `stft.ts`, `normalize.ts` and `context.ts`:
 * 16 kHz mono samples → log power spectrum frames (257 bins) → mean/variance normalisation per bin →
 * context stacking → `(past + 1 + future) × 257` values per frame, with the centre frame's raw log power and
 * noisy phase kept for the resynthesis (`StreamingIstft`, `recombine`).
 *
 * - Live (`SpeechFrontEnd`, the path `drivesense enhance` takes): running (causal) normalisation, each frame
 *   normalised when it arrives with the statistics of frames up to it, then stacked; by default past context
 *   only (t−4..t) on the 512/128 STFT: algorithmic delay 40 ms.
 * - Offline (`speechFeatures`): the same with `normalization: 'running'` (bit-identical to the live path for
 *   the same samples, whatever the chunking), or the paper's per-utterance normalisation and ±2 frames.
 */
import { AVDCNN_CONTEXT, CAUSAL_CONTEXT, ContextStacker, stackContext } from './context.ts';
import type { ContextSpec } from './context.ts';
import { RunningNormalizer, normalizeRunning, normalizeUtterance } from './normalize.ts';
import type { BinStats, RunningNormState } from './normalize.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_512_128,
  StreamingStft,
  algorithmicDelay,
  resolveStft,
  stft,
} from './stft.ts';
import type { AlgorithmicDelay, StftConfig, StftFrame } from './stft.ts';

export interface SpeechFeatureFrame {
  /** Centre frame t; it covers samples [(t+1)·hop − W, (t+1)·hop) of the stream. */
  readonly index: number;
  /** Normalised, stacked model input: (past + 1 + future) × bins, oldest frame first. */
  readonly features: Float32Array;
  /** The centre frame's raw log power (ln power) and noisy phase (radians), bins each. */
  readonly logPower: Float32Array;
  readonly phase: Float32Array;
}

export interface SpeechFrontEndOptions {
  /** Default: `LIVE_STFT_512_128`. */
  readonly stft?: StftConfig;
  /** Default: `CAUSAL_CONTEXT` (t−4..t). */
  readonly context?: ContextSpec;
  /** Running normalisation time constant, s (default 3), σ floor, and a state to resume from. */
  readonly timeConstantS?: number;
  readonly stdFloor?: number;
  readonly normalizerState?: RunningNormState;
}

/** Live feature extraction, streaming (see the file comment). One instance per stream. */
export class SpeechFrontEnd {
  readonly stftConfig: StftConfig;
  readonly context: ContextSpec;
  readonly bins: number;
  /** window + hop + look-ahead (future context frames × hop). */
  readonly delay: AlgorithmicDelay;
  private readonly analysis: StreamingStft;
  private readonly normalizer: RunningNormalizer;
  private readonly stacker: ContextStacker;
  /** Raw frames waiting for their look-ahead, by index. */
  private readonly pending = new Map<number, StftFrame>();

  constructor(options: SpeechFrontEndOptions = {}) {
    this.stftConfig = options.stft ?? LIVE_STFT_512_128;
    this.context = options.context ?? CAUSAL_CONTEXT;
    const r = resolveStft(this.stftConfig);
    this.bins = r.bins;
    this.delay = algorithmicDelay(this.stftConfig, this.context.future);
    this.analysis = new StreamingStft(this.stftConfig);
    this.normalizer = new RunningNormalizer({
      bins: r.bins,
      frameRateHz: r.sampleRateHz / r.hop,
      ...(options.timeConstantS !== undefined ? { timeConstantS: options.timeConstantS } : {}),
      ...(options.stdFloor !== undefined ? { stdFloor: options.stdFloor } : {}),
      ...(options.normalizerState !== undefined ? { state: options.normalizerState } : {}),
    });
    this.stacker = new ContextStacker(r.bins, this.context);
  }

  /** Samples pushed since the start (or the last flush). */
  get samplesIn(): number {
    return this.analysis.samplesIn;
  }

  /** The running normalisation's state, to resume a stream later. */
  normalizerState(): RunningNormState {
    return this.normalizer.state();
  }

  /** 16 kHz mono samples in; the feature frames they complete out, oldest first. */
  push(samples: ArrayLike<number>): SpeechFeatureFrame[] {
    return this.take(this.analysis.push(samples), false);
  }

  /** Ends the stream (zero-padded last frames, edge-repeated look-ahead). The normaliser keeps its state. */
  flush(): SpeechFeatureFrame[] {
    return this.take(this.analysis.flush(), true);
  }

  private take(frames: StftFrame[], end: boolean): SpeechFeatureFrame[] {
    const out: SpeechFeatureFrame[] = [];
    const collect = (stacked: { index: number; features: Float32Array }[]): void => {
      for (const s of stacked) {
        const raw = this.pending.get(s.index)!;
        this.pending.delete(s.index);
        out.push({ index: s.index, features: s.features, logPower: raw.logPower, phase: raw.phase });
      }
    };
    for (const f of frames) {
      this.pending.set(f.index, f);
      collect(this.stacker.push(this.normalizer.normalize(f.logPower)));
    }
    if (end) collect(this.stacker.flush());
    return out;
  }
}

export interface SpeechFeatures {
  readonly frames: number;
  readonly bins: number;
  /** Context rows per frame (past + 1 + future). */
  readonly rows: number;
  /** frames × rows × bins, frame-major. */
  readonly features: Float32Array;
  /** frames × bins: raw log power and noisy phase. */
  readonly logPower: Float32Array;
  readonly phase: Float32Array;
  /** Input samples (the length to give back on synthesis). */
  readonly samples: number;
  /** Per-utterance statistics (normalization 'utterance' only). */
  readonly stats?: BinStats;
}

export interface SpeechFeatureOptions {
  /** Default `AVDCNN_STFT` (512/320). */
  readonly stft?: StftConfig;
  /** Default `AVDCNN_CONTEXT` (±2). */
  readonly context?: ContextSpec;
  /** Default 'utterance' (the paper); 'running' is the live path's causal normalisation. */
  readonly normalization?: 'utterance' | 'running' | 'none';
  readonly timeConstantS?: number;
  readonly stdFloor?: number;
}

/** Whole-signal features (see the file comment). */
export function speechFeatures(
  signal: ArrayLike<number>,
  options: SpeechFeatureOptions = {},
): SpeechFeatures {
  const cfg = options.stft ?? AVDCNN_STFT;
  const context = options.context ?? AVDCNN_CONTEXT;
  const spec = stft(signal, cfg);
  const { bins } = spec;
  const mode = options.normalization ?? 'utterance';
  let normalized: Float32Array;
  let stats: BinStats | undefined;
  if (mode === 'utterance') {
    ({ normalized, stats } = normalizeUtterance(spec.logPower, bins, options.stdFloor));
  } else if (mode === 'running') {
    const r = resolveStft(cfg);
    normalized = normalizeRunning(spec.logPower, {
      bins,
      frameRateHz: r.sampleRateHz / r.hop,
      ...(options.timeConstantS !== undefined ? { timeConstantS: options.timeConstantS } : {}),
      ...(options.stdFloor !== undefined ? { stdFloor: options.stdFloor } : {}),
    }).normalized;
  } else {
    normalized = spec.logPower;
  }
  return {
    frames: spec.frames,
    bins,
    rows: context.past + 1 + context.future,
    features: stackContext(normalized, bins, context),
    logPower: spec.logPower,
    phase: spec.phase,
    samples: spec.samples,
    ...(stats !== undefined ? { stats } : {}),
  };
}
