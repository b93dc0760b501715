/**
 * The speech enhancer's serving settings as command-line flags (mask/settings.ts), shared by `drivesense
 * enhance` and `drivesense eval speech`, so a setting tried in the evaluation can be applied to a file the
 * same way, and `features.speech` in the config takes the same keys. Each value is checked by its stage's
 * rule; the message names the flag.
 */
import { MASK_EXPANSION_KNEE_MIN_DB, MASK_EXPANSION_MAX_RATIO } from '../models/speech/mask/expansion.ts';
import { PAUSE_GATE_HOLD_MS, PAUSE_GATE_MIN_DB } from '../models/speech/mask/pause-gate.ts';
import {
  SERVING_NONE,
  SPEECH_SERVING_KEYS,
  servingSettingError,
  stageSetting,
} from '../models/speech/mask/settings.ts';
import type {
  SpeechServingKey,
  SpeechServingSettings,
  SpeechServingValues,
} from '../models/speech/mask/settings.ts';
import { MASK_SMOOTHING_MAX_BINS } from '../models/speech/mask/smoothing.ts';
import type { Command, ParsedArgs } from './command.ts';
import { UsageError, stringOpt } from './command.ts';

/** The flag of each setting. */
export const SERVING_FLAGS: { readonly [K in SpeechServingKey]: string } = {
  maskFloorDb: 'mask-floor-db',
  maskStrength: 'mask-strength',
  maskStrengthVisual: 'mask-strength-av',
  maskSmoothingBins: 'mask-smoothing-bins',
  maskSmoothingTime: 'mask-smoothing-time',
  maskExpansionKneeDb: 'mask-expansion-knee-db',
  maskExpansionRatio: 'mask-expansion-ratio',
  pauseGateDb: 'pause-gate-db',
  pauseGateThresholdDb: 'pause-gate-threshold-db',
};

/** The flags as a command's options (`Command.options`). */
export const SERVING_FLAG_OPTIONS: Command['options'] = Object.fromEntries(
  SPEECH_SERVING_KEYS.map((k) => [SERVING_FLAGS[k], { type: 'string' as const }]),
);

/** The settings given on the command line (the others left out: the model's own apply). */
export function servingFromArgs(args: ParsedArgs): SpeechServingValues {
  const out: { [K in SpeechServingKey]?: number } = {};
  for (const key of SPEECH_SERVING_KEYS) {
    const flag = SERVING_FLAGS[key];
    const text = stringOpt(args, flag);
    if (text === undefined) continue;
    const v = text.trim() === '' ? NaN : Number(text);
    // A command line gives finite numbers (a floor of −Infinity is the default's "none", not a value to type).
    if (!Number.isFinite(v))
      throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a finite number`);
    const error = servingSettingError(key, v);
    if (error !== undefined) throw new UsageError(`--${flag}: ${error}, got ${JSON.stringify(text)}`);
    out[key] = v;
  }
  return out;
}

/** The flags' help lines. */
export const SERVING_FLAGS_HELP = `  (each over the model's own; a negative value needs the = form: --mask-floor-db=-12)
  --mask-floor-db=G  the mask's lowest gain, dB ≤ 0 (default: the model's metadata, else none)
  --mask-strength A  the mask applied as G^A, A in (0, 1] (default: the model's metadata, else 1)
  --mask-strength-av A
                     the same for frames with mouth crops (the camera mode), A in (0, 2] (above 1 deeper
                     than the model's gain, never below its floor); default: --mask-strength when given,
                     else the model's metadata (maskStrengthVisual, else maskStrength)
  --mask-smoothing-bins W
                     the gain averaged over W bins, odd, 1 to ${MASK_SMOOTHING_MAX_BINS} (default: the model's metadata,
                     else 1: none)
  --mask-smoothing-time B
                     then smoothed in time, g = B·g_prev + (1 − B)·g, B in [0, 1) (default: the model's
                     metadata, else 0: none)
  --mask-expansion-knee-db=K
                     gains below K dB, K in [${MASK_EXPANSION_KNEE_MIN_DB}, 0], are expanded (default: the model's metadata,
                     else 0)
  --mask-expansion-ratio R
                     by the ratio R in [1, ${MASK_EXPANSION_MAX_RATIO}]: a gain d < K becomes K + R·(d − K), never below the
                     model's training floor or the mask floor (default: the model's metadata, else 1: none)
  --pause-gate-db=G  the output lowered by |G| dB, G in [${PAUSE_GATE_MIN_DB}, 0], in frames after ${PAUSE_GATE_HOLD_MS} ms whose frame
                     gain (enhanced over noisy power) is below T (default: the model's metadata, else 0: none)
  --pause-gate-threshold-db=T
                     T in [${PAUSE_GATE_MIN_DB}, 0] (default: the model's metadata, else ${PAUSE_GATE_MIN_DB})`;

/**
 * The settings in force in one line: each setting some model serves away from "none" (mask/settings.ts
 * `SERVING_NONE`; the expansion's knee and the gate's threshold only where their stage is on), its values per
 * model joined by " / "; "none" when no model sets any.
 */
export function describeServing(settings: readonly SpeechServingSettings[]): string {
  const on = (k: SpeechServingKey): boolean => {
    const stage = stageSetting(k);
    return settings.some((s) => s[stage] !== SERVING_NONE[stage]);
  };
  const parts = SPEECH_SERVING_KEYS.filter(on).map(
    (k) => `${k} ${settings.map((s) => String(s[k])).join(' / ')}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'none';
}
