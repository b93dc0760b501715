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

/** Serving settings as given: each may be left out (the model's metadata, else "none", applies). */
export interface SpeechServingValues {
  /** The floor (floor.ts): lowest gain, dB ≤ 0; −Infinity: none. */
  readonly maskFloorDb?: number;
  /** The strength (strength.ts): the gain G applied as G^α, α in (0, 1]; 1: none. */
  readonly maskStrength?: number;
  /** The strength of frames with mouth crops, in (0, 2] (strength.ts). */
  readonly maskStrengthVisual?: number;
  /** The smoothing over frequency (smoothing.ts): bins, odd; 1: none. */
  readonly maskSmoothingBins?: number;
  /** The smoothing over time (smoothing.ts): β in [0, 1); 0: none. */
  readonly maskSmoothingTime?: number;
  /** The low-gain expansion's knee (expansion.ts), dB in [−40, 0]. */
  readonly maskExpansionKneeDb?: number;
  /** The low-gain expansion's ratio (expansion.ts) in [1, 10]; 1: none. */
  readonly maskExpansionRatio?: number;
  /** The pause gate's depth (pause-gate.ts), dB in [−40, 0]; 0: none. */
  readonly pauseGateDb?: number;
  /** The pause gate's frame-gain threshold (pause-gate.ts), dB in [−40, 0]. */
  readonly pauseGateThresholdDb?: number;
}

export type SpeechServingKey = keyof SpeechServingValues;

/** The mask settings an enhancer applies (given options, else the model's metadata, else "none"). */
export type SpeechServingSettings = Required<SpeechServingValues>;

/** Every setting, in the chain's order (the `satisfies` below holds the list to the interface). */
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
] as const satisfies readonly SpeechServingKey[];

// A key of the interface missing from the list fails to compile here.
type Unlisted = Exclude<SpeechServingKey, (typeof SPEECH_SERVING_KEYS)[number]>;
export const ALL_SERVING_KEYS_LISTED: [Unlisted] extends [never] ? true : never = true;

/**
 * Each setting's "none": what a model without the setting is served at (the pause gate's threshold at its
 * lowest, so a depth given alone closes on the lowest frame gains only).
 */
export const SERVING_NONE: SpeechServingSettings = {
  maskFloorDb: -Infinity,
  maskStrength: 1,
  maskStrengthVisual: 1,
  maskSmoothingBins: 1,
  maskSmoothingTime: 0,
  maskExpansionKneeDb: 0,
  maskExpansionRatio: 1,
  pauseGateDb: 0,
  pauseGateThresholdDb: PAUSE_GATE_MIN_DB,
};

/**
 * The settings that only qualify another's stage, and that stage's setting: the expansion's knee (nothing
 * without a ratio above 1) and the gate's threshold (nothing without a depth below 0).
 */
export const SERVING_QUALIFIED = {
  maskExpansionKneeDb: 'maskExpansionRatio',
  pauseGateThresholdDb: 'pauseGateDb',
} as const satisfies Partial<Record<SpeechServingKey, SpeechServingKey>>;

/** The setting whose stage `key` belongs to: its qualified one (`SERVING_QUALIFIED`), else itself. */
export function stageSetting(key: SpeechServingKey): SpeechServingKey {
  const qualified: Partial<Record<SpeechServingKey, SpeechServingKey>> = SERVING_QUALIFIED;
  return qualified[key] ?? key;
}

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
    default: {
      // A key without its stage's rule fails to compile here.
      const unchecked: never = key;
      return `unknown serving setting ${String(unchecked)}`;
    }
  }
}

/** The serving settings of `values` that are set (absent or undefined ones left out: the model's apply). */
export function definedServing(values: {
  readonly [K in SpeechServingKey]?: number | undefined;
}): SpeechServingValues {
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
  const n = SERVING_NONE;
  const maskStrength = options.maskStrength ?? meta.maskStrength ?? n.maskStrength;
  const serving: SpeechServingSettings = {
    maskFloorDb: options.maskFloorDb ?? meta.maskFloorDb ?? n.maskFloorDb,
    maskStrength,
    maskStrengthVisual:
      meta.cameraMode === 'off'
        ? maskStrength
        : (options.maskStrengthVisual ??
          options.maskStrength ??
          meta.maskStrengthVisual ??
          meta.maskStrength ??
          n.maskStrengthVisual),
    maskSmoothingBins: options.maskSmoothingBins ?? meta.maskSmoothingBins ?? n.maskSmoothingBins,
    maskSmoothingTime: options.maskSmoothingTime ?? meta.maskSmoothingTime ?? n.maskSmoothingTime,
    maskExpansionKneeDb: options.maskExpansionKneeDb ?? meta.maskExpansionKneeDb ?? n.maskExpansionKneeDb,
    maskExpansionRatio: options.maskExpansionRatio ?? meta.maskExpansionRatio ?? n.maskExpansionRatio,
    pauseGateDb: options.pauseGateDb ?? meta.pauseGateDb ?? n.pauseGateDb,
    pauseGateThresholdDb: options.pauseGateThresholdDb ?? meta.pauseGateThresholdDb ?? n.pauseGateThresholdDb,
  };
  for (const key of SPEECH_SERVING_KEYS) {
    const why = servingSettingError(key, serving[key]);
    if (why !== undefined) throw new RangeError(why);
  }
  return serving;
}
