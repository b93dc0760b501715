/**
 * The mask's low-gain expansion (`maskExpansionKneeDb` K ≤ 0, `maskExpansionRatio` r ≥ 1; K = 0 and r = 1:
 * none): after the strength, an ln-power gain g below the knee becomes K + r·(g − K), never below the model's
 * training gain floor (nor the mask floor). Gains at or above K (speech, where the model is sure of it) are
 * untouched; the lowest ones, where a gain trained by mean squared error stays above the floor in speech
 * pauses, go deeper (docs/models/speech-history.md, "Rule for expanding the lowest gains"). Pure.
 */
import { shown } from '../../common/json.ts';

/** The range of the knee, dB (`maskExpansionKneeDb`). */
export const MASK_EXPANSION_KNEE_MIN_DB = -40;
/** The largest ratio (`maskExpansionRatio`: 1 = none). */
export const MASK_EXPANSION_MAX_RATIO = 10;

export type MaskExpansionKey = 'maskExpansionKneeDb' | 'maskExpansionRatio';

/**
 * Why an expansion setting is refused (undefined when it is valid): the knee a number of dB in
 * [`MASK_EXPANSION_KNEE_MIN_DB`, 0], the ratio a number in [1, `MASK_EXPANSION_MAX_RATIO`].
 */
export function maskExpansionError(key: MaskExpansionKey, v: unknown): string | undefined {
  if (key === 'maskExpansionKneeDb')
    return typeof v === 'number' && v >= MASK_EXPANSION_KNEE_MIN_DB && v <= 0
      ? undefined
      : `maskExpansionKneeDb ${shown(v)} must be a number of dB in [${MASK_EXPANSION_KNEE_MIN_DB}, 0]`;
  return typeof v === 'number' && v >= 1 && v <= MASK_EXPANSION_MAX_RATIO
    ? undefined
    : `maskExpansionRatio ${shown(v)} must be a number in [1, ${MASK_EXPANSION_MAX_RATIO}]`;
}

/**
 * A bin's ln-power gain `g` expanded below `kneeLog` (ln power) by `ratio`, never below `lowest` (the training
 * floor; −Infinity without one) unless g already is, nor below `floorLog`; g itself at or above the knee.
 */
export function expandGain(
  g: number,
  kneeLog: number,
  ratio: number,
  lowest: number,
  floorLog: number,
): number {
  return ratio > 1 && g < kneeLog
    ? Math.max(kneeLog + ratio * (g - kneeLog), Math.min(g, lowest), floorLog)
    : g;
}
