/**
 * Training of AVDCNN (avdcnn.ts) on speech × noise mixed on the fly, with exact resume, early stopping, ONNX
 * export and the TF.js ↔ ONNX Runtime parity check (docs/models/speech.md, section "Training").
 *
 * Data (all from the fixed split of splits.ts, checked with `assertDisjoint` first):
 * - training mixtures come from a `SpeechMixer` over the TRAIN pools only (the mixer refuses material of
 *   another split): SNR uniform in [−5, 15] dB; per mixture a random gain (uniform ±`gainDb`, the same for
 *   clean and noisy, applied to the log power) so the model does not learn one recording level;
 * - mixtures are drawn in rounds of `roundMixtures`; all STFT frames of a round are pooled and shuffled, and
 *   batches of `batchSize` frames are taken in that order (the remainder of a round smaller than a batch is
 *   dropped), so a batch mixes utterances, noises and SNRs;
 * - camera absent: `zeroVisual` per example with p = `visualAbsentProbability`; the lip loss is weighted 0
 *   for those examples and for frames without a real mouth crop (audio-only utterances, missing crops);
 * - validation: the fixed evaluation set of the VALIDATION split (`buildEvaluationSet`: every validation
 *   utterance × every validation noise span × SNR −5, 0, 5 dB, fixed offsets), subsampled to at most
 *   `validationFrames` frames (every k-th frame, fixed), evaluated every `validationEvery` steps.
 *
 * Features (STFT: `LIVE_STFT_512_128` for the causal model, 40 ms algorithmic delay; the paper's
 * `AVDCNN_STFT` 512/320 for the symmetric one): ln(|X|² + ε) per bin, normalised by a FIXED GLOBAL per-bin
 * normaliser, `SpeechNormaliser`: mean and standard deviation of the noisy log power (inputs) and of the
 * clean log power (targets), computed once at the start from `normMixtures` training mixtures (a mixer of
 * its own seed, so the training order does not depend on it), stored in the checkpoint state and in the
 * exported sidecar. Input row r of frame t is the normalised noisy frame t − past + r (edge frames
 * repeated). The target (`target`, default 'log-gain'):
 * - 'log-gain' (default): the bounded, input-relative ln-power gain of frame t, clamp(lnC − lnX, 2·ln G_min,
 *   0) with G_min = −25 dB (examples.ts `logGainTarget`), divided by |2·ln G_min| so it lies in [−1, 0]; 0 is
 *   passthrough. The enhancer applies it as a mask (noisy power × e^{g}, noisy phase). Chosen after the first
 *   run (docs/models/speech-history.md, "Diagnosis"): the absolute target's loss was dominated by how deep inaudible
 *   clean bins lie under the noise;
 * - 'gain': the truncated magnitude mask of frame t, clamp(|C|/|X|, G_min, 1) (examples.ts
 *   `amplitudeGainTarget`), in the linear domain where an uncertain bin costs what it costs in amplitude
 *   (the log-gain target's regression towards the middle of its range pulled speech bins down: STOI fell
 *   while SI-SDR rose); 1 is passthrough; the enhancer applies it as a mask;
 * - 'ln-power' (the first run): the clean frame t normalised with the clean statistics, which the enhancer
 *   maps back.
 * The enhancer applies exactly this input normalisation, with no state (so streamed and whole-file outputs
 * agree). Validation also logs the passthrough MSE (g = 0, G = 1, or the noisy ln power as the prediction for
 * 'ln-power'), the trivial baseline.
 *
 * Early stopping: criterion = validation log-spectral MSE (the `clean` output, normalised units), the mean
 * of a camera-present pass (AV clips with their mouth crops) and a camera-absent pass (visual zeroed), so the
 * model is kept good in both modes; the lip term is reported, not used. Lower is better; `patience`
 * validation rounds without an improvement of more than `minDelta` stop training; the best checkpoint is
 * restored at the end.
 *
 * Resume: checkpoints (CheckpointStore: weights incl. BN statistics, RMSprop state) every `checkpointEvery`
 * steps, at every validation round and on abort. The state records the mixer's position and the trainer
 * RNG's state at the start of the current round, and how many examples of it were consumed: a resumed run
 * rebuilds that round exactly and continues with the same examples, visual dropout draws and weights
 * (bit-identical when the model's dropout rate is 0; TF.js's dropout masks are not resumable, see
 * checkpoint.ts, so with dropout > 0 a resumed run sees the same examples with different dropout masks).
 *
 * Lifecycle: `trainSpeechModel` owns the model it returns (caller disposes). It does file I/O only through
 * the checkpoint store; the caller passes an AbortSignal (SIGINT/SIGTERM in the CLI) to stop cleanly.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointStore, initialTrainingState } from '../common/checkpoint.ts';
import type { LoadOptions, TrainingState } from '../common/checkpoint.ts';
import { checkAverageDecay, WeightAverage } from '../common/weight-average.ts';
import { saveOnnxModel } from '../common/onnx-export.ts';
import type { SavedOnnxModel } from '../common/onnx-export.ts';
import { maxAbsDifference, OnnxSession } from '../common/onnx-session.ts';
import { SeededRandom } from '../common/rng.ts';
import type { RandomState } from '../common/rng.ts';
import type { ContextSpec } from '../../streams/features/audio/context.ts';
import {
  interleaveChannels,
  noiseAwareChannels,
  noiseAwareFrames,
  paddedStartFrames,
} from '../../streams/features/audio/noise-aware.ts';
import { DEFAULT_NOISE_FLOOR } from '../../streams/features/audio/noise-floor.ts';
import { DEFAULT_PRIOR_SNR } from '../../streams/features/audio/prior-snr.ts';
import { DEFAULT_SPP_NOISE, SPP_PRIOR_BIAS } from '../../streams/features/audio/spp-noise.ts';
import type { NoiseAwareParams } from '../../streams/features/audio/noise-aware.ts';
import { DEFAULT_STD_FLOOR } from '../../streams/features/audio/normalize.ts';
import {
  AVDCNN_STFT,
  LIVE_STFT_512_128,
  LOG_POWER_EPSILON,
  algorithmicDelay,
  resolveStft,
  stft,
} from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';
import {
  AVDCNN_DEFAULTS,
  AVDCNN_INPUT_NAMES,
  AVDCNN_OUTPUT_NAMES,
  avdcnnEvaluate,
  avdcnnParameterCount,
  avdcnnShapes,
  avdcnnTrainStep,
  buildAvdcnn,
  createAvdcnnOptimizer,
  currentFrameIndex,
  resolveAvdcnnConfig,
  zeroVisual,
} from './avdcnn.ts';
import type { AvdcnnBatch, AvdcnnConfig, AvdcnnLossValues } from './avdcnn.ts';
import {
  LOG_GAIN_FLOOR_DB,
  amplitudeGainTarget,
  checkSignalWeight,
  checkUnderWeight,
  logGainTarget,
  signalWeights,
} from './examples.ts';
import { DEFAULT_EXTRA_SHARE, SpeechMixer, buildEvaluationSet, fnv1a } from './mixing.ts';
import { centreAlignedMouth, centringAlpha, centringError } from './mouth-centring.ts';
import { contextSpecOf, logGainFloor, speechModelMeta } from './speech-model-meta.ts';
import type { SpeechModelMeta, SpeechNoiseAware, SpeechTarget } from './speech-model-meta.ts';
import type { MixerPools, Mixture } from './mixing.ts';
import type { NoiseCategory } from './corpus.ts';
import { assertDisjoint, canonicalJson } from './splits.ts';
import type { SpeechDataSplit } from './splits.ts';

// ---------------------------------------------------------------------------------------------------------
// Options, state, results.

export interface SpeechTrainOptions {
  readonly split: SpeechDataSplit;
  /** Loaded material of the train split (the mixer checks it belongs there). */
  readonly train: MixerPools;
  /** Loaded material of the validation split. */
  readonly validation: MixerPools;
  /** Model config overrides (context, FC sizes, learning rate, visualAbsentProbability, …). */
  readonly model?: Partial<AvdcnnConfig>;
  /** Default: LIVE_STFT_512_128 for the causal context, AVDCNN_STFT for the symmetric one. */
  readonly stft?: StftConfig;
  /** Training target (see the file comment). Default 'log-gain'. */
  readonly target?: SpeechTrainTarget['kind'];
  /** G_min of the 'log-gain' and 'gain' targets, amplitude dB (< 0). Default −25. */
  readonly gainFloorDb?: number;
  /** 'gain' target only: the exponent q of the loss's signal weighting (0 < q ≤ 1). Default none. */
  readonly signalWeight?: number;
  /**
   * 'gain' target only: β of the asymmetric loss (avdcnn.ts `avdcnnLoss`): a gain predicted below its target
   * (speech suppressed) costs (1 + β) times its squared error; 0 < β ≤ 10. Default none (the plain MSE).
   */
  readonly underWeight?: number;
  /**
   * Noise-aware input only: the noise tracker, 'minimum' (minimum statistics, noise-floor.ts; the default and
   * every run before the option) or 'spp' (speech presence probability, spp-noise.ts).
   */
  readonly noiseTracker?: NoiseTrackerKind;
  /**
   * What the data is (root, split, counts, licences; free-form JSON): kept in the checkpoint state, so an
   * export from the checkpoint alone (`--export-only`) can report it. A resumed run takes the new one.
   */
  readonly data?: Readonly<Record<string, unknown>>;
  readonly checkpointDir: string;
  /**
   * Fine-tuning: the checkpoint directory of another run whose best weights (its average with weight
   * averaging) and normaliser a NEW run starts from, with a fresh optimiser and step count, typically at a
   * lower learning rate. The model config, STFT, target and split must be the source's; only the learning
   * rate may differ (checked: `initSourceOf`). The run validates once at step 0, so it keeps the source's
   * weights unless it beats them. Give it again to resume the fine-tuning run (it is part of the fingerprint).
   */
  readonly initFrom?: string;
  /** Examples (frames) per step. Default 32. */
  readonly batchSize?: number;
  /** Seed of the weights, mixer, normaliser mixtures and trainer RNG. Default 1. */
  readonly seed?: number;
  /** Default [−5, 15] dB. */
  readonly snrRangeDb?: readonly [number, number];
  /** Default [−5, 0, 5] dB. */
  readonly validationSnrsDb?: readonly number[];
  /** Random level per training mixture, uniform ±gainDb (0 = none). Default 10. */
  readonly gainDb?: number;
  /** Speed perturbation factors of the training speech (mixing.ts `speedFactors`). Default none. */
  readonly speedFactors?: readonly number[];
  /** Augment the talking-face clips' mouth crops (mixing.ts `visualAugment`, visual-augment.ts). Default off. */
  readonly visualAugment?: boolean;
  /**
   * Centred mouth input (mouth-centring.ts): each aligned crop minus a causal running mean of the crops
   * before it, with this time constant in seconds, for the model input and the lip target alike; recorded in
   * the sidecar (`visualInput`) so the enhancer centres the camera the same way. Default off (raw crops).
   */
  readonly visualCentreS?: number;
  /**
   * With training-only extra speech (`train.extra`): the share of mixtures whose speech comes from it
   * (mixing.ts `extraShare`). Default 0.5. The extra utterances' ids and lengths are part of the fingerprint.
   */
  readonly extraShare?: number;
  /**
   * Relative weights of the noise categories in the training draw (mixing.ts `categoryWeights`; a category
   * left out weighs 1). Default: uniform. Given, they are part of the fingerprint and the report.
   */
  readonly noiseWeights?: Readonly<Partial<Record<NoiseCategory, number>>>;
  /**
   * Decay d of an exponential moving average of the weights (0 < d < 1; weight-average.ts): validation,
   * the best checkpoint and the export use the average. Default none (the raw weights).
   */
  readonly averageDecay?: number;
  /** Mixtures pooled and shuffled per round. Default 64 (~22,000 frames at hop 128, ~700 batches of 32). */
  readonly roundMixtures?: number;
  /** Training mixtures for the normaliser statistics. Default 128. */
  readonly normMixtures?: number;
  /** Steps between validation rounds. Default 500. */
  readonly validationEvery?: number;
  /** Frames of the validation set used (every k-th frame). Default 4096. */
  readonly validationFrames?: number;
  /** Steps between checkpoints (besides validation rounds and abort). Default 250. */
  readonly checkpointEvery?: number;
  /** Validation rounds without improvement before stopping. Default 10. */
  readonly patience?: number;
  /** Improvement needed to count as one, in criterion units. Default 1e-4. */
  readonly minDelta?: number;
  /** Stop after this many steps in total (resumes included). Default 100,000. */
  readonly maxSteps?: number;
  /** Stop after this many seconds of wall time in this invocation. Default: none. */
  readonly timeBudgetS?: number;
  /** Steps between progress lines. Default 50. */
  readonly logEvery?: number;
  /** Checkpoints kept besides the best one. Default 3. */
  readonly keepCheckpoints?: number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /**
   * Test hooks: every training mixture drawn, every mixture prepared as the model gets it (training and
   * validation), every batch's example ids, every step's loss.
   */
  readonly onMixture?: (mixture: Mixture) => void;
  readonly onPrepared?: (mixture: Mixture, prepared: PreparedMixture, use: 'train' | 'validation') => void;
  readonly onBatch?: (step: number, examples: readonly string[]) => void;
  readonly onStep?: (step: number, loss: AvdcnnLossValues) => void;
  /** Clock, ms (tests). Default Date.now. */
  readonly now?: () => number;
}

