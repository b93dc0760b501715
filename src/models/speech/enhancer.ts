/**
 * Streaming speech enhancement core: 16 kHz audio chunks (and mouth frames when a camera is there) in,
 * enhanced 16 kHz chunks with their event times out. Pure apart from the injected model runner (ONNX Runtime
 * in production, enhancer-onnx.ts; a stub in tests): no clock, no I/O. One instance per audio stream.
 *
 * Per STFT frame t (the model's STFT from its metadata, speech-model-meta.ts; the live model uses 512/128):
 * 1. analysis (`StreamingStft`): ln power x_t and noisy phase φ_t of the frame over samples
 *    [(t+1)·hop − W, (t+1)·hop) of the segment;
 * 2. normalisation of x_t as the model was trained: running (causal, `RunningNormalizer`: frame t with the
 *    statistics of frames ≤ t — DESIGN.md: the live path's normalisation is running, and `drivesense enhance`
 *    runs this same class, so the streamed and whole-file outputs agree), global (fixed statistics) or none;
 * 3. context stacking (`ContextStacker`): causal t−4…t (no look-ahead), or the paper's t−2…t+2 (the frame is
 *    processed two frames later);
 * 4. visual input (camera-input.ts, one per segment): the latest mouth frame at or before the audio frame's
 *    centre time, stacked with the same context; no frame → zeros (the camera-absent input the model was
 *    trained with); raw or centred crops as the model was trained;
 * 5. the model predicts the clean ln power ŷ of the target frame (the newest, or the centre); the enhanced
 *    frame is recombined with the noisy phase and inverted with the project's WOLA ISTFT
 *    (`StreamingIstft`: overlap-add normalised by the summed squared window):
 *    - mode 'spectrum' (the paper): |Ŝ|² = e^ŷ − ε, i.e. the predicted magnitude with the noisy phase;
 *      ŷ is capped at ln(W²) (twice a full-scale frame's magnitude) so a wild prediction cannot blow up;
 *    - mode 'mask': the prediction used as a gain bounded by 1, G = min(1, √(e^{ŷ − x})), optionally floored
 *      (`maskFloorDb`): in the log domain ŷ' = max(min(ŷ, x), x + 2·ln G_min). The output is never louder
 *      than the input in any bin, which is robust to over-estimation (an untrained or mismatched model) at
 *      the price of not restoring bins the noise masked below the speech.
 *    - a 'log-gain' model (speech-model-meta.ts `target`) predicts the ln-power gain itself: ŷ = x +
 *      clamp(pred·scale, 2·ln G_min, 0), i.e. the noisy power times a gain ≤ 1 with the noisy phase (its
 *      default mode is 'mask'; the `maskFloorDb` floor applies on top);
 *    - a 'gain' model predicts the amplitude gain: ŷ = x + 2·ln clamp(pred, G_min, 1) (default mode 'mask');
 *    - mask mode's serving stages (mask/chain.ts, one file per stage under mask/, settings resolved by
 *      mask/settings.ts: the options given, else the metadata's, else none): the strength α (`maskStrength`,
 *      with its own α_v for frames whose context holds mouth crops, `maskStrengthVisual`), bounded by the
 *      floor; the low-gain expansion (`maskExpansionKneeDb`, `maskExpansionRatio`); the gain smoothing
 *      (`maskSmoothingBins`, `maskSmoothingTime`); last, the pause gate (`pauseGateDb`,
 *      `pauseGateThresholdDb`). Their state (smoothing, gate) restarts with each segment and after a failed
 *      model run. A 'spectrum' model ignores them.
 *    A non-finite prediction (a broken model) is replaced by the noisy x (counted, `modelNonFinite`); a model
 *    run that throws passes its frames through unenhanced (counted, `modelErrors`, message kept), so the
 *    audio never stops and the timeline never shifts.
 *
 * Several models (`SpeechEnhancer.ensemble`, for models with one `frontEndKey`, front-end.ts): steps 1, 4 and
 * the noise-aware input are computed once; each model (a "head", head.ts) has its own normalisation (step 2),
 * context stack, serving settings and prediction (step 5), and the frame synthesised has the mean of the heads'
 * magnitudes with the noisy phase (`StreamingIstft.pushMean`): by linearity the mean of what each model alone
 * gives (up to rounding). Model counters count every head's runs; the heads run concurrently, so with
 * several failing, `lastModelError` is the one that finished last.
 *
 * Batching: the frames completed by one `push` go to the model together (at most `maxBatchFrames` per run);
 * inference has no state across examples, so the output does not depend on the chunking (the tests hold 1
 * chunk, 20 ms chunks and random chunk sizes to 1e-6 through ONNX Runtime).
 *
 * Time. `tUs` of a chunk is the event time of its first sample, µs. A segment starts at the first chunk's
 * `tUs` (t0); sample i of the segment is at t0 + i/16 kHz, and output sample i is the enhanced input sample i
 * (the ISTFT does not shift the timeline): every output chunk carries the time of its own first sample.
 * Output lags input: a frame is final once the next one is added, so after N input samples
 * N − (W − hop) − future·hop are out (causal 512/128: 384 samples = 24 ms behind; plus the wait for a whole
 * hop); `flush()` returns the rest, so the total output equals the total input. Algorithmic delay, as the DNS
 * Challenge counts it (`delay`): window + hop + look-ahead — 32 + 8 = 40 ms causal 512/128, 92 ms for the
 * paper's 512/320 with ±2 frames.
 *
 * Discontinuities (each chunk's `tUs` against where the segment expects it, t0 + samples so far / rate; the
 * audio conditioner's rule, streams/features/audio/timeline.ts `placeChunk`):
 * - later by more than `toleranceUs` (1 ms) and at most `maxGapMs` (1 s): the gap is filled with zeros
 *   (silence concealment, DESIGN.md "Delivery"; counted: `gaps`, `gapFillSamples`), so later samples keep
 *   their true times and the STFT/context/normaliser state carries on. The zeros go through the model like
 *   any input (ln ε frames; they also enter the running normaliser);
 * - later by more than `maxGapMs`: the segment is ended (its tail flushed and returned first) and a new one
 *   starts at the chunk's time (counted: `resets`). The STFT, ISTFT, context and camera state restart; the
 *   running normaliser's statistics are kept (they describe the cabin, not the segment);
 * - earlier, entirely within what was already received: dropped (`duplicates`); partly: the covered samples
 *   are trimmed, never the last one (`overlapSamples`). Time never goes back within an enhancer.
 *
 * Bad samples: NaN/±Inf → 0 (`nonFinite`); |x| ≥ `clipLevel` (0.999) counted as `clipped`, values beyond ±1
 * clamped to ±1; digital silence passes (ln ε frames, no NaN: the ISTFT takes max(e^ŷ − ε, 0)).
 * Rates: the enhancer takes the model's rate (16 kHz) mono only; `pushChunk` refuses anything else with a
 * message naming the fix (an `AudioConditioner` in front resamples and down-mixes).
 *
 * Camera frames (`MouthFrame`) are given with the audio chunk they arrived with; late, reordered and
 * wrong-size frames are dropped and counted, never queued (camera-input.ts). A camera that stops leaves the
 * audio path running on zeros (audio-only).
 *
 * Concurrency: `push`/`pushChunk`/`flush` may be called without awaiting the previous call; they run one
 * after the other in call order.
 */
