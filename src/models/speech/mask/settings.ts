/**
 * The mask's serving settings: which there are, how each is checked, and how the ones in force are resolved
 * (the caller's options, else the model's metadata, else each stage's "none"). Chosen on the validation split,
 * recorded with the model (`SpeechModelMeta`), overridable by the caller (`SpeechEnhancerOptions`,
 * `features.speech`, `eval speech`). Each setting belongs to one stage of the chain (chain.ts), whose file
 * holds its check.
 */
import type { SpeechModelMeta } from '../speech-model-meta.ts';
import { maskExpansionError } from './expansion.ts';
import { maskFloorError } from './floor.ts';
import { PAUSE_GATE_MIN_DB, pauseGateError } from './pause-gate.ts';
import { maskSmoothingError } from './smoothing.ts';
import { maskStrengthError } from './strength.ts';

export const SPEECH_SERVING_KEYS = [
  'maskFloorDb',
  'maskStrength',
  'maskStrengthVisual',
  'maskSmoothingBins',
  'maskSmoothingTime',
  'maskExpansionKneeDb',
  'maskExpansionRatio',
  'pauseGateDb',
  'pauseGateThresholdDb',
] as const;
export type SpeechServingKey = (typeof SPEECH_SERVING_KEYS)[number];

/** Serving settings as given: each may be left out (the model's metadata, else the default, applies). */
export type SpeechServingValues = { readonly [K in SpeechServingKey]?: number };

/** The mask settings an enhancer applies (given options, else the model's metadata, else defaults). */
export type SpeechServingSettings = { readonly [K in SpeechServingKey]: number };

/** Why a serving setting is refused (undefined when it is valid), by its stage's rule; names the key. */
export function servingSettingError(key: SpeechServingKey, v: unknown): string | undefined {
  switch (key) {
    case 'maskFloorDb':
      return maskFloorError(v);
    case 'maskStrength':
    case 'maskStrengthVisual':
      return maskStrengthError(key, v);
    case 'maskSmoothingBins':
    case 'maskSmoothingTime':
      return maskSmoothingError(key, v);
    case 'maskExpansionKneeDb':
    case 'maskExpansionRatio':
      return maskExpansionError(key, v);
    case 'pauseGateDb':
    case 'pauseGateThresholdDb':
      return pauseGateError(key, v);
  }
}

/** The serving settings of `values` that are set (absent or undefined ones left out: the model's apply). */
export function definedServing(values: { readonly [K in SpeechServingKey]?: number | undefined }): {
  [K in SpeechServingKey]?: number;
} {
  const out: { [K in SpeechServingKey]?: number } = {};
  for (const k of SPEECH_SERVING_KEYS) {
    const v = values[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The settings a model is served at: `options`, else its metadata, else none. The audio-visual strength
 * falls back to a given audio-only one, then the metadata's audio-visual one, then its audio-only one; a
 * model served without the camera (`cameraMode` 'off') has no camera strength and reports its audio-only
 * one, which is what it applies. The pause gate's threshold defaults to its lowest (−40 dB), so a depth given
 * alone closes on the lowest frame gains only (0 dB would gate speech: every mask gain is ≤ 1). Throws a
 * RangeError naming the first setting out of range.
 */
export function resolveServing(
  meta: Pick<SpeechModelMeta, SpeechServingKey | 'cameraMode'>,
  options: SpeechServingValues,
): SpeechServingSettings {
  const maskStrength = options.maskStrength ?? meta.maskStrength ?? 1;
  const serving: SpeechServingSettings = {
    maskFloorDb: options.maskFloorDb ?? meta.maskFloorDb ?? -Infinity,
    maskStrength,
    maskStrengthVisual:
      meta.cameraMode === 'off'
        ? maskStrength
        : (options.maskStrengthVisual ??
          options.maskStrength ??
          meta.maskStrengthVisual ??
          meta.maskStrength ??
          1),
    maskSmoothingBins: options.maskSmoothingBins ?? meta.maskSmoothingBins ?? 1,
    maskSmoothingTime: options.maskSmoothingTime ?? meta.maskSmoothingTime ?? 0,
    maskExpansionKneeDb: options.maskExpansionKneeDb ?? meta.maskExpansionKneeDb ?? 0,
    maskExpansionRatio: options.maskExpansionRatio ?? meta.maskExpansionRatio ?? 1,
    pauseGateDb: options.pauseGateDb ?? meta.pauseGateDb ?? 0,
    pauseGateThresholdDb: options.pauseGateThresholdDb ?? meta.pauseGateThresholdDb ?? PAUSE_GATE_MIN_DB,
  };
  for (const key of SPEECH_SERVING_KEYS) {
    const why = servingSettingError(key, serving[key]);
    if (why !== undefined) throw new RangeError(why);
  }
  return serving;
}