/**
 * What the `clean` output is trained on: 'ln-power' (normalised clean ln power), 'log-gain' (the clamped
 * ln-power gain over the noisy input divided by `scale`) or 'gain' (the truncated magnitude mask); see the
 * file comment.
 */
export type SpeechTrainTarget =
  | { readonly kind: 'ln-power' }
  | { readonly kind: 'log-gain'; readonly gainFloorDb: number; readonly scale: number }
  | {
      readonly kind: 'gain';
      readonly gainFloorDb: number;
      /**
       * Signal weighting of the loss: each bin's squared mask error weighted by the noisy power^q, normalised
       * to mean 1 per mixture (examples.ts `signalWeights`; q = 1 is signal approximation). Absent: unweighted
       * (every run before it).
       */
      readonly signalWeight?: number;
      /**
       * β of the asymmetric loss: a gain predicted below its target costs (1 + β) times its squared error
       * (avdcnn.ts `avdcnnLoss`), in training and validation alike. Absent: the plain MSE (every run before it).
       */
      readonly underWeight?: number;
    };

export const SPEECH_TRAIN_TARGETS = ['log-gain', 'gain', 'ln-power'] as const;

/** A 'log-gain' target with G_min = `gainFloorDb`, scaled to [−1, 0] (scale = |2·ln G_min|). */
export function logGainTrainTarget(
  gainFloorDb = LOG_GAIN_FLOOR_DB,
): Extract<SpeechTrainTarget, { kind: 'log-gain' }> {
  checkGainFloor(gainFloorDb);
  return { kind: 'log-gain', gainFloorDb, scale: Math.abs(logGainFloor(gainFloorDb)) };
}

/** G_min of the 'log-gain' and 'gain' targets must be finite and < 0 dB. */
function checkGainFloor(gainFloorDb: number): number {
  if (!(Number.isFinite(gainFloorDb) && gainFloorDb < 0))
    throw new RangeError(`speech training: gainFloorDb ${gainFloorDb} must be finite and < 0`);
  return gainFloorDb;
}

/** Per-bin statistics as plain arrays (JSON: checkpoint state, sidecar). */
export interface BinStatsJson {
  readonly mean: number[];
  readonly std: number[];
}

/** The fixed global normaliser of inputs and targets (see the file comment). */
export interface SpeechNormaliser {
  readonly kind: 'global-per-bin';
  readonly bins: number;
  /** Statistics of the noisy ln power (model input). */
  readonly input: BinStatsJson;
  /** Statistics of the clean ln power (model target / `clean` output). */
  readonly target: BinStatsJson;
  /**
   * Noise-aware input only: the noise-aware input's parameters (noise-aware.ts) and the statistics of the a
   * posteriori SNR, the second input channel.
   */
  readonly snr?: BinStatsJson & { readonly noiseFloor: NoiseAwareParams };
  /** With `snr.noiseFloor.prior`: the statistics of ln ξ, the third input channel. */
  readonly prior?: BinStatsJson;
  readonly stdFloor: number;
  readonly logPowerEpsilon: number;
  /** Where the statistics came from. */
  readonly mixtures: number;
  readonly frames: number;
  readonly seed: number;
}

export type SpeechTrainStatus = 'early-stopped' | 'max-steps' | 'time-budget' | 'interrupted';

export interface ValidationResult {
  /** Early-stopping criterion: mean of the camera-present and camera-absent log-spectral MSE. */
  readonly criterion: number;
  /** The same MSE of the passthrough prediction (see `passthroughMse`), the trivial baseline. */
  readonly passthrough: number;
  readonly audio: number;
  readonly audioNoCamera: number;
  /** Lip MSE over frames with a real crop (camera present); NaN without AV validation clips. */
  readonly video: number;
  readonly frames: number;
  readonly avFrames: number;
}

export interface SpeechTrainResult {
  readonly status: SpeechTrainStatus;
  /** The best weights (restored), or the latest ones when interrupted. */
  readonly model: tf.LayersModel;
  readonly config: AvdcnnConfig;
  readonly stft: StftConfig;
  readonly context: ContextSpec;
  readonly normaliser: SpeechNormaliser;
  readonly state: TrainingState;
  readonly extra: SpeechTrainExtra;
  /** Examples/s over this invocation's training steps. */
  readonly examplesPerS: number;
}

/** What a speech checkpoint carries in `state.extra` (JSON). */
export interface SpeechTrainExtra {
  readonly [key: string]: unknown;
  readonly format: 'drivesense.speech-train';
  readonly version: 1;
  /** Hash of everything that must match to resume (config, STFT, data options, split). */
  readonly fingerprint: string;
  readonly config: AvdcnnConfig;
  readonly stft: StftJson;
  readonly normaliser: SpeechNormaliser;
  /** Absent in checkpoints from before the log-gain target: 'ln-power'. */
  readonly target?: SpeechTrainTarget;
  readonly splitHash: string;
  readonly batchSize: number;
  readonly seed: number;
  readonly mixerSeed: number;
  /** Mixer position and trainer RNG state at the start of the current round; examples consumed in it. */
  readonly roundMixerPosition: number;
  readonly roundRng: RandomState;
  readonly roundConsumed: number;
  readonly rounds: number;
  readonly mixtures: number;
  readonly examples: number;
  readonly bestStep: number | null;
  readonly lastValidationStep: number;
  /** Seconds spent training over all invocations. */
  readonly trainSeconds: number;
  /** Lower is better (the criterion is a loss). */
  readonly bestScoreIs: 'lower';
  /** The run's data description (`SpeechTrainOptions.data`); absent in checkpoints from before it. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Decay of the weight average the run validates and exports; absent: the raw weights. */
  readonly averageDecay?: number;
  /** A fine-tuning run: the run its weights started from (`SpeechTrainOptions.initFrom`). */
  readonly initFrom?: SpeechInitSource;
  /** The data options that change what the run trains on, for its id; absent in checkpoints from before it. */
  readonly mixing?: SpeechMixingRecord;
}

/** The options of `SpeechTrainOptions` that change the training mixtures, as a run records them (only those set). */
export interface SpeechMixingRecord {
  readonly speedFactors?: readonly number[];
  readonly visualAugment?: true;
  readonly visualCentreS?: number;
  readonly noiseWeights?: Readonly<Partial<Record<NoiseCategory, number>>>;
  readonly extraShare?: number;
}

/** The run a fine-tuning run started from: its checkpoint directory, fingerprint, model id and best step. */
export interface SpeechInitSource {
  readonly dir: string;
  readonly fingerprint: string;
  readonly id: string;
  readonly step: number;
  /** Its best validation criterion (the fine-tuning run's score at step 0, on the same validation set). */
  readonly score: number | null;
}