import { ContextStacker } from '../../streams/features/audio/context.ts';
import type { ContextSpec, StackedFrame } from '../../streams/features/audio/context.ts';
import { sanitizeSamples } from '../../streams/features/audio/condition.ts';
import { NoiseAwareInput } from '../../streams/features/audio/noise-aware.ts';
import { placeChunk } from '../../streams/features/audio/timeline.ts';
import {
  StreamingIstft,
  StreamingStft,
  algorithmicDelay,
  resolveStft,
} from '../../streams/features/audio/stft.ts';
import type { AlgorithmicDelay, ResolvedStft } from '../../streams/features/audio/stft.ts';
import { visualInputFromFrames } from './avdcnn.ts';
import { CameraInput, dropWithoutAudio, emptyCameraStats } from './camera-input.ts';
import type { MouthFrame, SpeechEnhancerCameraStats, StackedCamera } from './camera-input.ts';
import { frontEndMismatch, servingMode } from './front-end.ts';
import { createHead, headAudioInput, headLogPower, runHead } from './head.ts';
import type { Head, HeadSynthesis, SpeechEnhancerMember, SpeechModelRunner } from './head.ts';
import { MaskChain } from './mask/chain.ts';
import type { SpeechServingKey, SpeechServingSettings, SpeechServingValues } from './mask/settings.ts';
import { contextSpecOf, stftOf, validateSpeechModelMeta } from './speech-model-meta.ts';
import type { EnhancementMode, SpeechModelMeta } from './speech-model-meta.ts';

