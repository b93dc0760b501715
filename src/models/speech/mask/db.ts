/** dB of power to ln power: (dB / 10)·ln 10 (the mask stages' unit: ln-power gains, ≤ 0). */
export function dbToLogPower(db: number): number {
  return (db / 10) * Math.LN10;
}
