/**
 * Baseline stress classifier: multinomial logistic regression on the 13 per-window physiological statistics
 * of the input builder (inputs.ts, newest window, the same causal calibration as the model), trained by
 * full-batch gradient descent in plain TypeScript, and leave-one-drive-out evaluation; plus the scores
 * (confusion, accuracy, per-class and macro F1) every stress evaluation uses.
 *
 * Hyperparameters, fixed in advance (never tuned on any test drive):
 *   L2 λ = 1e-2 (on weights, not biases), learning rate 0.5, 3000 full-batch iterations, weights from 0,
 *   class weights = n / (3 · n_class) over the training windows (balanced), features standardised with the
 *   training windows' mean and sd (the test drive's windows never enter the scaler).
 */
import type { StressLevel } from './records.ts';
import { STRESS_LEVELS } from './records.ts';

/** A labelled row for the baseline: features and the level index (0 low, 1 medium, 2 high). */
export interface BaselineRow {
  readonly features: Float64Array;
  readonly label: number;
}

export interface LogRegOptions {
  readonly l2?: number;
  readonly learningRate?: number;
  readonly iterations?: number;
  readonly balanced?: boolean;
}

export const BASELINE_HYPERPARAMETERS: Required<LogRegOptions> = {
  l2: 1e-2,
  learningRate: 0.5,
  iterations: 3000,
  balanced: true,
};

export interface LogRegModel {
  readonly classes: number;
  readonly mean: Float64Array;
  readonly sd: Float64Array;
  /** classes × (features + 1), bias last. */
  readonly weights: Float64Array;
}

function softmaxRow(z: Float64Array): void {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    z[i] = Math.exp(z[i]! - m);
    s += z[i]!;
  }
  for (let i = 0; i < z.length; i++) z[i] = z[i]! / s;
}

/** Trains on rows `x` (each of length d) with labels `y` in [0, classes). Deterministic. */
export function trainLogReg(
  x: readonly Float64Array[],
  y: readonly number[],
  classes: number,
  options: LogRegOptions = {},
): LogRegModel {
  const { l2, learningRate, iterations, balanced } = { ...BASELINE_HYPERPARAMETERS, ...options };
  const n = x.length;
  if (n === 0 || n !== y.length) throw new Error('logistic regression needs as many labels as rows, ≥ 1');
  const d = x[0]!.length;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of x) for (let j = 0; j < d; j++) mean[j] = mean[j]! + r[j]! / n;
  for (const r of x) for (let j = 0; j < d; j++) sd[j] = sd[j]! + (r[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) || 1;
  const xs = x.map((r) => r.map((v, j) => (v - mean[j]!) / sd[j]!));
  const counts = new Float64Array(classes);
  for (const c of y) counts[c] = counts[c]! + 1;
  const cw = Array.from(counts, (c) => (balanced && c > 0 ? n / (classes * c) : 1));
  const sw = y.reduce((s, c) => s + cw[c]!, 0);
  const D = d + 1;
  const w = new Float64Array(classes * D);
  const g = new Float64Array(classes * D);
  const p = new Float64Array(classes);
  for (let it = 0; it < iterations; it++) {
    g.fill(0);
    for (let i = 0; i < n; i++) {
      const r = xs[i]!;
      for (let c = 0; c < classes; c++) {
        let z = w[c * D + d]!;
        for (let j = 0; j < d; j++) z += w[c * D + j]! * r[j]!;
        p[c] = z;
      }
      softmaxRow(p);
      const wi = cw[y[i]!]! / sw;
      for (let c = 0; c < classes; c++) {
        const e = wi * (p[c]! - (c === y[i] ? 1 : 0));
        for (let j = 0; j < d; j++) g[c * D + j] = g[c * D + j]! + e * r[j]!;
        g[c * D + d] = g[c * D + d]! + e;
      }
    }
    for (let c = 0; c < classes; c++) {
      for (let j = 0; j < D; j++) {
        const k = c * D + j;
        const reg = j < d ? l2 * w[k]! : 0;
        w[k] = w[k]! - learningRate * (g[k]! + reg);
      }
    }
  }
  return { classes, mean, sd, weights: w };
}

