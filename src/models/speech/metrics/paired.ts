/**
 * Paired comparison of two systems scored on the same items: is a difference in a metric's mean larger than
 * the spread between items would give by chance? Pure.
 *
 * For the per-item differences d_i = a_i − b_i (i = 1…n):
 * - the mean difference and its 95 % confidence interval by Student's t with n − 1 degrees of freedom,
 *   mean ± t₀.₉₇₅(n − 1) · s / √n (s the sample standard deviation); none for n < 3, where t₀.₉₇₅(1) =
 *   12.7 makes the interval say little and it can read as contradicting the p-value;
 * - wins, losses and ties (|d_i| ≤ `tieTolerance`);
 * - the two-sided p-value of the paired sign-flip permutation test of a zero mean difference (distribution
 *   free, fitting the few items of a held-out speech set): the share of the 2ⁿ sign assignments of the d_i
 *   whose mean is at least as far from zero as the observed one; exact up to n = `EXACT_PERMUTATION_MAX_N`,
 *   above that from `MONTE_CARLO_DRAWS` seeded random assignments (p = (1 + hits) / (1 + draws)).
 *
 * The t quantiles are the standard table values (two-sided 95 %: 12.706 for 1 degree of freedom … 1.960 in
 * the limit), interpolated linearly in 1/df between the tabled degrees of freedom above 30.
 */
import { SeededRandom } from '../../common/rng.ts';

export interface PairedStats {
  /** Items with both values. */
  readonly n: number;
  /** Mean of a − b. */
  readonly meanDiff: number;
  /** 95 % confidence interval of the mean difference (null for n < 3: one degree of freedom says little). */
  readonly ci95: readonly [number, number] | null;
  readonly wins: number;
  readonly losses: number;
  readonly ties: number;
  /** Two-sided p of the sign-flip permutation test (NaN for n = 0). */
  readonly p: number;
  /** The p-value is exact (every sign assignment), not sampled. */
  readonly exact: boolean;
}

export const EXACT_PERMUTATION_MAX_N = 16;
export const MONTE_CARLO_DRAWS = 65_536;

/** Two-sided 95 % quantiles of Student's t, degrees of freedom 1…30. */
const T975: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
/** Beyond 30: [df, quantile], the last the normal limit (df ∞ as 1/df = 0). */
const T975_TAIL: readonly (readonly [number, number])[] = [
  [30, 2.042],
  [40, 2.021],
  [60, 2.0],
  [120, 1.98],
  [Infinity, 1.96],
];

/** The two-sided 95 % quantile of Student's t with `df` ≥ 1 degrees of freedom (integer). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`t quantile: ${df} degrees of freedom`);
  if (df <= 30) return T975[df - 1]!;
  for (let i = 1; i < T975_TAIL.length; i++) {
    const [d0, q0] = T975_TAIL[i - 1]!;
    const [d1, q1] = T975_TAIL[i]!;
    if (df <= d1) {
      const x = 1 / df;
      const x0 = 1 / d0;
      const x1 = 1 / d1;
      return q0 + ((q1 - q0) * (x - x0)) / (x1 - x0);
    }
  }
  return 1.96; // not reached: the last row's df is ∞
}

/**
 * The paired statistics of `diffs` (a − b per item; every value finite). `seed` fixes the sampled
 * assignments above the exact limit, so a result is reproducible.
 */
export function pairedStats(
  diffs: readonly number[],
  options: { readonly tieTolerance?: number; readonly seed?: number } = {},
): PairedStats {
  for (const d of diffs)
    if (!Number.isFinite(d)) throw new RangeError(`paired statistics: a difference of ${d} is not finite`);
  const tol = options.tieTolerance ?? 0;
  const n = diffs.length;
  let wins = 0;
  let losses = 0;
  for (const d of diffs)
    if (d > tol) wins++;
    else if (d < -tol) losses++;
  const ties = n - wins - losses;
  if (n === 0) return { n, meanDiff: NaN, ci95: null, wins, losses, ties, p: NaN, exact: true };
  const sum = diffs.reduce((s, d) => s + d, 0);
  const meanDiff = sum / n;
  let ci95: [number, number] | null = null;
  if (n >= 3) {
    const ss = diffs.reduce((s, d) => s + (d - meanDiff) ** 2, 0);
    const half = (tQuantile975(n - 1) * Math.sqrt(ss / (n - 1))) / Math.sqrt(n);
    ci95 = [meanDiff - half, meanDiff + half];
  }
  const { p, exact } = signFlipP(diffs, Math.abs(sum), options.seed ?? 1);
  return { n, meanDiff, ci95, wins, losses, ties, p, exact };
}

/** Two-sided sign-flip p of |Σ d| (see the file comment). */
function signFlipP(diffs: readonly number[], observed: number, seed: number): { p: number; exact: boolean } {
  const n = diffs.length;
  // Sums equal up to rounding count as "as far": a tolerance relative to the differences' scale, so the p
  // of differences scaled by any factor is the same.
  const bar = observed - 1e-12 * diffs.reduce((s, d) => s + Math.abs(d), 0);
  if (n <= EXACT_PERMUTATION_MAX_N) {
    let hits = 0;
    const total = 2 ** n;
    for (let mask = 0; mask < total; mask++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += mask & (1 << i) ? -diffs[i]! : diffs[i]!;
      if (Math.abs(s) >= bar) hits++;
    }
    return { p: hits / total, exact: true };
  }
  const rng = new SeededRandom(seed);
  let hits = 0;
  for (let r = 0; r < MONTE_CARLO_DRAWS; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.next() < 0.5 ? -diffs[i]! : diffs[i]!;
    if (Math.abs(s) >= bar) hits++;
  }
  return { p: (1 + hits) / (1 + MONTE_CARLO_DRAWS), exact: false };
}