export interface StftJson {
  readonly sampleRateHz: number;
  readonly windowLength: number;
  readonly hop: number;
  readonly fftSize: number;
}

// ---------------------------------------------------------------------------------------------------------
// Pure helpers: context, normaliser, examples.

export function defaultStftFor(context: AvdcnnConfig['context']): StftConfig {
  return context === 'causal' ? LIVE_STFT_512_128 : AVDCNN_STFT;
}

function stftJson(cfg: StftConfig): StftJson {
  const r = resolveStft(cfg);
  return { sampleRateHz: r.sampleRateHz, windowLength: r.windowLength, hop: r.hop, fftSize: r.fftSize };
}

/** Per-bin mean and floored std of many frame-major arrays (float64 accumulation). */
export function binStats(
  arrays: readonly Float32Array[],
  bins: number,
  stdFloor = DEFAULT_STD_FLOOR,
): BinStatsJson & { frames: number } {
  const sum = new Float64Array(bins);
  const sq = new Float64Array(bins);
  let frames = 0;
  for (const a of arrays) {
    const t = a.length / bins;
    for (let i = 0; i < t; i++)
      for (let k = 0; k < bins; k++) {
        const v = a[i * bins + k]!;
        sum[k] = sum[k]! + v;
        sq[k] = sq[k]! + v * v;
      }
    frames += t;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < bins; k++) {
    const m = frames > 0 ? sum[k]! / frames : 0;
    const v = frames > 0 ? Math.max(0, sq[k]! / frames - m * m) : 1;
    mean.push(Math.fround(m));
    std.push(Math.fround(Math.max(stdFloor, Math.sqrt(v))));
  }
  return { mean, std, frames };
}

/** The global normaliser from training mixtures (no gain augmentation; see the file comment). */
export function fitSpeechNormaliser(
  mixtures: readonly Mixture[],
  cfg: StftConfig,
  seed: number,
  stdFloor = DEFAULT_STD_FLOOR,
  noiseFloor?: NoiseAwareParams,
): SpeechNormaliser {
  const noisy: Float32Array[] = [];
  const clean: Float32Array[] = [];
  const snr: Float32Array[] = [];
  const prior: Float32Array[] = [];
  let bins = 0;
  for (const m of mixtures) {
    const n = stft(m.noisy, cfg);
    bins = n.bins;
    noisy.push(n.logPower);
    clean.push(stft(m.clean, cfg).logPower);
    if (noiseFloor !== undefined) {
      const [s, p] = addedChannels(n.logPower, bins, cfg, noiseFloor);
      snr.push(s!);
      if (p !== undefined) prior.push(p);
    }
  }
  const input = binStats(noisy, bins, stdFloor);
  const target = binStats(clean, bins, stdFloor);
  const snrStats = noiseFloor !== undefined ? binStats(snr, bins, stdFloor) : undefined;
  const priorStats = prior.length > 0 ? binStats(prior, bins, stdFloor) : undefined;
  return {
    kind: 'global-per-bin',
    bins,
    input: { mean: input.mean, std: input.std },
    target: { mean: target.mean, std: target.std },
    ...(snrStats !== undefined && noiseFloor !== undefined
      ? { snr: { mean: snrStats.mean, std: snrStats.std, noiseFloor } }
      : {}),
    ...(priorStats !== undefined ? { prior: { mean: priorStats.mean, std: priorStats.std } } : {}),
    stdFloor,
    logPowerEpsilon: LOG_POWER_EPSILON,
    mixtures: mixtures.length,
    frames: input.frames,
    seed,
  };
}

/** The noise-aware channels of ln power frames (a fresh stream at the STFT's frame rate; noise-aware.ts). */
function addedChannels(
  logPower: Float32Array,
  bins: number,
  cfg: StftConfig,
  p: NoiseAwareParams,
): Float32Array[] {
  const r = resolveStft(cfg);
  return noiseAwareFrames(logPower, bins, r.sampleRateHz / r.hop, p);
}

/** Audio input channels of a normaliser: the ln power, + the noise-aware ones. */
export function normaliserChannels(n: SpeechNormaliser): number {
  return 1 + (n.snr !== undefined ? noiseAwareChannels(n.snr.noiseFloor) : 0);
}

/**
 * The model's audio input frames: the normalised ln power alone, or (noise-aware) interleaved per bin with the
 * normalised a posteriori SNR (`snr`) and, with a prior channel, the normalised ln ξ (`prior`) of the raw ln
 * power: frames × bins × channels.
 */
function audioInputFrames(
  logPower: Float32Array,
  bins: number,
  cfg: StftConfig,
  normaliser: SpeechNormaliser,
  shift: number,
): Float32Array {
  const z = normaliser.snr;
  if (z === undefined) return normaliseInPlace(logPower, normaliser.input, shift);
  const added = addedChannels(logPower, bins, cfg, z.noiseFloor);
  const stats = [z, normaliser.prior];
  return interleaveChannels([
    normaliseInPlace(logPower, normaliser.input, shift),
    ...added.map((a, i) => {
      const st = stats[i];
      if (st === undefined) throw new Error('speech training: the normaliser lacks the prior SNR statistics');
      return normaliseInPlace(a, st, 0);
    }),
  ]);
}

/** (x + shift − μ[k]) / σ[k] per bin, in place. */
function normaliseInPlace(frames: Float32Array, stats: BinStatsJson, shift: number): Float32Array {
  const bins = stats.mean.length;
  for (let i = 0; i < frames.length; i++) {
    const k = i % bins;
    frames[i] = (frames[i]! + shift - stats.mean[k]!) / stats.std[k]!;
  }
  return frames;
}

/** One mixture's frames, normalised, ready to be cut into examples. */
export interface PreparedMixture {
  readonly id: string;
  readonly frames: number;
  /** frames × bins × audio channels (the model input). */
  readonly noisy: Float32Array;
  /** frames × bins: the target (normalised clean ln power, or the scaled log gain). */
  readonly clean: Float32Array;
  /** frames × bins: the passthrough prediction in target units (absent: zeros, the log-gain target). */
  readonly passthrough?: Float32Array;
  /** frames × bins: the loss weight of each target value (absent: 1; the 'gain' target's signalWeight). */
  readonly weight?: Float32Array;
  /** frames × pixels (aligned crops, zeros where missing); absent for audio-only utterances. */
  readonly mouth?: Float32Array;
  readonly present?: Uint8Array;
}

/** ln-power shift of a gain in dB: 10·log10(P) = dB ⇒ ln(P) = dB·ln(10)/10. */
export function gainToLogPower(gainDb: number): number {
  return (gainDb * Math.LN10) / 10;
}

export function prepareMixture(
  mix: Mixture,
  cfg: StftConfig,
  normaliser: SpeechNormaliser,
  config: AvdcnnConfig,
  gainDb = 0,
  target: SpeechTrainTarget = { kind: 'ln-power' },
  visualCentreS?: number,
): PreparedMixture {
  const n = stft(mix.noisy, cfg);
  const c = stft(mix.clean, cfg);
  if (n.bins !== config.bins || normaliser.bins !== config.bins)
    throw new Error(`speech training: STFT gives ${n.bins} bins, the model wants ${config.bins}`);
  const channels = normaliserChannels(normaliser);
  if (channels !== config.audioChannels)
    throw new Error(
      `speech training: the normaliser gives ${channels} audio channels, the model wants ${config.audioChannels}`,
    );
  const shift = gainToLogPower(gainDb);
  const id = `${mix.utterance}|${mix.noiseId}@${mix.noiseStart}|${mix.snrDb.toFixed(3)}dB`;
  // The gain shift is the same for clean and noisy, so it cancels in the log gain.
  const base =
    target.kind === 'gain'
      ? {
          id,
          frames: n.frames,
          clean: amplitudeGainTarget(c.logPower, n.logPower, target.gainFloorDb),
          passthrough: new Float32Array(n.logPower.length).fill(1),
          ...(target.signalWeight !== undefined
            ? { weight: signalWeights(n.logPower, target.signalWeight) }
            : {}),
          noisy: audioInputFrames(n.logPower, n.bins, cfg, normaliser, shift),
        }
      : target.kind === 'log-gain'
        ? {
            id,
            frames: n.frames,
            clean: logGainTarget(c.logPower, n.logPower, target.gainFloorDb, target.scale),
            noisy: audioInputFrames(n.logPower, n.bins, cfg, normaliser, shift),
          }
        : {
            id,
            frames: n.frames,
            passthrough: normaliseInPlace(n.logPower.slice(), normaliser.target, shift),
            noisy: audioInputFrames(n.logPower, n.bins, cfg, normaliser, shift),
            clean: normaliseInPlace(c.logPower, normaliser.target, shift),
          };
  if (mix.mouth === undefined) return base;
  const pixels = config.mouthHeight * config.mouthWidth;
  if (mix.mouth.frameSize !== pixels)
    throw new Error(
      `speech training: mouth crops of ${mix.mouth.frameSize} values, the model wants ${pixels}`,
    );
  if (mix.mouth.frames !== n.frames)
    throw new Error(
      `speech training: ${mix.mouth.frames} aligned mouth frames for ${n.frames} STFT frames ` +
        '(load the corpus with the training STFT: CorpusLoader option align.stft)',
    );
  const mouth =
    visualCentreS !== undefined
      ? centreAlignedMouth(mix.mouth, centringAlpha(visualCentreS, cfg.hop / cfg.sampleRateHz))
      : mix.mouth;
  return { ...base, mouth: mouth.data, present: mouth.present };
}

/** A reference to frame `t` of prepared mixture `m`. */
type ExampleRef = readonly [m: number, t: number];