/** Class probabilities of one row. */
export function predictProba(m: LogRegModel, row: Float64Array): Float64Array {
  const d = m.mean.length;
  const D = d + 1;
  const p = new Float64Array(m.classes);
  for (let c = 0; c < m.classes; c++) {
    let z = m.weights[c * D + d]!;
    for (let j = 0; j < d; j++) z += m.weights[c * D + j]! * ((row[j]! - m.mean[j]!) / m.sd[j]!);
    p[c] = z;
  }
  softmaxRow(p);
  return p;
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------------------

export interface Scores {
  readonly n: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly f1: Readonly<Record<StressLevel, number | null>>;
  /** confusion[true][predicted], in STRESS_LEVELS order. */
  readonly confusion: number[][];
}

/**
 * Accuracy, per-class F1 and macro-F1 over the classes present in truth or prediction (a class absent from
 * both is null and left out of the mean).
 */
export function scoreConfusion(confusion: readonly (readonly number[])[]): Scores {
  const k = STRESS_LEVELS.length;
  let n = 0;
  let correct = 0;
  const f1: Partial<Record<StressLevel, number | null>> = {};
  const present: number[] = [];
  for (let c = 0; c < k; c++) {
    let tp = 0;
    let fn = 0;
    let fp = 0;
    for (let j = 0; j < k; j++) {
      const v = confusion[c]?.[j] ?? 0;
      n += v;
      if (j === c) {
        tp = v;
        correct += v;
      } else fn += v;
      fp += j === c ? 0 : (confusion[j]?.[c] ?? 0);
    }
    const level = STRESS_LEVELS[c]!;
    if (tp + fn + fp === 0) f1[level] = null;
    else {
      const v = (2 * tp) / (2 * tp + fp + fn);
      f1[level] = v;
      present.push(v);
    }
  }
  return {
    n,
    accuracy: n > 0 ? correct / n : NaN,
    macroF1: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    f1: f1 as Record<StressLevel, number | null>,
    confusion: confusion.map((r) => [...r]),
  };
}

export function emptyConfusion(): number[][] {
  return STRESS_LEVELS.map(() => STRESS_LEVELS.map(() => 0));
}

/** Confusion of row-major class probabilities [n × 3] (argmax) against label indices. */
export function confusionOf(probs: ArrayLike<number>, labels: ArrayLike<number>): number[][] {
  const c = emptyConfusion();
  for (let i = 0; i < labels.length; i++) {
    const p = argmax([probs[i * 3]!, probs[i * 3 + 1]!, probs[i * 3 + 2]!]);
    c[labels[i]!]![p]!++;
  }
  return c;
}

/** Element-wise sum of confusion matrices. */
export function sumConfusions(cs: readonly (readonly (readonly number[])[])[]): number[][] {
  const out = emptyConfusion();
  for (const c of cs) c.forEach((row, i) => row.forEach((v, j) => (out[i]![j]! += v)));
  return out;
}

export interface CvResult {
  readonly pooled: Scores;
  /** Mean of the per-drive macro-F1s. */
  readonly meanDriveMacroF1: number;
  readonly perDrive: { readonly record: string; readonly scores: Scores }[];
}

/**
 * Leave-one-drive-out: for each drive, train on the rows of all the others (fresh model and scaler),
 * predict its rows.
 */
export function leaveOneDriveOut(
  drives: readonly { readonly record: string; readonly rows: readonly BaselineRow[] }[],
  options: LogRegOptions = {},
): CvResult {
  const perDrive: { record: string; scores: Scores }[] = [];
  const all: number[][][] = [];
  for (const test of drives) {
    const train = drives.filter((d) => d.record !== test.record).flatMap((d) => d.rows);
    const model = trainLogReg(
      train.map((w) => w.features),
      train.map((w) => w.label),
      STRESS_LEVELS.length,
      options,
    );
    const conf = emptyConfusion();
    for (const w of test.rows) conf[w.label]![argmax(predictProba(model, w.features))]!++;
    all.push(conf);
    perDrive.push({ record: test.record, scores: scoreConfusion(conf) });
  }
  const f = perDrive.map((d) => d.scores.macroF1);
  return {
    pooled: scoreConfusion(sumConfusions(all)),
    meanDriveMacroF1: f.reduce((a, b) => a + b, 0) / Math.max(1, f.length),
    perDrive,
  };
}
