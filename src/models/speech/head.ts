/**
 * One model of a speech enhancer (a "head"): its metadata, runner, serving settings, training target and
 * normalisation, and what the enhancer computes per head — the audio input (the model's normalisation of the
 * shared front end's ln power, interleaved per bin with its own standardisation of the noise-aware channels),
 * the model run (`runHead`) and the ln power to synthesise from its prediction (`headLogPower`). An enhancer
 * has one head, or several that share its front end (front-end.ts) and synthesis.
 */
import { interleaveChannels } from '../../streams/features/audio/noise-aware.ts';
import { RunningNormalizer } from '../../streams/features/audio/normalize.ts';
import type { MaskChain } from './mask/chain.ts';
import { resolveServing } from './mask/settings.ts';
import type { SpeechServingSettings, SpeechServingValues } from './mask/settings.ts';
import { frameStrength } from './mask/strength.ts';
import { decodePrediction, trainingFloorLog } from './prediction.ts';
import { audioChannelsOf } from './speech-model-meta.ts';
import type { SpeechModelMeta, SpeechTarget } from './speech-model-meta.ts';

/** One model run: `size` examples in the AVDCNN input layouts (avdcnn.ts). */
export interface SpeechModelBatch {
  readonly size: number;
  /**
   * size × frames × bins × C (normalised ln power [, a posteriori SNR [, ln a priori SNR]], normalised;
   * oldest frame first) =
   * `audio` [size, F, bins, C].
   */
  readonly audio: Float32Array;
  /** size × height × width × frames = `visual` [size, H, W, F]. */
  readonly visual: Float32Array;
}

/** The model adapter: `clean` is size × bins. */
export type SpeechModelRunner = (batch: SpeechModelBatch) => Promise<{ readonly clean: Float32Array }>;

/** A model of an ensemble: its metadata and runner. */
export interface SpeechEnhancerMember {
  readonly meta: SpeechModelMeta;
  readonly runModel: SpeechModelRunner;
}

export interface Head {
  readonly meta: SpeechModelMeta;
  readonly runModel: SpeechModelRunner;
  readonly serving: SpeechServingSettings;
  /** The model's training target (its metadata's, else raw) and its gain floor in ln power (prediction.ts). */
  readonly target: SpeechTarget;
  readonly trainingFloorLog: number;
  /** Values per bin of the audio input (`audioChannelsOf`): 1, 2 or 3 for a noise-aware model. */
  readonly audioChannels: 1 | 2 | 3;
  /** The model's `cameraMode` is 'off': it gets the audio-only input and strength whatever the camera. */
  readonly cameraOff: boolean;
  readonly normalizer: RunningNormalizer | undefined;
}

/** A member's head: its serving settings resolved (the options over its metadata) and its normaliser. */
export function createHead(
  m: SpeechEnhancerMember,
  options: SpeechServingValues,
  frontEnd: { readonly bins: number; readonly frameRateHz: number },
): Head {
  const { meta } = m;
  const target = meta.target ?? { kind: 'raw' };
  let serving: SpeechServingSettings;
  try {
    serving = resolveServing(meta, options);
  } catch (e) {
    throw new RangeError(`enhancer: ${(e as Error).message}`);
  }
  const n = meta.normalization;
  return {
    meta,
    runModel: m.runModel,
    serving,
    target,
    trainingFloorLog: trainingFloorLog(target),
    audioChannels: audioChannelsOf(meta),
    cameraOff: meta.cameraMode === 'off',
    normalizer:
      n.kind === 'running'
        ? new RunningNormalizer({
            bins: frontEnd.bins,
            frameRateHz: frontEnd.frameRateHz,
            timeConstantS: n.timeConstantS,
            stdFloor: n.stdFloor,
          })
        : undefined,
  };
}

/**
 * The head's audio input for a frame of ln power `x`: normalised as the model was trained (running, global
 * or none), interleaved per bin with the noise-aware channels `added` (a posteriori SNR, ln a priori SNR:
 * computed once by the front end) standardised with the model's own statistics.
 */
export function headAudioInput(h: Head, x: Float32Array, added: readonly Float32Array[]): Float32Array {
  const z = normalize(h, x);
  const na = h.meta.noiseAware;
  if (na === undefined) return z;
  const stats = [na, na.prior];
  return interleaveChannels([
    z,
    ...added.map((a, j) => {
      const st = stats[j]!;
      return a.map((v, k) => (v - st.mean[k]!) / st.std[k]!);
    }),
  ]);
}

function normalize(h: Head, x: Float32Array): Float32Array {
  const n = h.meta.normalization;
  if (h.normalizer !== undefined) return h.normalizer.normalize(x);
  if (n.kind === 'global') {
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = (x[k]! - n.mean[k]!) / n.std[k]!;
    return out;
  }
  return x.slice();
}

/**
 * One model run of the head on `size` examples (`audio`: each example's stacked input, frames × bins ×
 * channels): its `clean` (size × bins), or the error that made it fail (it threw, or returned the wrong
 * number of values).
 */
export async function runHead(
  h: Head,
  audio: readonly Float32Array[],
  visual: Float32Array,
  bins: number,
): Promise<{ readonly clean: Float32Array } | { readonly error: string }> {
  const n = audio.length;
  const aSize = audio[0]?.length ?? 0;
  const batch = new Float32Array(n * aSize);
  audio.forEach((a, i) => batch.set(a, i * aSize));
  try {
    const { clean } = await h.runModel({ size: n, audio: batch, visual });
    if (clean.length !== n * bins)
      throw new Error(`the model returned ${clean.length} values for ${n} frames × ${bins} bins`);
    return { clean };
  } catch (e) {
    return { error: (e as Error).message ?? String(e) };
  }
}

/** What `headLogPower` takes from its enhancer: the model's context length, a scratch frame and the cap. */
export interface HeadSynthesis {
  /** Frames of a model input's context. */
  readonly frames: number;
  /** Scratch for a frame's decoded prediction (bins values), reused frame after frame. */
  readonly decoded: Float64Array;
  /** Spectrum mode's cap on the decoded ln power. */
  readonly maxLogPower: number;
}

/**
 * The ln power to synthesise for the head's frame from the noisy `x` and its prediction (undefined: the model
 * run failed, and x passes, its chain restarted) for a frame with `crops` of its context frames holding a
 * mouth crop. Mask mode (a `chain`): the decoded prediction through the serving stages; spectrum mode: the
 * decoded prediction capped. `nonFinite` counts the predicted values that were not finite (replaced by x).
 */
export function headLogPower(
  h: Head,
  chain: MaskChain | undefined,
  x: Float32Array,
  predicted: Float32Array | undefined,
  crops: number,
  synthesis: HeadSynthesis,
): { readonly logPower: Float32Array; readonly nonFinite: number } {
  const { frames, decoded, maxLogPower } = synthesis;
  if (predicted === undefined) {
    chain?.fail();
    return { logPower: x, nonFinite: 0 };
  }
  const nonFinite = decodePrediction(h.target, h.trainingFloorLog, x, predicted, decoded);
  if (chain !== undefined) {
    const strength = frameStrength(h.serving.maskStrength, h.serving.maskStrengthVisual, crops, frames);
    return { logPower: chain.apply(x, decoded, strength), nonFinite };
  }
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = Math.min(decoded[k]!, maxLogPower);
  return { logPower: out, nonFinite };
}
