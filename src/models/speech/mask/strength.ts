/**
 * The mask's strength: the model's gain G applied as G^α, i.e. the ln-power gain d ≤ 0 scaled to α·d
 * (`maskStrength` α in (0, 1]: less noise removed and less speech attenuated where the model is unsure). The
 * audio-visual mode has its own α_v (`maskStrengthVisual`, in (0, 2]); above 1 it deepens the gain, never
 * below the model's training gain floor (docs/models/speech-history.md, "Rule for audio-visual strengths above 1").
 * A frame whose context holds m of its N mouth frames with a crop takes α + (α_v − α)·m/N, so a camera that
 * starts or stops moves the strength over the context instead of stepping it. Pure.
 */
import { shown } from '../../common/json.ts';

/**
 * The largest strengths: the audio-only α in (0, 1]; the audio-visual α_v in (0, 2]. The one source of these
 * bounds for the sidecar, the enhancer, the config and the command lines.
 */
export const MASK_STRENGTH_MAX = { maskStrength: 1, maskStrengthVisual: 2 } as const;

export type MaskStrengthKey = keyof typeof MASK_STRENGTH_MAX;

/** Why a strength is refused (undefined when it is valid): a number in (0, `MASK_STRENGTH_MAX[key]`]. */
export function maskStrengthError(key: MaskStrengthKey, v: unknown): string | undefined {
  const max = MASK_STRENGTH_MAX[key];
  return typeof v === 'number' && v > 0 && v <= max
    ? undefined
    : `${key} ${shown(v)} must be a number in (0, ${max}]`;
}

/** The strength of a frame with `crops` of its `frames` context frames holding a mouth crop. */
export function frameStrength(alpha: number, alphaVisual: number, crops: number, frames: number): number {
  return alpha === alphaVisual ? alpha : alpha + ((alphaVisual - alpha) * crops) / frames;
}

/**
 * A bin's ln-power gain `d` (≤ 0) at `strength`: α·d, but a deepening (α > 1) never below `deepest` (the
 * model's training gain floor; −Infinity without one) unless d already is, and nothing below `floorLog`
 * (floor.ts, ln power).
 */
export function strengthGain(d: number, strength: number, deepest: number, floorLog: number): number {
  return Math.max(strength * d, Math.min(d, deepest), floorLog);
}