export interface EnhancedChunk {
  /** Event time of samples[0], µs (segment start + startSample / rate, rounded to the µs). */
  readonly tUs: number;
  readonly sampleRateHz: number;
  readonly samples: Float32Array;
  /** Segment number (a new one after each reset). */
  readonly segment: number;
  /** Index of samples[0] within the segment. */
  readonly startSample: number;
}

/**
 * The enhancer's options: the mask's serving settings (mask/settings.ts; each over the model's own metadata,
 * else "none"; the audio-visual strength defaults to a given audio-only one) and the stream's handling.
 */
export interface SpeechEnhancerOptions extends SpeechServingValues {
  /** Default: the metadata's `output`, else 'mask' for a 'log-gain' model and 'spectrum' otherwise. */
  readonly mode?: EnhancementMode;
  /** Longest gap filled with zeros, ms (default 1000); longer ones reset. */
  readonly maxGapMs?: number;
  /** Timestamp jitter taken as contiguous, µs (default 1000). */
  readonly toleranceUs?: number;
  /** |x| at or above this counts as clipped (default 0.999). */
  readonly clipLevel?: number;
  /** Frames per model run at most (default 64). */
  readonly maxBatchFrames?: number;
  /** Oldest mouth frame still held for an audio frame, ms (default 100, as the training's alignment). */
  readonly visualMaxGapMs?: number;
}

export interface SpeechEnhancerStats {
  chunks: number;
  /** Chunks refused by `pushChunk` (rate, channels). */
  refused: number;
  inputSamples: number;
  outputSamples: number;
  /** STFT frames enhanced, model runs. */
  frames: number;
  modelRuns: number;
  /** Model runs that threw (their frames passed through), and the last message. */
  modelErrors: number;
  lastModelError?: string;
  /** Predicted values that were not finite (replaced by the noisy ln power). */
  modelNonFinite: number;
  nonFinite: number;
  clipped: number;
  gaps: number;
  gapFillSamples: number;
  resets: number;
  duplicates: number;
  overlapSamples: number;
  segments: number;
  camera: SpeechEnhancerCameraStats;
}

interface PendingFrame {
  readonly logPower: Float32Array;
  readonly phase: Float32Array;
}

interface Item {
  readonly index: number;
  /** The audio input of each head (its own normalisation and channels). */
  readonly audio: readonly Float32Array[];
  readonly visual: Float32Array;
  /**
   * Mouth frames of the context that have a crop (the camera's presence, whatever the values): sets the
   * strengths.
   * Counted only when some head's strength differs with the camera; 0 otherwise.
   */
  readonly crops: number;
}

interface Segment {
  readonly index: number;
  readonly t0Us: number;
  /** Samples analysed (gap zeros included) and emitted. */
  inCount: number;
  outCount: number;
  readonly stft: StreamingStft;
  readonly istft: StreamingIstft;
  /** One per head. */
  readonly audioStacks: ContextStacker[];
  /** Mouth frames in, each audio frame's stacked visual input and camera presence out (camera-input.ts). */
  readonly camera: CameraInput;
  readonly pending: Map<number, PendingFrame>;
  /** Per head: its mask chain (mask/chain.ts: the serving stages and their state); none in spectrum mode. */
  readonly chains: (MaskChain | undefined)[];
  /** Samples [start, end) of the last gap filled with zeros (segment-relative; end 0: none). */
  fillStart: number;
  fillEnd: number;
}

