/**
 * Model training examples from a mixture: per STFT frame t (AVDCNN_STFT by default: 512/320 at 16 kHz, 257
 * bins, 50 frames/s),
 * - `noisy`: the noisy log power spectrum normalised per bin (per utterance by default — the paper; 'running'
 *   for the live path's causal statistics) and context-stacked: ±2 frames (`AVDCNN_CONTEXT`, the paper) or
 *   t−4…t (`CAUSAL_CONTEXT`), rows × 257, oldest first, edge frames repeated (context.ts);
 * - `clean`: the clean log power of frame t (raw ln power, the target; scaling it is the model's business;
 *   `noisyStats` gives the per-utterance statistics when that normalisation is used);
 *   `logGainTarget` turns clean and noisy ln power into the bounded log-gain target the trainer uses by
 *   default (train.ts);
 * - `visual`: the aligned mouth crops (corpus.ts `alignMouth`) stacked with the same context, rows × 384
 *   (16×24 gray), and `mouthTarget`, the centre frame's crop (the lip output's target).
 *
 * Visual dropout: for an AV mixture, with probability `visualDropout` (drawn from the given RNG, one draw per
 * mixture) the whole visual input is zeroed — the "camera missing" input that lets one model serve audio-only
 * use. Audio-only mixtures always have a zero visual input. `visualPresent[t]` is 1 where the model is given a
 * real crop at frame t (0 when dropped, audio-only, or the crop is missing there); `mouthTarget` keeps the real
 * crops of AV clips even when the input was dropped, so the trainer can decide how to weight the lip loss.
 */
import { AVDCNN_CONTEXT, stackContext } from '../../streams/features/audio/context.ts';
import type { ContextSpec } from '../../streams/features/audio/context.ts';
import { speechFeatures } from '../../streams/features/audio/frontend.ts';
import type { BinStats } from '../../streams/features/audio/normalize.ts';
import { AVDCNN_STFT, stft } from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';
import { MOUTH_INPUT_HEIGHT, MOUTH_INPUT_WIDTH } from '../../streams/features/camera/mouth-extractor.ts';
import type { SeededRandom } from '../common/rng.ts';
import type { Mixture } from './mixing.ts';
import { logGainFloor } from './speech-model-meta.ts';

export interface ExampleOptions {
  readonly stft?: StftConfig;
  /** Audio context (default ±2). */
  readonly context?: ContextSpec;
  /** Visual context (default: the audio context). */
  readonly visualContext?: ContextSpec;
  readonly normalization?: 'utterance' | 'running' | 'none';
  /** Fraction of AV mixtures whose visual input is zeroed, in [0, 1] (default 0). */
  readonly visualDropout?: number;
  /** Needed when 0 < visualDropout < 1. */
  readonly rng?: SeededRandom;
  /** Values per mouth frame for audio-only mixtures (default 16·24 = 384, gray). */
  readonly visualFrameSize?: number;
}

export interface TrainingExamples {
  readonly frames: number;
  readonly bins: number;
  readonly audioRows: number;
  readonly visualRows: number;
  readonly visualFrameSize: number;
  /** frames × audioRows × bins. */
  readonly noisy: Float32Array;
  /** frames × bins, raw ln power. */
  readonly clean: Float32Array;
  readonly noisyLogPower: Float32Array;
  readonly noisyPhase: Float32Array;
  readonly noisyStats?: BinStats;
  /** frames × visualRows × visualFrameSize. */
  readonly visual: Float32Array;
  /** frames × visualFrameSize (zeros without video). */
  readonly mouthTarget: Float32Array;
  readonly visualPresent: Uint8Array;
  readonly hasVideo: boolean;
  readonly visualDropped: boolean;
  readonly samples: number;
}

