/**
 * Leave-one-drive-out cross-validation of the stress model, retraining per fold, with the baseline scored
 * in the same run on the same drives.
 *
 * Fold for test drive k (drives sorted by name): the validation drive (early stopping only) is the next
 * drive in that order (cyclic), the model trains on the remaining drives; the test drive is never seen.
 * Hyperparameters are fixed in advance (STRESS_HYPERPARAMETERS). Samples are estimates every `everyS`
 * (10 s, the baseline's stride); the test drive is scored on the same grid. Each finished fold is written
 * to `outDir/<variant>/fold-<drive>.json` at once, so a killed run resumes with the folds still to do.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { confusionOf, leaveOneDriveOut, scoreConfusion, sumConfusions } from './baseline.ts';
import type { CvResult, Scores } from './baseline.ts';
import type { LabelledSample } from './dataset.ts';
import { recordSamples } from './dataset.ts';
import type { StressSource, StressWindowConfig } from './inputs.ts';
import type { StressHyperparameters } from './model.ts';
import type { StressRecord } from './records.ts';
import { reorderSegments } from './reorder.ts';
import { packSamples, predictPacked, trainStressModel } from './train.ts';
import { N_STATS } from './inputs.ts';

export interface CvOptions {
  readonly windows: StressWindowConfig;
  readonly hyper?: StressHyperparameters;
  /** Sources removed from the inputs in training and test (model variants, e.g. cardiac-only). */
  readonly disabled?: readonly StressSource[];
  /** Reorder every drive's segments with this seed (initial rest kept first); undefined = original order. */
  readonly reorderSeed?: number;
  readonly everyS?: number;
  readonly seed?: number;
  readonly outDir: string;
  readonly variant: string;
  /** Test-time removals scored with each fold's model (sensor-failure study), by name. */
  readonly ablations?: Readonly<Record<string, readonly StressSource[]>>;
  readonly log?: (line: string) => void;
  /** Only these test drives (default all). */
  readonly folds?: readonly string[];
}

export interface FoldResult {
  readonly test: string;
  readonly validation: string;
  readonly train: readonly string[];
  readonly samples: { readonly train: number; readonly validation: number; readonly test: number };
  readonly bestEpoch: number | null;
  readonly bestValMacroF1: number | null;
  readonly epochs: number;
  readonly confusion: number[][];
  readonly scores: Scores;
  readonly ablations: Readonly<Record<string, { readonly confusion: number[][]; readonly scores: Scores }>>;
  readonly seconds: number;
}

export interface CvSummary {
  readonly variant: string;
  readonly reorderSeed: number | null;
  readonly disabled: readonly StressSource[];
  readonly pooled: Scores;
  readonly meanDriveMacroF1: number;
  readonly perDrive: readonly {
    readonly record: string;
    readonly macroF1: number;
    readonly scores: Scores;
  }[];
  readonly ablations: Readonly<
    Record<string, { readonly pooled: Scores; readonly meanDriveMacroF1: number }>
  >;
  readonly baseline: CvResult;
  readonly folds: readonly FoldResult[];
}

export function prepareDrives(
  records: readonly StressRecord[],
  reorderSeed: number | undefined,
): StressRecord[] {
  const sorted = [...records].sort((a, b) => a.name.localeCompare(b.name));
  return reorderSeed === undefined
    ? sorted
    : sorted.map((r) => ({ ...reorderSegments(r, reorderSeed).record, name: r.name }));
}