/**
 * What the live path, `drivesense enhance` and the evaluation use of an enhancer: `SpeechEnhancer` (one model,
 * or several sharing its front end) and `EnsembleEnhancer` (ensemble.ts: several enhancers, their outputs
 * averaged) both provide it.
 */
export interface StreamingSpeechEnhancer {
  readonly sampleRateHz: number;
  readonly mode: EnhancementMode;
  readonly delay: AlgorithmicDelay;
  readonly outputLagSamples: number;
  readonly serving: SpeechServingSettings;
  /** The serving settings of each model, in order (one entry unless an ensemble). */
  readonly memberServing: SpeechServingSettings[];
  stats(): SpeechEnhancerStats;
  push(samples: Float32Array, tUs: number, mouthFrames?: readonly MouthFrame[]): Promise<EnhancedChunk[]>;
  pushChunk(
    chunk: {
      readonly samples: Float32Array;
      readonly sampleRateHz: number;
      readonly channels?: number;
      readonly tUs: number;
    },
    mouthFrames?: readonly MouthFrame[],
  ): Promise<{ chunks: EnhancedChunk[]; refused?: string }>;
  flush(): Promise<EnhancedChunk[]>;
}

/** See the file comment. */
export class SpeechEnhancer implements StreamingSpeechEnhancer {
  /** The (first) model's metadata. */
  readonly meta: SpeechModelMeta;
  readonly sampleRateHz: number;
  readonly mode: EnhancementMode;
  readonly context: ContextSpec;
  /** window + hop + look-ahead (DNS Challenge). */
  readonly delay: AlgorithmicDelay;
  /** Samples the output trails the input by, besides the wait for a whole hop: W − hop + future·hop. */
  readonly outputLagSamples: number;
  private readonly stftCfg: ResolvedStft;
  private readonly bins: number;
  private readonly frames: number;
  private readonly pixels: number;
  private readonly heads: readonly Head[];
  /** Some head's strength differs with the camera: each frame's mouth crops are counted (`addItems`). */
  private readonly countCrops: boolean;
  private readonly opts: Required<Omit<SpeechEnhancerOptions, 'mode' | SpeechServingKey>>;
  /**
   * Noise-aware models: the causal noise floor (and prior SNR), carried across segments like the running
   * normaliser; one for all heads (their parameters are equal, their statistics their own).
   */
  private readonly noiseAware: NoiseAwareInput | undefined;
  /** The visual input of heads served without the camera (`zeros`). */
  private zeroVisual: Float32Array | undefined;
  /** What each head's synthesis takes (head.ts): the context length, a scratch frame, the spectrum cap. */
  private readonly synthesis: HeadSynthesis;
  private seg: Segment | null = null;
  private segments = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly s: SpeechEnhancerStats;

