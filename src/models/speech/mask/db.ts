/**
 * dB of power to ln power: (dB / 10)·ln 10 (the mask stages' unit: ln-power gains, ≤ 0). The training gain
 * floor (speech-model-meta.ts `logGainFloor`) computes the same quantity as (dB·ln 10) / 10: the two orders
 * can differ in the last bit, and each is kept where it was so that served outputs stay bit for bit the same.
 */
export function dbToLogPower(db: number): number {
  return (db / 10) * Math.LN10;
}