/** Fills a batch (see avdcnn.ts layouts) from example references. */
export function fillBatch(
  refs: readonly ExampleRef[],
  items: readonly PreparedMixture[],
  config: AvdcnnConfig,
  context: ContextSpec,
  camera: 'present' | 'absent' = 'present',
): AvdcnnBatch {
  const s = avdcnnShapes(config);
  const n = refs.length;
  const bins = config.bins;
  const fb = bins * config.audioChannels;
  const rows = context.past + 1 + context.future;
  const pixels = s.lip;
  const audio = new Float32Array(n * rows * fb);
  const visual = new Float32Array(n * pixels * rows);
  const clean = new Float32Array(n * bins);
  const weighted = refs.some(([m]) => items[m]!.weight !== undefined);
  const cleanWeight = weighted ? new Float32Array(n * bins).fill(1) : undefined;
  const lip = new Float32Array(n * pixels);
  const videoWeight = new Float32Array(n);
  refs.forEach(([m, t], i) => {
    const p = items[m]!;
    for (let r = 0; r < rows; r++) {
      const src = Math.min(p.frames - 1, Math.max(0, t - context.past + r));
      audio.set(p.noisy.subarray(src * fb, (src + 1) * fb), (i * rows + r) * fb);
      if (p.mouth !== undefined && camera === 'present') {
        const o = i * pixels * rows;
        const f = src * pixels;
        for (let px = 0; px < pixels; px++) visual[o + px * rows + r] = p.mouth[f + px]!;
      }
    }
    clean.set(p.clean.subarray(t * bins, (t + 1) * bins), i * bins);
    if (p.weight !== undefined) cleanWeight!.set(p.weight.subarray(t * bins, (t + 1) * bins), i * bins);
    if (p.mouth !== undefined) {
      lip.set(p.mouth.subarray(t * pixels, (t + 1) * pixels), i * pixels);
      videoWeight[i] = camera === 'present' && p.present?.[t] === 1 ? 1 : 0;
    }
  });
  return { size: n, audio, visual, clean, lip, videoWeight, ...(cleanWeight ? { cleanWeight } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// Rounds of training examples.

interface Round {
  readonly items: PreparedMixture[];
  readonly order: ExampleRef[];
}

function buildRound(
  mixer: SpeechMixer,
  rng: SeededRandom,
  count: number,
  cfg: StftConfig,
  normaliser: SpeechNormaliser,
  config: AvdcnnConfig,
  gainDb: number,
  target: SpeechTrainTarget,
  visualCentreS: number | undefined,
  onMixture: ((m: Mixture) => void) | undefined,
  onPrepared: SpeechTrainOptions['onPrepared'],
): Round {
  const items: PreparedMixture[] = [];
  const order: ExampleRef[] = [];
  for (let k = 0; k < count; k++) {
    const mix = mixer.next();
    onMixture?.(mix);
    const gain = gainDb > 0 ? rng.uniform(-gainDb, gainDb) : 0;
    const p = prepareMixture(mix, cfg, normaliser, config, gain, target, visualCentreS);
    onPrepared?.(mix, p, 'train');
    items.push(p);
    for (let t = 0; t < p.frames; t++) order.push([k, t]);
  }
  rng.shuffle(order);
  return { items, order };
}

/** The validation frames used: every k-th frame of the fixed set, at most `maxFrames`. */
export function validationRefs(items: readonly PreparedMixture[], maxFrames: number): ExampleRef[] {
  const all: ExampleRef[] = [];
  items.forEach((p, m) => {
    for (let t = 0; t < p.frames; t++) all.push([m, t]);
  });
  const stride = Math.max(1, Math.ceil(all.length / maxFrames));
  return all.filter((_, i) => i % stride === 0);
}

/**
 * MSE of the passthrough prediction over the referenced frames, in target units: g = 0 for the log-gain
 * target, G = 1 for 'gain', the noisy ln power (normalised with the target statistics) for 'ln-power';
 * weighted per value as the loss when the mixture carries weights (signal weighting).
 */
export function passthroughMse(items: readonly PreparedMixture[], refs: readonly ExampleRef[]): number {
  let sum = 0;
  let count = 0;
  for (const [m, t] of refs) {
    const p = items[m]!;
    const bins = p.clean.length / p.frames;
    for (let k = t * bins; k < (t + 1) * bins; k++) {
      const d = p.clean[k]! - (p.passthrough?.[k] ?? 0);
      sum += (p.weight?.[k] ?? 1) * d * d;
    }
    count += bins;
  }
  return count > 0 ? sum / count : Number.NaN;
}

/** Validation losses (inference mode) in chunks; see `ValidationResult`. */
export async function validateSpeechModel(
  model: tf.LayersModel,
  items: readonly PreparedMixture[],
  refs: readonly ExampleRef[],
  config: AvdcnnConfig,
  context: ContextSpec,
  chunk = 256,
  underWeight = 0,
): Promise<ValidationResult> {
  const av = refs.filter(([m]) => items[m]!.mouth !== undefined);
  const other = refs.filter(([m]) => items[m]!.mouth === undefined);
  const run = async (
    list: readonly ExampleRef[],
    camera: 'present' | 'absent',
  ): Promise<{ audio: number; video: number; weight: number }> => {
    let audio = 0;
    let video = 0;
    let weight = 0;
    for (let a = 0; a < list.length; a += chunk) {
      const part = list.slice(a, a + chunk);
      const batch = fillBatch(part, items, config, context, camera);
      const l = await avdcnnEvaluate(model, batch, config, underWeight);
      audio += l.audio * part.length;
      video += l.video * part.length; // = Σ w·mse
      weight += batch.videoWeight!.reduce((x, y) => x + y, 0);
    }
    return { audio, video, weight };
  };
  const a0 = await run(other, 'absent');
  const a1 = await run(av, 'present');
  const a2 = await run(av, 'absent');
  const n = refs.length;
  const audio = (a0.audio + a1.audio) / n;
  const audioNoCamera = (a0.audio + a2.audio) / n;
  return {
    criterion: (audio + audioNoCamera) / 2,
    passthrough: passthroughMse(items, refs),
    audio,
    audioNoCamera,
    video: a1.weight > 0 ? a1.video / a1.weight : Number.NaN,
    frames: n,
    avFrames: av.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The training loop.

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Resolved {
  readonly config: AvdcnnConfig;
  readonly stft: StftConfig;
  readonly target: SpeechTrainTarget;
  readonly context: ContextSpec;
  readonly batchSize: number;
  readonly seed: number;
  readonly snrRangeDb: readonly [number, number];
  readonly validationSnrsDb: readonly number[];
  readonly gainDb: number;
  readonly speedFactors: readonly number[];
  readonly visualAugment: boolean;
  readonly visualCentreS: number | undefined;
  readonly noiseTracker: NoiseTrackerKind;
  /** Noise category weights (undefined: uniform). */
  readonly noiseWeights: Readonly<Partial<Record<NoiseCategory, number>>> | undefined;
  /** Extra speech: its share and a hash of its utterances' ids and lengths (undefined: none). */
  readonly extraSpeech:
    { readonly share: number; readonly utterances: number; readonly hash: string } | undefined;
  readonly averageDecay: number | undefined;
  readonly roundMixtures: number;
  readonly normMixtures: number;
  readonly validationFrames: number;
}

function resolveOptions(o: SpeechTrainOptions): Resolved {
  const config = resolveAvdcnnConfig(o.model ?? {});
  const cfg = o.stft ?? defaultStftFor(config.context);
  const int = (v: number | undefined, def: number, name: string): number => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < 1)
      throw new RangeError(`speech training: ${name} must be an integer ≥ 1`);
    return x;
  };
  const gainDb = o.gainDb ?? 10;
  if (!(gainDb >= 0 && Number.isFinite(gainDb))) throw new RangeError('speech training: gainDb must be ≥ 0');
  if (resolveStft(cfg).bins !== config.bins)
    throw new RangeError(
      `speech training: the STFT has ${resolveStft(cfg).bins} bins, the model ${config.bins}`,
    );
  if (o.target !== undefined && !(SPEECH_TRAIN_TARGETS as readonly string[]).includes(o.target))
    throw new RangeError(
      `speech training: target ${JSON.stringify(o.target)} (${SPEECH_TRAIN_TARGETS.join(', ')})`,
    );
  if (![1, 2, 3].includes(config.audioChannels))
    throw new RangeError(
      `speech training: audioChannels ${config.audioChannels} (1: ln power; 2: noise-aware, + a posteriori SNR; ` +
        '3: + a priori SNR)',
    );
  const kind = o.target ?? 'log-gain';
  const target: SpeechTrainTarget =
    kind === 'log-gain'
      ? logGainTrainTarget(o.gainFloorDb)
      : kind === 'gain'
        ? {
            kind: 'gain',
            gainFloorDb: checkGainFloor(o.gainFloorDb ?? LOG_GAIN_FLOOR_DB),
            ...(o.signalWeight !== undefined ? { signalWeight: checkSignalWeight(o.signalWeight) } : {}),
            ...(o.underWeight !== undefined ? { underWeight: checkUnderWeight(o.underWeight) } : {}),
          }
        : { kind: 'ln-power' };
  if (o.signalWeight !== undefined && kind !== 'gain')
    throw new RangeError(`speech training: signalWeight needs the 'gain' target, not '${kind}'`);
  if (o.underWeight !== undefined && kind !== 'gain')
    throw new RangeError(`speech training: underWeight needs the 'gain' target, not '${kind}'`);
  if (o.visualCentreS !== undefined) {
    const why = centringError(o.visualCentreS);
    if (why !== undefined) throw new RangeError(`speech training: ${why}`);
  }
  const noiseTracker = o.noiseTracker ?? 'minimum';
  if (!(NOISE_TRACKERS as readonly string[]).includes(noiseTracker))
    throw new RangeError(
      `speech training: noiseTracker ${JSON.stringify(noiseTracker)} (${NOISE_TRACKERS.join(', ')})`,
    );
  if (noiseTracker !== 'minimum' && config.audioChannels === 1)
    throw new RangeError(
      'speech training: a noise tracker needs the noise-aware input (audioChannels 2 or 3)',
    );
  return {
    config,
    stft: cfg,
    target,
    context: contextSpecOf(config),
    batchSize: int(o.batchSize, 32, 'batchSize'),
    seed: o.seed ?? 1,
    snrRangeDb: o.snrRangeDb ?? [-5, 15],
    validationSnrsDb: o.validationSnrsDb ?? [-5, 0, 5],
    gainDb,
    speedFactors: o.speedFactors ?? [],
    visualAugment: o.visualAugment ?? false,
    visualCentreS: o.visualCentreS,
    noiseTracker,
    noiseWeights: o.noiseWeights,
    extraSpeech: extraSpeechOf(o),
    averageDecay: o.averageDecay !== undefined ? checkAverageDecay(o.averageDecay) : undefined,
    roundMixtures: int(o.roundMixtures, 64, 'roundMixtures'),
    normMixtures: int(o.normMixtures, 128, 'normMixtures'),
    validationFrames: int(o.validationFrames, 4096, 'validationFrames'),
  };
}

function extraSpeechOf(o: SpeechTrainOptions): Resolved['extraSpeech'] {
  const extra = o.train.extra ?? [];
  if (extra.length === 0) {
    if (o.extraShare !== undefined) throw new RangeError('speech training: extraShare without extra speech');
    return undefined;
  }
  const share = o.extraShare ?? DEFAULT_EXTRA_SHARE;
  if (!(share >= 0 && share <= 1))
    throw new RangeError(`speech training: extraShare ${share} outside [0, 1]`);
  const list = extra.map((u) => `${u.entry.id}:${u.samples.length}`).sort();
  return { share, utterances: extra.length, hash: sha256(list.join('\n')) };
}

/** The run's data options for its id (see `SpeechMixingRecord`). */
function mixingRecordOf(r: Resolved): SpeechMixingRecord {
  return {
    ...(r.speedFactors.length > 0 ? { speedFactors: r.speedFactors } : {}),
    ...(r.visualAugment ? { visualAugment: true as const } : {}),
    ...(r.visualCentreS !== undefined ? { visualCentreS: r.visualCentreS } : {}),
    ...(r.noiseWeights !== undefined ? { noiseWeights: r.noiseWeights } : {}),
    ...(r.extraSpeech !== undefined ? { extraShare: r.extraSpeech.share } : {}),
  };
}

/**
 * The id's part for the data options: `-speed0.9_1_1.1`, `-noise-car-interior3` (categories in name order),
 * `-extra0.1` (the share of extra speech), `-mouthaug`, `-mouthcentre1` (centred crops, τ in s); empty
 * without any.
 */
export function mixingIdPart(m: SpeechMixingRecord | undefined): string {
  if (m === undefined) return '';
  const weights = Object.entries(m.noiseWeights ?? {})
    .filter((e): e is [string, number] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, w]) => `-${k}${w}`)
    .join('');
  return (
    (m.speedFactors !== undefined && m.speedFactors.length > 0 ? `-speed${m.speedFactors.join('_')}` : '') +
    (weights !== '' ? `-noise${weights}` : '') +
    (m.extraShare !== undefined ? `-extra${m.extraShare}` : '') +
    (m.visualAugment === true ? '-mouthaug' : '') +
    (m.visualCentreS !== undefined ? `-mouthcentre${m.visualCentreS}` : '')
  );
}

function fingerprintOf(r: Resolved, splitHash: string, initFrom?: SpeechInitSource): string {
  // audioChannels 1 is left out, so runs from before the noise-aware input keep their fingerprint.
  const { audioChannels, ...rest } = r.config;
  return sha256(
    canonicalJson({
      config: audioChannels === 1 ? rest : r.config,
      stft: stftJson(r.stft),
      batchSize: r.batchSize,
      seed: r.seed,
      snrRangeDb: r.snrRangeDb,
      validationSnrsDb: r.validationSnrsDb,
      gainDb: r.gainDb,
      roundMixtures: r.roundMixtures,
      normMixtures: r.normMixtures,
      validationFrames: r.validationFrames,
      // Absent for 'ln-power', so runs from before the log-gain target keep their fingerprint.
      ...(r.target.kind !== 'ln-power' ? { target: r.target } : {}),
      // Absent without speed perturbation, so earlier runs keep their fingerprint.
      ...(r.speedFactors.length > 0 ? { speedFactors: r.speedFactors } : {}),
      // Absent without mouth-crop augmentation, so earlier runs keep their fingerprint.
      ...(r.visualAugment ? { visualAugment: true } : {}),
      // Absent for raw crops, so earlier runs keep their fingerprint.
      ...(r.visualCentreS !== undefined ? { visualCentreS: r.visualCentreS } : {}),
      // Absent for the minimum-statistics tracker, so earlier runs keep their fingerprint.
      ...(r.noiseTracker !== 'minimum' ? { noiseTracker: r.noiseTracker } : {}),
      // Absent without category weights, so earlier runs keep their fingerprint.
      ...(r.noiseWeights !== undefined ? { noiseWeights: r.noiseWeights } : {}),
      // Absent without extra speech, so earlier runs keep their fingerprint.
      ...(r.extraSpeech !== undefined ? { extraSpeech: r.extraSpeech } : {}),
      // Absent without weight averaging, so earlier runs keep their fingerprint.
      ...(r.averageDecay !== undefined ? { averageDecay: r.averageDecay } : {}),
      // Absent for runs from scratch, so earlier runs keep their fingerprint.
      ...(initFrom !== undefined
        ? { initFrom: { fingerprint: initFrom.fingerprint, step: initFrom.step } }
        : {}),
      splitHash,
    }),
  );
}

function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** The newest checkpoint's state without loading tensors (null: none). */
async function peekLatest(store: CheckpointStore): Promise<TrainingState | null> {
  const list = await store.list();
  return list.at(-1)?.state ?? null;
}

function speechExtra(state: TrainingState, dir: string): SpeechTrainExtra {
  const e = state.extra as SpeechTrainExtra | undefined;
  if (e?.format !== 'drivesense.speech-train' || e.version !== 1)
    throw new Error(`${dir}: not a speech training checkpoint (drivesense.speech-train v1)`);
  // Checkpoints from before a config field (e.g. audioChannels) get its default.
  return { ...e, config: resolveAvdcnnConfig(e.config) };
}

/** What must equal between a fine-tuning run and its source; names the first difference (null: none). */
function initMismatch(r: Resolved, source: SpeechTrainExtra, splitHash: string): string | null {
  const { learningRate: _a, ...mine } = r.config;
  const { learningRate: _b, ...theirs } = source.config;
  const pairs: [string, unknown, unknown][] = [
    ['model config (all but the learning rate)', mine, theirs],
    ['STFT', stftJson(r.stft), source.stft],
    ['target', r.target, source.target ?? { kind: 'ln-power' }],
    ['split', splitHash, source.splitHash],
    // Centred mouth input changes what the visual branch was trained on (absent: raw crops).
    ['visual centring (s)', r.visualCentreS ?? null, source.mixing?.visualCentreS ?? null],
  ];
  for (const [what, a, b] of pairs) {
    if (canonicalJson(a) !== canonicalJson(b))
      return `${what}: ${canonicalJson(a)} here, ${canonicalJson(b)} in the source`;
  }
  return null;
}

/**
 * The source of a fine-tuning run (`SpeechTrainOptions.initFrom`), checked against this run's options: a
 * speech checkpoint directory other than the run's own, with a best step and the same model, STFT, target
 * and split. Throws with the reason otherwise.
 */
async function initSourceOf(
  dir: string,
  checkpointDir: string,
  r: Resolved,
  splitHash: string,
): Promise<{ source: SpeechInitSource; extra: SpeechTrainExtra }> {
  if (path.resolve(dir) === path.resolve(checkpointDir))
    throw new Error(`speech training: initFrom ${dir} is the run's own checkpoint directory`);
  const latest = await peekLatest(new CheckpointStore(dir));
  if (latest === null) throw new Error(`speech training: initFrom: no checkpoint in ${dir}`);
  const extra = speechExtra(latest, dir);
  if (extra.bestStep === null)
    throw new Error(`speech training: initFrom: ${dir} has no validated best step`);
  const why = initMismatch(r, extra, splitHash);
  if (why !== null) throw new Error(`speech training: initFrom ${dir} is another model — ${why}`);
  return {
    source: {
      dir: path.resolve(dir),
      fingerprint: extra.fingerprint,
      id: speechModelId(extra, latest),
      step: extra.bestStep,
      score: latest.bestScore,
    },
    extra,
  };
}

/**
 * Trains (or resumes training of) AVDCNN; see the file comment. Returns when early stopping, the step limit,
 * the time budget or the abort signal ends training.
 */
export async function trainSpeechModel(o: SpeechTrainOptions): Promise<SpeechTrainResult> {
  const r = resolveOptions(o);
  const { config, context, batchSize } = r;
  const log = o.log ?? (() => undefined);
  const now = o.now ?? Date.now;
  const t0 = now();
  const validationEvery = o.validationEvery ?? 500;
  const checkpointEvery = o.checkpointEvery ?? 250;
  const patience = o.patience ?? 10;
  const minDelta = o.minDelta ?? 1e-4;
  const maxSteps = o.maxSteps ?? 100_000;
  const timeBudgetS = o.timeBudgetS ?? Number.POSITIVE_INFINITY;
  const logEvery = o.logEvery ?? 50;

  assertDisjoint(o.split);
  const init =
    o.initFrom !== undefined ? await initSourceOf(o.initFrom, o.checkpointDir, r, o.split.hash) : undefined;
  const fingerprint = fingerprintOf(r, o.split.hash, init?.source);
  const mixerSeed = fnv1a(`speech-mixer|${r.seed}`);
  const rngSeed = fnv1a(`speech-trainer|${r.seed}`);
  const normSeed = fnv1a(`speech-normaliser|${r.seed}`);
  const store = new CheckpointStore(o.checkpointDir, { keep: o.keepCheckpoints ?? 3 });

  // Normaliser: from the checkpoint when resuming, else from fresh training mixtures.
  const previous = await peekLatest(store);
  let normaliser: SpeechNormaliser;
  if (previous !== null) {
    const e = speechExtra(previous, o.checkpointDir);
    if (e.fingerprint !== fingerprint)
      throw new Error(
        `${o.checkpointDir} holds a run with another configuration (model, STFT, batch, seed, data options ` +
          'or split differ): use another checkpoint directory or the same options',
      );
    normaliser = e.normaliser;
  } else if (init !== undefined) {
    normaliser = init.extra.normaliser;
    log(`normaliser: from ${init.source.id} (${init.source.dir})`);
  } else {
    const nm = new SpeechMixer(o.split, 'train', o.train, {
      seed: normSeed,
      snrRangeDb: r.snrRangeDb,
      ...(r.noiseWeights !== undefined ? { categoryWeights: r.noiseWeights } : {}),
      ...(r.extraSpeech !== undefined ? { extraShare: r.extraSpeech.share } : {}),
    });
    const mixtures = Array.from({ length: r.normMixtures }, () => {
      const m = nm.next();
      o.onMixture?.(m);
      return m;
    });
    normaliser = fitSpeechNormaliser(
      mixtures,
      r.stft,
      normSeed,
      DEFAULT_STD_FLOOR,
      noiseAwareParamsFor(config.audioChannels, r.stft, r.noiseTracker),
    );
    log(
      `normaliser: per-bin mean/std of ln power from ${normaliser.mixtures} training mixtures ` +
        `(${normaliser.frames} frames)`,
    );
  }

  // Validation set (fixed).
  const valMixtures = buildEvaluationSet(o.split, 'validation', o.validation, { snrsDb: r.validationSnrsDb });
  const valItems = valMixtures.map((m) => {
    const p = prepareMixture(m, r.stft, normaliser, config, 0, r.target, r.visualCentreS);
    o.onPrepared?.(m, p, 'validation');
    return p;
  });
  const valRefs = validationRefs(valItems, r.validationFrames);
  log(
    `validation: ${valMixtures.length} mixtures (SNR ${r.validationSnrsDb.join('/')} dB), ` +
      `${valRefs.length} of ${valItems.reduce((a, p) => a + p.frames, 0)} frames used; target ` +
      (r.target.kind === 'log-gain'
        ? `log-gain (G_min ${r.target.gainFloorDb} dB, scale 1/${r.target.scale.toFixed(4)})`
        : r.target.kind === 'gain'
          ? `gain (truncated magnitude mask, G_min ${r.target.gainFloorDb} dB` +
            (r.target.signalWeight !== undefined
              ? `, loss weighted by noisy power^${r.target.signalWeight}`
              : '') +
            (r.target.underWeight !== undefined
              ? `, a gain below its target costs ${1 + r.target.underWeight}×)`
              : ')')
          : 'ln-power'),
  );

  const model = buildAvdcnn(config, r.seed);
  // The asymmetric loss's β (0: the plain MSE), for the training steps and the validation rounds alike.
  const underWeight = r.target.kind === 'gain' ? (r.target.underWeight ?? 0) : 0;
  // A new fine-tuning run starts from the source's best weights (before the average, which starts from them).
  if (previous === null && init !== undefined) {
    const src = await loadBestSpeechCheckpoint(init.source.dir);
    model.setWeights(src.model.getWeights());
    src.model.dispose();
  }
  const optimizer = createAvdcnnOptimizer(config);
  let state: TrainingState = initialTrainingState(new SeededRandom(rngSeed).state);
  const mixing = mixingRecordOf(r);
  let extra: SpeechTrainExtra = {
    format: 'drivesense.speech-train',
    version: 1,
    fingerprint,
    config,
    stft: stftJson(r.stft),
    normaliser,
    ...(r.target.kind !== 'ln-power' ? { target: r.target } : {}),
    splitHash: o.split.hash,
    batchSize,
    seed: r.seed,
    mixerSeed,
    roundMixerPosition: 0,
    roundRng: new SeededRandom(rngSeed).state,
    roundConsumed: 0,
    rounds: 0,
    mixtures: 0,
    examples: 0,
    bestStep: null,
    lastValidationStep: 0,
    trainSeconds: 0,
    bestScoreIs: 'lower',
    ...(o.data !== undefined ? { data: o.data } : {}),
    ...(r.averageDecay !== undefined ? { averageDecay: r.averageDecay } : {}),
    ...(init !== undefined ? { initFrom: init.source } : {}),
    ...(Object.keys(mixing).length > 0 ? { mixing } : {}),
  };
  // The average starts at the initial weights (a fresh run) or comes from the checkpoint (a resume).
  const average = r.averageDecay !== undefined ? WeightAverage.of(model, r.averageDecay) : undefined;
  const resumed = await store.loadLatest(
    model,
    optimizer,
    average !== undefined ? { onAverage: (t) => average.set(t) } : {},
  );
  if (resumed !== null) {
    state = resumed.state;
    extra = { ...speechExtra(state, o.checkpointDir), ...(o.data !== undefined ? { data: o.data } : {}) };
    log(
      `resumed from ${resumed.path} at step ${state.step} (best validation ${state.bestScore?.toFixed(4) ?? '—'}` +
        `${extra.bestStep !== null ? ` at step ${extra.bestStep}` : ''})`,
    );
  } else {
    const p = avdcnnParameterCount(config);
    if (init !== undefined)
      log(
        `fine-tuning ${init.source.id} (best validation ${init.source.score?.toFixed(4) ?? '—'}) at learning ` +
          `rate ${config.learningRate}, fresh optimiser`,
      );
    log(
      `new run: AVDCNN ${config.context}, FC ${config.fc1Units}/${config.fc2Units}/${config.fcAudioUnits}/` +
        `${config.fcVisualUnits}, ${p.total} parameters, batch ${batchSize}, STFT ${r.stft.windowLength}/${r.stft.hop}` +
        (average !== undefined ? `; validates the weights' moving average (decay ${average.decay})` : ''),
    );
  }

  // Rebuild the current round exactly (or start the first one).
  const mixer = new SpeechMixer(o.split, 'train', o.train, {
    seed: mixerSeed,
    position: extra.roundMixerPosition,
    snrRangeDb: r.snrRangeDb,
    ...(r.speedFactors.length > 0 ? { speedFactors: r.speedFactors } : {}),
    ...(r.visualAugment ? { visualAugment: true } : {}),
    ...(r.noiseWeights !== undefined ? { categoryWeights: r.noiseWeights } : {}),
    ...(r.extraSpeech !== undefined ? { extraShare: r.extraSpeech.share } : {}),
  });
  let roundRng = extra.roundRng;
  let roundMixerPosition = extra.roundMixerPosition;
  let rng = SeededRandom.fromState(roundRng);
  // A round: the next roundMixtures mixtures' frames, shuffled with the current generator.
  const nextRound = () =>
    buildRound(
      mixer,
      rng,
      r.roundMixtures,
      r.stft,
      normaliser,
      config,
      r.gainDb,
      r.target,
      r.visualCentreS,
      o.onMixture,
      o.onPrepared,
    );
  let round = nextRound();
  let consumed = extra.roundConsumed;
  if (resumed !== null) rng = SeededRandom.fromState(state.rng);
  let rounds = extra.rounds;
  let mixtures = extra.mixtures + (resumed === null ? r.roundMixtures : 0);
  if (resumed === null) rounds = 1;

  const snapshot = (): void => {
    extra = {
      ...extra,
      roundMixerPosition,
      roundRng,
      roundConsumed: consumed,
      rounds,
      mixtures,
      trainSeconds: extra.trainSeconds + (now() - lastClock) / 1000,
    };
    lastClock = now();
    state = { ...state, rng: rng.state, extra };
  };
  let lastClock = t0;
  const save = async (best = false): Promise<void> => {
    snapshot();
    await store.save(model, state, optimizer, {
      best,
      ...(average !== undefined ? { average: average.tensors() } : {}),
    });
  };

  const validate = async (): Promise<boolean> => {
    const run = () => validateSpeechModel(model, valItems, valRefs, config, context, 256, underWeight);
    const v = average !== undefined ? await average.withAveraged(run) : await run();
    const improved = state.bestScore === null || v.criterion < state.bestScore - minDelta;
    state.epoch++;
    if (improved) {
      state.bestScore = v.criterion;
      state.bestEpoch = state.epoch;
      state.epochsWithoutImprovement = 0;
      extra = { ...extra, bestStep: state.step };
    } else state.epochsWithoutImprovement++;
    extra = { ...extra, lastValidationStep: state.step };
    const entry: Record<string, number> = {
      step: state.step,
      examples: extra.examples,
      trainLoss: windowLoss.n > 0 ? windowLoss.total / windowLoss.n : Number.NaN,
      trainAudio: windowLoss.n > 0 ? windowLoss.audio / windowLoss.n : Number.NaN,
      valCriterion: v.criterion,
      valPassthrough: v.passthrough,
      valAudio: v.audio,
      valAudioNoCamera: v.audioNoCamera,
      valVideo: v.video,
      elapsedS: Math.round(extra.trainSeconds + (now() - lastClock) / 1000),
    };
    state.history.push(entry);
    windowLoss = { total: 0, audio: 0, n: 0 };
    log(
      `validation @ step ${state.step}: ${r.target.kind} MSE ${v.criterion.toFixed(4)} ` +
        `(passthrough ${v.passthrough.toFixed(4)}; camera ${v.audio.toFixed(4)}, ` +
        `no camera ${v.audioNoCamera.toFixed(4)}; lip ${Number.isNaN(v.video) ? '—' : v.video.toFixed(4)})` +
        `${improved ? ' (best)' : ` (best ${state.bestScore?.toFixed(4)} @ step ${extra.bestStep}, ${state.epochsWithoutImprovement}/${patience})`}`,
    );
    await save(improved);
    return improved;
  };

  let windowLoss = { total: 0, audio: 0, n: 0 };
  let logLoss = { total: 0, audio: 0, video: 0, n: 0 };
  let logClock = now();
  let stepsThisRun = 0;
  let status: SpeechTrainStatus | undefined;
  const budgetLeft = (): boolean => (now() - t0) / 1000 < timeBudgetS;
  // A fine-tuning run's starting point is its first best: it keeps the source's weights unless it beats them.
  if (resumed === null && init !== undefined) await validate();

  while (status === undefined) {
    // Yield to the event loop once a step: the wasm backend's data() resolves without I/O, so without this
    // the loop would be one long chain of microtasks and signal handlers (SIGINT/SIGTERM) would never run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (state.step >= maxSteps) status = 'max-steps';
    else if (state.epochsWithoutImprovement >= patience) status = 'early-stopped';
    else if (!budgetLeft()) status = 'time-budget';
    else if (o.signal?.aborted === true) status = 'interrupted';
    if (status !== undefined) break;

    if (round.order.length - consumed < batchSize) {
      roundMixerPosition = mixer.rng.state.position;
      roundRng = rng.state;
      round = nextRound();
      if (round.order.length < batchSize)
        throw new Error(
          `speech training: a round of ${r.roundMixtures} mixtures has fewer frames than a batch`,
        );
      consumed = 0;
      rounds++;
      mixtures += r.roundMixtures;
    }
    const refs = round.order.slice(consumed, consumed + batchSize);
    consumed += batchSize;
    o.onBatch?.(
      state.step + 1,
      refs.map(([m, t]) => `${round.items[m]!.id}#${t}`),
    );
    const raw = fillBatch(refs, round.items, config, context);
    const { batch } = zeroVisual(raw, config.visualAbsentProbability, rng);
    const loss = await avdcnnTrainStep(model, optimizer, batch, config, underWeight);
    if (!Number.isFinite(loss.total))
      throw new Error(`speech training: the loss is ${loss.total} at step ${state.step + 1}`);
    average?.update(state.step);
    state.step++;
    stepsThisRun++;
    extra = { ...extra, examples: extra.examples + batchSize };
    windowLoss = {
      total: windowLoss.total + loss.total,
      audio: windowLoss.audio + loss.audio,
      n: windowLoss.n + 1,
    };
    logLoss = {
      total: logLoss.total + loss.total,
      audio: logLoss.audio + loss.audio,
      video: logLoss.video + loss.video,
      n: logLoss.n + 1,
    };
    o.onStep?.(state.step, loss);

    if (state.step % logEvery === 0) {
      const dt = (now() - logClock) / 1000;
      const total = extra.trainSeconds + (now() - lastClock) / 1000;
      const last = state.history.at(-1);
      log(
        `step ${state.step} | ${dt > 0 ? ((logLoss.n * batchSize) / dt).toFixed(1) : '—'} ex/s | train loss ` +
          `${(logLoss.total / logLoss.n).toFixed(4)} (audio ${(logLoss.audio / logLoss.n).toFixed(4)}, lip ` +
          `${(logLoss.video / logLoss.n).toFixed(4)}) | val ${last?.['valCriterion']?.toFixed(4) ?? '—'} ` +
          `(best ${state.bestScore?.toFixed(4) ?? '—'}) | elapsed ${formatDuration(total)}`,
      );
      logLoss = { total: 0, audio: 0, video: 0, n: 0 };
      logClock = now();
    }
    if (state.step % validationEvery === 0) await validate();
    else if (state.step % checkpointEvery === 0) await save();
  }

  const trainEnd = now();
  if (status === 'interrupted') {
    await save();
    log(`interrupted at step ${state.step}: checkpoint saved; run the same command again to resume`);
  } else {
    if (extra.lastValidationStep !== state.step && state.step > 0) await validate();
    else await save();
    const why =
      status === 'early-stopped'
        ? `early stopping (${patience} validation rounds without improvement)`
        : status === 'max-steps'
          ? `the step limit (${maxSteps})`
          : 'the time budget';
    const best = await store.loadBest(model, undefined, average !== undefined ? { weights: 'average' } : {});
    log(
      `stopped at step ${state.step} by ${why}; best validation ${state.bestScore?.toFixed(4) ?? '—'} at step ` +
        `${extra.bestStep ?? '—'}${best !== null ? ` (restored from ${best.path})` : ''}`,
    );
  }
  optimizer.dispose();
  average?.dispose();
  const seconds = (trainEnd - t0) / 1000;
  return {
    status,
    model,
    config,
    stft: r.stft,
    context,
    normaliser,
    state,
    extra,
    examplesPerS: seconds > 0 ? (stepsThisRun * batchSize) / seconds : 0,
  };
}

/**
 * The best checkpoint of a run (for `--export-only`): the model is built from the config stored in the
 * checkpoint and the best weights restored. Throws when there is no checkpoint.
 */
export async function loadBestSpeechCheckpoint(checkpointDir: string): Promise<{
  model: tf.LayersModel;
  state: TrainingState;
  extra: SpeechTrainExtra;
}> {
  const store = new CheckpointStore(checkpointDir);
  const latest = await peekLatest(store);
  if (latest === null) throw new Error(`no checkpoint in ${checkpointDir}`);
  const extra0 = speechExtra(latest, checkpointDir);
  const model = buildAvdcnn(extra0.config, extra0.seed);
  const weights: LoadOptions = extra0.averageDecay !== undefined ? { weights: 'average' } : {};
  const best =
    (await store.loadBest(model, undefined, weights)) ?? (await store.loadLatest(model, undefined, weights));
  if (best === null) {
    model.dispose();
    throw new Error(`no usable checkpoint in ${checkpointDir}`);
  }
  // The latest state has the full history; the best checkpoint's weights.
  return { model, state: latest, extra: speechExtra(latest, checkpointDir) };
}

// ---------------------------------------------------------------------------------------------------------
// Export, parity, report.

export const NOISE_TRACKERS = ['minimum', 'spp'] as const;
export type NoiseTrackerKind = (typeof NOISE_TRACKERS)[number];

/**
 * The noise-aware input of a new run with `audioChannels` (1: none; 2: the a posteriori SNR; 3: + the prior
 * SNR), the STFT's zero-padded start frames held. With the 'spp' tracker the prior SNR's bias factor is that
 * tracker's (`SPP_PRIOR_BIAS`, spp-noise.ts).
 */
export function noiseAwareParamsFor(
  audioChannels: number,
  cfg: StftConfig,
  tracker: NoiseTrackerKind = 'minimum',
): NoiseAwareParams | undefined {
  if (audioChannels === 1) return undefined;
  const r = resolveStft(cfg);
  const spp = tracker === 'spp';
  return {
    ...DEFAULT_NOISE_FLOOR,
    startHoldFrames: paddedStartFrames(r.windowLength, r.hop),
    ...(spp ? { spp: DEFAULT_SPP_NOISE } : {}),
    ...(audioChannels === 3
      ? { prior: spp ? { ...DEFAULT_PRIOR_SNR, bias: SPP_PRIOR_BIAS } : DEFAULT_PRIOR_SNR }
      : {}),
  };
}

/** The sidecar's `noiseAware`: the input's parameters with each added channel's statistics. */
export function sidecarNoiseAware(
  n: SpeechNormaliser,
  snr: NonNullable<SpeechNormaliser['snr']>,
): SpeechNoiseAware {
  const { prior, ...floor } = snr.noiseFloor;
  if (prior !== undefined && n.prior === undefined)
    throw new Error('speech training: the normaliser lacks the prior SNR statistics');
  return {
    ...floor,
    mean: snr.mean,
    std: snr.std,
    ...(prior !== undefined && n.prior !== undefined
      ? { prior: { ...prior, mean: n.prior.mean, std: n.prior.std } }
      : {}),
  };
}

/**
 * Identifier of a trained model: context frames and dropout when not the paper's (5, 0.1), input channels,
 * sizes, target (none for the default log-gain; G_min when not the default), loss weighting, the data options
 * (`mixingIdPart`; runs recorded before them have none), weight averaging, seed and the step of the weights.
 * A fine-tuning run: its source's id, `-ft-lr…`, its own data options, averaging, seed and step.
 */
export function speechModelId(extra: SpeechTrainExtra, state: TrainingState): string {
  const c = extra.config;
  const t = extra.target;
  const kind = t === undefined || t.kind === 'ln-power' ? '-lnpower' : t.kind === 'gain' ? '-gain' : '';
  const floor =
    t !== undefined && t.kind !== 'ln-power' && t.gainFloorDb !== LOG_GAIN_FLOOR_DB
      ? `-floor${t.gainFloorDb}`
      : '';
  const weighting =
    (t?.kind === 'gain' && t.signalWeight !== undefined ? `-sw${t.signalWeight}` : '') +
    (t?.kind === 'gain' && t.underWeight !== undefined ? `-uw${t.underWeight}` : '');
  const averaged = extra.averageDecay !== undefined ? `-ema${extra.averageDecay}` : '';
  const step = `-seed${extra.seed}-step${extra.bestStep ?? state.step}`;
  // A fine-tuning run: its source's id, then what it changed (the learning rate), seed and step.
  const data = mixingIdPart(extra.mixing);
  if (extra.initFrom !== undefined)
    return `${extra.initFrom.id}-ft-lr${c.learningRate}${data}${averaged}${step}`;
  const dropout = c.dropout !== AVDCNN_DEFAULTS.dropout ? `-drop${c.dropout}` : '';
  const frames = c.contextFrames !== AVDCNN_DEFAULTS.contextFrames ? `-ctx${c.contextFrames}` : '';
  const spp = extra.normaliser.snr?.noiseFloor.spp !== undefined ? 'spp' : '';
  return (
    `avdcnn-${c.context}${frames}${['', '', '-na', '-na3'][c.audioChannels] ?? ''}${spp}-${c.fc1Units}-${c.fc2Units}-${c.fcAudioUnits}-${c.fcVisualUnits}${dropout}` +
    `${kind}${floor}${weighting}${data}${averaged}${step}`
  );
}

/**
 * The sidecar's `metadata.speech` for a trained model, in the serving schema (speech-model-meta.ts, read by
 * the enhancer): the full config, the STFT, `normalization: global` (input statistics), `target: global`
 * (clean statistics, undone by the enhancer), `output: spectrum`, and the training record (id, context
 * frames, algorithmic delay, normaliser provenance, split hash, history, data, …).
 */
export function trainedSpeechModelMeta(
  extra: SpeechTrainExtra,
  state: TrainingState,
  training: Readonly<Record<string, unknown>>,
): SpeechModelMeta {
  const config = extra.config;
  const ctx = contextSpecOf(config);
  const n = extra.normaliser;
  const t = extra.target ?? { kind: 'ln-power' };
  const target: SpeechTarget =
    t.kind === 'log-gain'
      ? { kind: 'log-gain', gainFloorDb: t.gainFloorDb, scale: t.scale }
      : t.kind === 'gain'
        ? { kind: 'gain', gainFloorDb: t.gainFloorDb }
        : { kind: 'global', mean: n.target.mean, std: n.target.std };
  return speechModelMeta(
    config,
    extra.stft,
    { kind: 'global', mean: n.input.mean, std: n.input.std },
    {
      ...(n.snr !== undefined ? { noiseAware: sidecarNoiseAware(n, n.snr) } : {}),
      ...(extra.mixing?.visualCentreS !== undefined
        ? { visualInput: { kind: 'centred' as const, timeConstantS: extra.mixing.visualCentreS } }
        : {}),
      target,
      output: t.kind === 'ln-power' ? 'spectrum' : 'mask',
      training: {
        id: speechModelId(extra, state),
        splitHash: extra.splitHash,
        context: { mode: config.context, ...ctx, currentFrameIndex: currentFrameIndex(config) },
        algorithmicDelayMs: algorithmicDelay(extra.stft, ctx.future).ms,
        ...(extra.averageDecay !== undefined
          ? { weights: `exponential moving average of the training weights, decay ${extra.averageDecay}` }
          : {}),
        ...(extra.initFrom !== undefined ? { initFrom: extra.initFrom } : {}),
        features:
          'ln(|X|^2 + 1e-10) per bin of a periodic-Hann STFT; input row r of frame t = normalised noisy frame ' +
          't - past + r (oldest first, edge frames repeated)' +
          (n.snr !== undefined
            ? ', interleaved per bin with the normalised a posteriori SNR lnP - ln(noise floor)' +
              (n.prior !== undefined ? ' and the normalised decision-directed ln a priori SNR' : '') +
              ' (noiseAware)'
            : '') +
          '; visual = mouth crops of the same frames as channels' +
          (extra.mixing?.visualCentreS !== undefined
            ? `, each minus the causal running mean (τ ${extra.mixing.visualCentreS} s) of the crops before it (visualInput)`
            : '') +
          ' (zeros = camera absent)',
        normaliser: {
          kind: n.kind,
          stdFloor: n.stdFloor,
          logPowerEpsilon: n.logPowerEpsilon,
          mixtures: n.mixtures,
          frames: n.frames,
          seed: n.seed,
          apply:
            'fixed, stateless: input (lnP[k] - normalization.mean[k]) / normalization.std[k]; enhanced ' +
            (t.kind === 'log-gain'
              ? 'lnP[k] = lnX[k] + clamp(clean[k] * target.scale, 2 ln G_min, 0), G_min = target.gainFloorDb ' +
                '(amplitude dB), with the noisy phase'
              : t.kind === 'gain'
                ? 'lnP[k] = lnX[k] + 2 ln clamp(clean[k], G_min, 1), G_min = target.gainFloorDb (amplitude dB), ' +
                  'with the noisy phase'
                : 'lnP[k] = clean[k] * target.std[k] + target.mean[k]'),
        },
        ...training,
      },
      scores: {},
    },
  );
}

export async function exportSpeechModel(
  model: tf.LayersModel,
  meta: SpeechModelMeta,
  id: string,
  onnxPath: string,
): Promise<SavedOnnxModel> {
  return saveOnnxModel(model, onnxPath, {
    graphName: model.name,
    docString: `drivesense speech enhancer ${id}: AVDCNN (Hou et al. 2018), ${meta.model.context} context`,
    metadata: { speech: meta },
  });
}

export interface SpeechParity {
  readonly clean: number;
  readonly lip: number;
  readonly maxAbs: number;
}

/**
 * Max abs difference between TF.js (inference mode) and ONNX Runtime on `batch` seeded inputs: normal
 * audio, uniform [0, 1) visual, the last quarter of the batch with the visual input zeroed (camera absent).
 */
export async function speechParity(
  model: tf.LayersModel,
  onnxPath: string,
  config: AvdcnnConfig,
  batch = 16,
  seed = 7,
): Promise<SpeechParity> {
  const s = avdcnnShapes(config);
  const rng = new SeededRandom(seed);
  const audioDims = [batch, ...s.audioInput];
  const visualDims = [batch, ...s.visualInput];
  const audio = rng.floats(
    audioDims.reduce((a, b) => a * b, 1),
    () => rng.normal(),
  );
  const visual = rng.floats(visualDims.reduce((a, b) => a * b, 1));
  const per = visual.length / batch;
  visual.fill(0, Math.ceil((batch * 3) / 4) * per);
  const ref = tf.tidy(() => {
    const ys = model.predict([tf.tensor(audio, audioDims), tf.tensor(visual, visualDims)]) as tf.Tensor[];
    return ys.map((y) => y.dataSync() as Float32Array);
  });
  const session = await OnnxSession.create(onnxPath);
  try {
    const out = await session.run({
      [AVDCNN_INPUT_NAMES.audio]: { data: audio, dims: audioDims },
      [AVDCNN_INPUT_NAMES.visual]: { data: visual, dims: visualDims },
    });
    const diff = (a: Float32Array, b: Float32Array): number => {
      try {
        return maxAbsDifference(a, b);
      } catch (e) {
        throw new Error(`parity: ${(e as Error).message}`);
      }
    };
    const clean = diff(ref[0]!, out[AVDCNN_OUTPUT_NAMES.clean]!.data);
    const lip = diff(ref[1]!, out[AVDCNN_OUTPUT_NAMES.lip]!.data);
    return { clean, lip, maxAbs: Math.max(clean, lip) };
  } finally {
    await session.release();
  }
}

export const PARITY_TOLERANCE = 1e-4;

export interface SpeechTrainingReport {
  readonly id: string;
  readonly status: SpeechTrainStatus | 'export-only';
  readonly onnxPath: string;
  readonly sidecarPath: string;
  readonly parity: SpeechParity & { readonly tolerance: number };
  readonly config: AvdcnnConfig;
  readonly stft: StftJson;
  readonly algorithmicDelayMs: number;
  readonly steps: number;
  readonly examples: number;
  readonly mixtures: number;
  readonly bestStep: number | null;
  readonly bestValidation: number | null;
  readonly validationRounds: number;
  readonly trainSeconds: number;
  readonly examplesPerS: number | null;
  readonly splitHash: string;
  readonly normaliser: { readonly mixtures: number; readonly frames: number };
  readonly history: readonly Record<string, number>[];
  readonly data: Readonly<Record<string, unknown>>;
  readonly backend: string;
  readonly command: Readonly<Record<string, unknown>>;
}

export function reportPathFor(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, '') + '.report.json';
}