  /**
   * An enhancer on one model; `more` adds models that share its front end (use `SpeechEnhancer.ensemble`).
   * `options` apply to every model (each model's serving settings otherwise come from its own metadata).
   */
  constructor(
    meta: SpeechModelMeta,
    runModel: SpeechModelRunner,
    options: SpeechEnhancerOptions = {},
    more: readonly SpeechEnhancerMember[] = [],
  ) {
    const members = [{ meta, runModel }, ...more];
    for (const m of members) validateSpeechModelMeta(m.meta);
    for (const m of more) {
      const mismatch = frontEndMismatch(meta, m.meta);
      if (mismatch !== undefined)
        throw new RangeError(`enhancer: the models do not share a front end (${mismatch})`);
    }
    this.meta = meta;
    this.stftCfg = resolveStft(stftOf(meta));
    this.sampleRateHz = this.stftCfg.sampleRateHz;
    this.bins = meta.model.bins;
    this.frames = meta.model.contextFrames;
    this.pixels = meta.model.mouthHeight * meta.model.mouthWidth;
    this.context = contextSpecOf(meta.model);
    this.delay = algorithmicDelay(stftOf(meta), this.context.future);
    this.outputLagSamples =
      this.stftCfg.windowLength - this.stftCfg.hop + this.context.future * this.stftCfg.hop;
    this.mode = servingMode(meta, options.mode);
    for (const m of more)
      if (servingMode(m.meta, options.mode) !== this.mode)
        throw new RangeError(`enhancer: the models are served in different modes (mask and spectrum)`);
    this.opts = {
      maxGapMs: options.maxGapMs ?? 1000,
      toleranceUs: options.toleranceUs ?? 1000,
      clipLevel: options.clipLevel ?? 0.999,
      maxBatchFrames: options.maxBatchFrames ?? 64,
      visualMaxGapMs: options.visualMaxGapMs ?? 100,
    };
    const o = this.opts;
    if (!(o.maxGapMs >= 0) || !(o.toleranceUs >= 0) || !(o.visualMaxGapMs >= 0))
      throw new RangeError('enhancer: maxGapMs, toleranceUs and visualMaxGapMs must be ≥ 0');
    if (!Number.isInteger(o.maxBatchFrames) || o.maxBatchFrames < 1)
      throw new RangeError(`enhancer: maxBatchFrames ${o.maxBatchFrames}`);
    const frameRateHz = this.sampleRateHz / this.stftCfg.hop;
    this.heads = members.map((m) => createHead(m, options, { bins: this.bins, frameRateHz }));
    this.countCrops = this.heads.some((h) => h.serving.maskStrength !== h.serving.maskStrengthVisual);
    const na = meta.noiseAware;
    this.noiseAware = na !== undefined ? new NoiseAwareInput(this.bins, frameRateHz, na) : undefined;
    this.synthesis = {
      frames: this.frames,
      decoded: new Float64Array(this.bins),
      maxLogPower: 2 * Math.log(this.stftCfg.windowLength),
    };
    this.s = {
      chunks: 0,
      refused: 0,
      inputSamples: 0,
      outputSamples: 0,
      frames: 0,
      modelRuns: 0,
      modelErrors: 0,
      modelNonFinite: 0,
      nonFinite: 0,
      clipped: 0,
      gaps: 0,
      gapFillSamples: 0,
      resets: 0,
      duplicates: 0,
      overlapSamples: 0,
      segments: 0,
      camera: emptyCameraStats(),
    };
  }

  /**
   * One enhancer on several models that share a front end (`frontEndKey`): the STFT, the noise-aware input,
   * the camera path and the synthesis run once, each model runs on its own normalised input at its own
   * serving settings, and the frame synthesised has the mean of their magnitudes — the mean of the models'
   * outputs, as `EnsembleEnhancer` (ensemble.ts) gives for models that do not share one, at less cost.
   */
  static ensemble(
    members: readonly SpeechEnhancerMember[],
    options: SpeechEnhancerOptions = {},
  ): SpeechEnhancer {
    const [first, ...more] = members;
    if (first === undefined || more.length === 0)
      throw new RangeError(`ensemble: at least two members, got ${members.length}`);
    return new SpeechEnhancer(first.meta, first.runModel, options, more);
  }

  /** The serving settings in force (options given, else the model's metadata, else defaults): the first model's. */
  get serving(): SpeechServingSettings {
    return this.heads[0]!.serving;
  }

  /** The serving settings of each model, in order (one entry unless an ensemble). */
  get memberServing(): SpeechServingSettings[] {
    return this.heads.map((h) => h.serving);
  }

  /** A copy of the counters. */
  stats(): SpeechEnhancerStats {
    return { ...this.s, camera: { ...this.s.camera } };
  }