export async function crossValidate(records: readonly StressRecord[], o: CvOptions): Promise<CvSummary> {
  const log = o.log ?? (() => undefined);
  const drives = prepareDrives(records, o.reorderSeed);
  const everyS = o.everyS ?? 10;
  const disabled = new Set(o.disabled ?? []);
  const dir = path.join(o.outDir, o.variant);
  await mkdir(dir, { recursive: true });
  const cache = new Map<string, LabelledSample[]>();
  // The drives' samples are kept for the run (each serves five folds); ablated test samples are not.
  const samplesOf = (rec: StressRecord, extra: readonly StressSource[] = []) => {
    const make = () =>
      recordSamples(rec, { windows: o.windows, everyS, disabled: new Set([...disabled, ...extra]) });
    if (extra.length > 0) return make();
    let s = cache.get(rec.name);
    if (s === undefined) {
      s = make();
      cache.set(rec.name, s);
    }
    return s;
  };
  const folds: FoldResult[] = [];
  for (let k = 0; k < drives.length; k++) {
    const test = drives[k]!;
    if (o.folds && !o.folds.includes(test.name)) continue;
    const file = path.join(dir, `fold-${test.name}.json`);
    if (existsSync(file)) {
      folds.push(JSON.parse(await readFile(file, 'utf8')) as FoldResult);
      log(`${o.variant}: fold ${test.name} already done`);
      continue;
    }
    const val = drives[(k + 1) % drives.length]!;
    const trainDrives = drives.filter((d) => d !== test && d !== val);
    const t0 = Date.now();
    log(
      `${o.variant}: fold ${test.name} (validation ${val.name}; train ${trainDrives.map((d) => d.name).join(', ')})`,
    );
    const train = trainDrives.flatMap((d) => samplesOf(d));
    const res = await trainStressModel(train, samplesOf(val), {
      windows: o.windows,
      ...(o.hyper ? { hyper: o.hyper } : {}),
      seed: o.seed ?? 1,
      checkpointDir: path.join(dir, `ckpt-${test.name}`),
      log: (l) => log(`${o.variant} ${test.name}: ${l}`),
    });
    const score = (extra: readonly StressSource[]) => {
      const ts = samplesOf(test, extra);
      const p = packSamples(ts, o.windows, res.normaliser);
      const confusion = confusionOf(predictPacked(res.model, p, o.windows), p.labels);
      return { confusion, scores: scoreConfusion(confusion), n: ts.length };
    };
    const main = score([]);
    const ablations: Record<string, { confusion: number[][]; scores: Scores }> = {};
    for (const [name, removed] of Object.entries(o.ablations ?? {})) {
      const a = score(removed);
      ablations[name] = { confusion: a.confusion, scores: a.scores };
    }
    const fold: FoldResult = {
      test: test.name,
      validation: val.name,
      train: trainDrives.map((d) => d.name),
      samples: { train: train.length, validation: samplesOf(val).length, test: main.n },
      bestEpoch: res.bestEpoch,
      bestValMacroF1: res.bestValMacroF1,
      epochs: res.history.length,
      confusion: main.confusion,
      scores: main.scores,
      ablations,
      seconds: (Date.now() - t0) / 1000,
    };
    res.model.dispose();
    tf.disposeVariables();
    await writeFile(file, JSON.stringify(fold, null, 1));
    log(
      `${o.variant}: fold ${test.name} macro-F1 ${main.scores.macroF1.toFixed(3)} (${fold.seconds.toFixed(0)} s)`,
    );
    folds.push(fold);
  }
  const pooledOf = (get: (f: FoldResult) => number[][] | undefined) =>
    scoreConfusion(sumConfusions(folds.map(get).filter((c): c is number[][] => c !== undefined)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const ablations: Record<string, { pooled: Scores; meanDriveMacroF1: number }> = {};
  for (const name of Object.keys(o.ablations ?? {})) {
    ablations[name] = {
      pooled: pooledOf((f) => f.ablations[name]?.confusion),
      meanDriveMacroF1: mean(folds.map((f) => f.ablations[name]?.scores.macroF1 ?? NaN)),
    };
  }
  // The baseline, retrained per fold on the same samples: the 13 statistics of each estimate's newest window
  // (the builder's, with the same causal calibration), in the same run.
  const S = o.windows.sequenceLength;
  const baseline = leaveOneDriveOut(
    drives.map((d) => ({
      record: d.name,
      rows: samplesOf(d).map((x) => ({
        label: x.label,
        features: Float64Array.from(x.input.stats.subarray((S - 1) * N_STATS, S * N_STATS), (v) =>
          Number.isFinite(v) ? v : 0,
        ),
      })),
    })),
  );
  return {
    variant: o.variant,
    reorderSeed: o.reorderSeed ?? null,
    disabled: [...disabled],
    pooled: pooledOf((f) => f.confusion),
    meanDriveMacroF1: mean(folds.map((f) => f.scores.macroF1)),
    perDrive: folds.map((f) => ({ record: f.test, macroF1: f.scores.macroF1, scores: f.scores })),
    ablations,
    baseline,
    folds,
  };
}
