/**
 * Order statistics shared by the benchmarks, so every figure in `bench/results` is computed one way:
 * the median (the mean of the two middle values for an even count) and the nearest-rank percentile
 * (the value at index ⌊p/100 · n⌋ of the sorted list, clamped to the last).
 */

/** Median of `xs` (not sorted in place); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted`; null for an empty list (JSON keeps the key). */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