  /**
   * 16 kHz mono samples whose first is at `tUs` (µs), with the mouth frames that arrived with them. Returns
   * the enhanced samples now final (usually one chunk; a reset returns the old segment's tail first; none
   * while the first frames fill). `samples` is not modified.
   */
  push(
    samples: Float32Array,
    tUs: number,
    mouthFrames: readonly MouthFrame[] = [],
  ): Promise<EnhancedChunk[]> {
    if (!Number.isFinite(tUs)) return Promise.reject(new RangeError(`enhancer: chunk time ${tUs} µs`));
    return this.serial(() => this.doPush(samples, tUs, mouthFrames));
  }

  /**
   * An audio chunk with its format: refused (counted, `refused` says why, nothing else happens) unless it is
   * mono at the model's rate.
   */
  async pushChunk(
    chunk: {
      readonly samples: Float32Array;
      readonly sampleRateHz: number;
      readonly channels?: number;
      readonly tUs: number;
    },
    mouthFrames: readonly MouthFrame[] = [],
  ): Promise<{ chunks: EnhancedChunk[]; refused?: string }> {
    const channels = chunk.channels ?? 1;
    let refused: string | undefined;
    if (chunk.sampleRateHz !== this.sampleRateHz)
      refused =
        `audio at ${chunk.sampleRateHz} Hz refused: the speech enhancer takes ${this.sampleRateHz} Hz ` +
        `(resample first, e.g. with an AudioConditioner in front)`;
    else if (channels !== 1)
      refused = `audio with ${channels} channels refused: the speech enhancer takes mono (down-mix first)`;
    if (refused !== undefined) {
      this.s.refused++;
      return { chunks: [], refused };
    }
    return { chunks: await this.push(chunk.samples, chunk.tUs, mouthFrames) };
  }