/** The training examples of one mixture (see the file comment). */
export function trainingExamples(mix: Mixture, options: ExampleOptions = {}): TrainingExamples {
  const cfg = options.stft ?? AVDCNN_STFT;
  const context = options.context ?? AVDCNN_CONTEXT;
  const vctx = options.visualContext ?? context;
  const feats = speechFeatures(mix.noisy, {
    stft: cfg,
    context,
    normalization: options.normalization ?? 'utterance',
  });
  const clean = stft(mix.clean, cfg);
  if (clean.frames !== feats.frames) throw new Error('examples: clean and noisy frame counts differ');
  const frames = feats.frames;
  const mouth = mix.mouth;
  if (mouth !== undefined && mouth.frames !== frames)
    throw new Error(
      `examples: ${mouth.frames} aligned mouth frames for ${frames} STFT frames ` +
        '(align the mouth crops with the same STFT as the examples)',
    );
  const size = mouth?.frameSize ?? options.visualFrameSize ?? MOUTH_INPUT_WIDTH * MOUTH_INPUT_HEIGHT;
  const p = options.visualDropout ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`visualDropout ${p} not in [0, 1]`);
  let dropped = false;
  if (mouth !== undefined && p > 0) {
    if (p >= 1) dropped = true;
    else if (options.rng === undefined) throw new Error('examples: visualDropout needs an rng');
    else dropped = options.rng.next() < p;
  }
  const visualRows = vctx.past + 1 + vctx.future;
  let visual: Float32Array;
  let present: Uint8Array;
  if (mouth !== undefined && !dropped) {
    visual = stackContext(mouth.data, size, vctx);
    present = mouth.present.slice();
  } else {
    visual = new Float32Array(frames * visualRows * size);
    present = new Uint8Array(frames);
  }
  return {
    frames,
    bins: feats.bins,
    audioRows: feats.rows,
    visualRows,
    visualFrameSize: size,
    noisy: feats.features,
    clean: clean.logPower,
    noisyLogPower: feats.logPower,
    noisyPhase: feats.phase,
    ...(feats.stats !== undefined ? { noisyStats: feats.stats } : {}),
    visual,
    mouthTarget: mouth !== undefined ? mouth.data.slice() : new Float32Array(frames * size),
    visualPresent: present,
    hasVideo: mouth !== undefined,
    visualDropped: dropped,
    samples: mix.noisy.length,
  };
}

/**
 * The truncated magnitude mask: per value G = clamp(|C| / |X|, G_min, 1) = clamp(e^{(lnC − lnX)/2}, G_min, 1)
 * with lnC, lnX the clean and noisy ln(|·|² + ε) and G_min = 10^(gainFloorDb/20). A mask in the linear
 * domain, where an uncertain bin costs what it would cost in amplitude (Wang, Narayanan & Wang 2014, "On
 * training targets for supervised speech separation": ratio masks beat spectral mapping on STOI). G = 1 is
 * passthrough; a level shift applied to both cancels.
 */
export function amplitudeGainTarget(
  cleanLogPower: ArrayLike<number>,
  noisyLogPower: ArrayLike<number>,
  gainFloorDb = LOG_GAIN_FLOOR_DB,
): Float32Array {
  if (cleanLogPower.length !== noisyLogPower.length)
    throw new RangeError(
      `gain target: ${cleanLogPower.length} clean vs ${noisyLogPower.length} noisy values`,
    );
  if (!(Number.isFinite(gainFloorDb) && gainFloorDb < 0))
    throw new RangeError(`gain target: gainFloorDb ${gainFloorDb} must be finite and < 0`);
  const floor = 10 ** (gainFloorDb / 20);
  const out = new Float32Array(cleanLogPower.length);
  for (let i = 0; i < out.length; i++)
    out[i] = Math.min(1, Math.max(floor, Math.exp((cleanLogPower[i]! - noisyLogPower[i]!) / 2)));
  return out;
}

/** The largest β of the asymmetric loss (a gain below its target costs 1 + β times its squared error). */
export const UNDER_WEIGHT_MAX = 10;

