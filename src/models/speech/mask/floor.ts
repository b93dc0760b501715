/**
 * The mask's floor (`maskFloorDb`, ≤ 0; −Infinity: none): no bin's gain goes below it, whatever the strength
 * or the expansion ask. The strength (strength.ts) and the expansion (expansion.ts) take it as their lower
 * bound, in ln power (db.ts `dbToLogPower`).
 */
import { shown } from '../../common/json.ts';

/** Why a floor setting is refused (undefined when it is valid): a number of dB ≤ 0. */
export function maskFloorError(v: unknown): string | undefined {
  return typeof v === 'number' && v <= 0 ? undefined : `maskFloorDb ${shown(v)} must be a number ≤ 0`;
}