  /**
   * Ends the stream: the last frames (zero-padded; the symmetric model's look-ahead repeats the last frame)
   * and the ISTFT tail, trimmed so the output has exactly as many samples as the input. The running
   * normaliser keeps its statistics; a later push starts a new segment.
   */
  flush(): Promise<EnhancedChunk[]> {
    return this.serial(async () => {
      const out: EnhancedChunk[] = [];
      await this.finish(out);
      return out;
    });
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async doPush(
    input: Float32Array,
    tUs: number,
    mouth: readonly MouthFrame[],
  ): Promise<EnhancedChunk[]> {
    const out: EnhancedChunk[] = [];
    this.s.chunks++;
    const fs = this.sampleRateHz;
    const o = this.opts;
    let samples = this.sanitize(input);
    let seg = this.seg;
    let fill = 0;
    if (seg !== null && samples.length > 0) {
      const place = placeChunk(seg.t0Us + (seg.inCount * 1e6) / fs, tUs, samples.length, fs, o);
      if (place.kind === 'gap') {
        fill = place.fillSamples;
        this.s.gaps++;
        this.s.gapFillSamples += fill;
      } else if (place.kind === 'jump') {
        this.s.resets++;
        await this.finish(out);
        seg = null;
      } else if (place.kind === 'duplicate') {
        this.s.duplicates++;
        seg.camera.intake(mouth);
        return out;
      } else if (place.kind === 'overlap') {
        this.s.overlapSamples += place.skipSamples;
        samples = samples.subarray(place.skipSamples);
      }
    }
    if (samples.length === 0) {
      if (seg !== null) seg.camera.intake(mouth);
      else dropWithoutAudio(this.s.camera, mouth);
      return out;
    }
    seg ??= this.startSegment(tUs);
    seg.camera.intake(mouth);
    this.s.inputSamples += samples.length;
    if (fill > 0) {
      seg.fillStart = seg.inCount;
      seg.fillEnd = seg.inCount + fill;
      await this.process(seg, new Float32Array(fill), false, out);
    }
    await this.process(seg, samples, false, out);
    return out;
  }

  /** NaN/±Inf → 0, clipping counted and clamped (the audio conditioner's rule); a copy. */
  private sanitize(input: Float32Array): Float32Array {
    const { samples, nonFinite, clipped } = sanitizeSamples(input, this.opts.clipLevel);
    this.s.nonFinite += nonFinite;
    this.s.clipped += clipped;
    return samples;
  }

  private startSegment(t0Us: number): Segment {
    const cfg = stftOf(this.meta);
    this.s.segments++;
    this.noiseAware?.restart();
    this.seg = {
      index: this.segments++,
      t0Us,
      inCount: 0,
      outCount: 0,
      stft: new StreamingStft(cfg),
      istft: new StreamingIstft(cfg),
      audioStacks: this.heads.map((h) => new ContextStacker(this.bins * h.audioChannels, this.context)),
      camera: new CameraInput(
        {
          pixels: this.pixels,
          context: this.context,
          maxGapUs: this.opts.visualMaxGapMs * 1000,
          ...(this.meta.visualInput !== undefined
            ? { centring: { input: this.meta.visualInput, hopS: this.stftCfg.hop / this.sampleRateHz } }
            : {}),
        },
        this.s.camera,
      ),
      pending: new Map(),
      chains: this.heads.map((h) =>
        this.mode === 'mask'
          ? new MaskChain({
              settings: h.serving,
              trainingFloorLog: h.trainingFloorLog,
              hopS: this.stftCfg.hop / this.sampleRateHz,
            })
          : undefined,
      ),
      fillStart: 0,
      fillEnd: 0,
    };
    return this.seg;
  }

  /** Centre of STFT frame t of the segment, µs: t0 + ((t + 1)·hop − W/2) / rate (as corpus.ts). */
  private frameCentreUs(seg: Segment, t: number): number {
    const { hop, windowLength: w } = this.stftCfg;
    return seg.t0Us + (((t + 1) * hop - w / 2) * 1e6) / this.sampleRateHz;
  }

  /**
   * Each head's audio input for frame t: the normalised ln power, interleaved per bin with the normalised a
   * posteriori SNR (and ln a priori SNR) for a noise-aware model (computed once, normalised per head).
   * Frames whose window overlaps the last zero-filled gap are held (scored without moving the noise floor),
   * as are the segment's first `startHoldFrames` (the STFT's zero padding; `NoiseAwareInput.restart` at each
   * segment).
   */
  private audioInputs(seg: Segment, t: number, x: Float32Array): Float32Array[] {
    let added: readonly Float32Array[] = [];
    if (this.noiseAware !== undefined) {
      const { hop, windowLength: w } = this.stftCfg;
      const end = (t + 1) * hop;
      const hold = seg.fillEnd > 0 && end - w < seg.fillEnd && end > seg.fillStart;
      added = this.noiseAware.push(x, hold);
    }
    return this.heads.map((h) => headAudioInput(h, x, added));
  }

  /** Analyses `samples` (or, at the end, flushes), runs the model on the completed frames, synthesises. */
  private async process(
    seg: Segment,
    samples: Float32Array,
    end: boolean,
    out: EnhancedChunk[],
  ): Promise<void> {
    const frames = end ? seg.stft.flush() : seg.stft.push(samples);
    seg.inCount += samples.length;
    const items: Item[] = [];
    // The flushed frames hold the STFT's trailing zeros: the state carried into a later segment is the one
    // before them (noise-aware.ts).
    const carried = end ? this.noiseAware?.snapshot() : undefined;
    for (const f of frames) {
      seg.pending.set(f.index, { logPower: f.logPower, phase: f.phase });
      const camera = seg.camera.next(this.frameCentreUs(seg, f.index));
      const inputs = this.audioInputs(seg, f.index, f.logPower);
      const a = seg.audioStacks.map((st, h) => st.push(inputs[h]!));
      this.addItems(items, a, camera);
    }
    if (carried !== undefined) this.noiseAware?.restore(carried);
    if (end)
      this.addItems(
        items,
        seg.audioStacks.map((st) => st.flush()),
        seg.camera.flush(),
      );
    const parts: Float32Array[] = [];
    for (let i = 0; i < items.length; i += this.opts.maxBatchFrames) {
      const batch = items.slice(i, i + this.opts.maxBatchFrames);
      const visual = this.visualBatch(batch);
      // A member without the camera gets the audio-only visual input: zeros, raw or centred.
      const none = this.heads.some((h) => h.cameraOff) ? this.zeros(visual.length) : visual;
      const clean = await Promise.all(
        this.heads.map((h, k) => this.predict(h, k, batch, h.cameraOff ? none : visual)),
      );
      batch.forEach((item, j) => {
        const raw = seg.pending.get(item.index)!;
        seg.pending.delete(item.index);
        const ys = this.heads.map((h, k) => {
          const y = headLogPower(
            h,
            seg.chains[k],
            raw.logPower,
            clean[k]?.subarray(j * this.bins, (j + 1) * this.bins),
            item.crops,
            this.synthesis,
          );
          this.s.modelNonFinite += y.nonFinite;
          return y.logPower;
        });
        parts.push(ys.length === 1 ? seg.istft.push(ys[0]!, raw.phase) : seg.istft.pushMean(ys, raw.phase));
      });
    }
    this.s.frames += items.length;
    if (end) parts.push(seg.istft.flush());
    let total = 0;
    for (const p of parts) total += p.length;
    total = Math.min(total, seg.inCount - seg.outCount);
    if (total <= 0) return;
    const y = new Float32Array(total);
    let p = 0;
    for (const part of parts) {
      const n = Math.min(part.length, total - p);
      y.set(part.subarray(0, n), p);
      p += n;
    }
    out.push({
      tUs: Math.round(seg.t0Us + (seg.outCount * 1e6) / this.sampleRateHz),
      sampleRateHz: this.sampleRateHz,
      samples: y,
      segment: seg.index,
      startSample: seg.outCount,
    });
    seg.outCount += total;
    this.s.outputSamples += total;
  }

  /**
   * The frames whose context is complete: each one's model inputs (entry `i` of each head's stacked audio and
   * of the stacked camera) and how many of its context's mouth frames are crops (1 per frame with a crop;
   * counted only when some head's strengths differ with the camera).
   */
  private addItems(items: Item[], audio: readonly (readonly StackedFrame[])[], camera: StackedCamera): void {
    camera.visual.forEach((v, i) => {
      let crops = 0;
      if (this.countCrops) for (let f = 0; f < this.frames; f++) crops += camera.presence[i]!.features[f]!;
      items.push({ index: v.index, audio: audio.map((a) => a[i]!.features), visual: v.features, crops });
    });
  }

  /** `n` zeros, from one buffer that grows to the largest batch (never written: heads may share it). */
  private zeros(n: number): Float32Array {
    if (this.zeroVisual === undefined || this.zeroVisual.length < n) this.zeroVisual = new Float32Array(n);
    return this.zeroVisual.subarray(0, n);
  }

  /** The visual input of a batch (the same for every head: they share the model shape). */
  private visualBatch(items: readonly Item[]): Float32Array {
    const vSize = this.frames * this.pixels;
    const visual = new Float32Array(items.length * vSize);
    items.forEach((it, i) =>
      visualInputFromFrames(it.visual, this.meta.model, visual.subarray(i * vSize, (i + 1) * vSize)),
    );
    return visual;
  }

  /** One model run of head `k` (the batch's `clean`, size × bins), or undefined when it failed (counted). */
  private async predict(
    h: Head,
    k: number,
    items: readonly Item[],
    visual: Float32Array,
  ): Promise<Float32Array | undefined> {
    this.s.modelRuns++;
    const run = await runHead(
      h,
      items.map((it) => it.audio[k]!),
      visual,
      this.bins,
    );
    if ('clean' in run) return run.clean;
    this.s.modelErrors++;
    this.s.lastModelError = run.error;
    return undefined;
  }

  /** Ends the current segment: flushes everything, trims to the input length. */
  private async finish(out: EnhancedChunk[]): Promise<void> {
    const seg = this.seg;
    if (seg === null) return;
    await this.process(seg, new Float32Array(0), true, out);
    this.seg = null;
  }
}