/**
 * Exports the model (its current weights: call with the best ones), checks parity (throws above 1e-4) and
 * writes the JSON training report beside it.
 */
export async function exportTrainedSpeechModel(args: {
  readonly model: tf.LayersModel;
  readonly state: TrainingState;
  readonly extra: SpeechTrainExtra;
  readonly onnxPath: string;
  readonly status: SpeechTrainStatus | 'export-only';
  readonly examplesPerS: number | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly backend: string;
  readonly command: Readonly<Record<string, unknown>>;
  readonly log?: (line: string) => void;
}): Promise<SpeechTrainingReport> {
  const { model, state, extra } = args;
  const log = args.log ?? (() => undefined);
  const training = {
    status: args.status,
    seed: extra.seed,
    batchSize: extra.batchSize,
    steps: state.step,
    examples: extra.examples,
    mixtures: extra.mixtures,
    bestStep: extra.bestStep,
    bestValidation: state.bestScore,
    criterion:
      (extra.target?.kind === 'log-gain'
        ? 'validation MSE of the clean output against the scaled log-gain target'
        : extra.target?.kind === 'gain'
          ? 'validation MSE of the clean output against the truncated magnitude mask' +
            (extra.target.signalWeight !== undefined
              ? `, each bin weighted by the noisy power^${extra.target.signalWeight} (mean 1 per mixture)`
              : '') +
            (extra.target.underWeight !== undefined
              ? `, a gain below its target costing ${1 + extra.target.underWeight}× its squared error`
              : '')
          : 'validation log-spectral MSE of the clean output (normalised units)') +
      ', mean of camera-present and camera-absent passes over the fixed validation set',
    trainSeconds: Math.round(extra.trainSeconds),
    history: state.history,
    backend: args.backend,
    data: args.data,
  };
  const id = speechModelId(extra, state);
  const meta = trainedSpeechModelMeta(extra, state, training);
  const saved = await exportSpeechModel(model, meta, id, args.onnxPath);
  const parity = await speechParity(model, args.onnxPath, extra.config);
  log(
    `ONNX parity (max abs, ONNX Runtime vs TF.js): clean ${parity.clean.toExponential(2)}, lip ${parity.lip.toExponential(2)}`,
  );
  if (!(parity.maxAbs <= PARITY_TOLERANCE))
    throw new Error(`ONNX parity ${parity.maxAbs} exceeds ${PARITY_TOLERANCE}: the export is wrong`);
  const report: SpeechTrainingReport = {
    id,
    status: args.status,
    onnxPath: args.onnxPath,
    sidecarPath: saved.sidecarPath,
    parity: { ...parity, tolerance: PARITY_TOLERANCE },
    config: extra.config,
    stft: extra.stft,
    algorithmicDelayMs: algorithmicDelay(extra.stft, contextSpecOf(extra.config).future).ms,
    steps: state.step,
    examples: extra.examples,
    mixtures: extra.mixtures,
    bestStep: extra.bestStep,
    bestValidation: state.bestScore,
    validationRounds: state.epoch,
    trainSeconds: Math.round(extra.trainSeconds),
    examplesPerS: args.examplesPerS,
    splitHash: extra.splitHash,
    normaliser: { mixtures: extra.normaliser.mixtures, frames: extra.normaliser.frames },
    history: state.history,
    data: args.data,
    backend: args.backend,
    command: args.command,
  };
  await writeFile(reportPathFor(args.onnxPath), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}