/** β is an asymmetric loss's weight: a number in (0, `UNDER_WEIGHT_MAX`]. */
export function isUnderWeight(beta: number): boolean {
  return Number.isFinite(beta) && beta > 0 && beta <= UNDER_WEIGHT_MAX;
}

/** β must be an asymmetric loss's weight (`isUnderWeight`); returns it. */
export function checkUnderWeight(beta: number): number {
  if (!isUnderWeight(beta))
    throw new RangeError(
      `asymmetric loss: under-estimation weight ${beta} must be in (0, ${UNDER_WEIGHT_MAX}]`,
    );
  return beta;
}

/** q is a signal-weighting exponent: a number in (0, 1]. */
export function isSignalWeight(q: number): boolean {
  return Number.isFinite(q) && q > 0 && q <= 1;
}

/** The signal-weighting exponent q must be in (0, 1] (`isSignalWeight`); returns it. */
export function checkSignalWeight(q: number): number {
  if (!isSignalWeight(q)) throw new RangeError(`signal weights: exponent ${q} must be in (0, 1]`);
  return q;
}

/**
 * Per-bin loss weights of one mixture for the 'gain' target with signal weighting: w = P^q / mean(P^q) over
 * all its frames and bins, with P the noisy power (from ln(|X|² + ε)). A squared mask error weighted by |X|²
 * (q = 1) is the squared magnitude error of the masked output (signal approximation, Weninger et al. 2014;
 * Erdogan et al. 2015), which is what SI-SDR counts; q < 1 compresses the range so quiet speech bins still
 * count. The mean is 1 per mixture, so mixtures of any level or SNR weigh alike; a level shift cancels.
 */
export function signalWeights(noisyLogPower: ArrayLike<number>, q: number): Float32Array {
  checkSignalWeight(q);
  const n = noisyLogPower.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, noisyLogPower[i]!);
  if (!Number.isFinite(max)) throw new RangeError('signal weights: non-finite log power');
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp(q * (noisyLogPower[i]! - max));
    out[i] = w;
    sum += w;
  }
  const scale = n / sum;
  for (let i = 0; i < n; i++) out[i] = out[i]! * scale;
  return out;
}

/** Default lowest gain of the log-gain target, amplitude dB (docs/models/speech-history.md, the diagnosis). */
export const LOG_GAIN_FLOOR_DB = -25;

/**
 * The bounded, input-relative training target: per value g = clamp(lnC − lnX, 2·ln G_min, 0) / scale, where
 * lnC and lnX are the clean and noisy ln(|·|² + ε) (same layout), G_min = 10^(gainFloorDb/20) and 2·ln G_min
 * = gainFloorDb·ln(10)/10. g = 0 is passthrough. A level shift applied to both cancels.
 */
export function logGainTarget(
  cleanLogPower: ArrayLike<number>,
  noisyLogPower: ArrayLike<number>,
  gainFloorDb = LOG_GAIN_FLOOR_DB,
  scale = 1,
): Float32Array {
  if (cleanLogPower.length !== noisyLogPower.length)
    throw new RangeError(
      `log-gain target: ${cleanLogPower.length} clean vs ${noisyLogPower.length} noisy values`,
    );
  if (!(Number.isFinite(gainFloorDb) && gainFloorDb < 0))
    throw new RangeError(`log-gain target: gainFloorDb ${gainFloorDb} must be finite and < 0`);
  if (!(Number.isFinite(scale) && scale > 0))
    throw new RangeError(`log-gain target: scale ${scale} must be > 0`);
  const floor = logGainFloor(gainFloorDb);
  const out = new Float32Array(cleanLogPower.length);
  for (let i = 0; i < out.length; i++)
    out[i] = Math.min(0, Math.max(floor, cleanLogPower[i]! - noisyLogPower[i]!)) / scale;
  return out;
}
