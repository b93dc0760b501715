/**
 * Training of the stress model with TF.js (custom loop, so checkpoints and resume are exact).
 *
 * - Loss: class-weighted cross-entropy (balanced weights from the training samples) + L2 on kernels.
 * - Robustness augmentation, drawn from the run's SeededRandom: each present source dropped for a whole
 *   sequence with p = sourceDropout (zeros, flag 0; at least one source kept), a source failing part-way
 *   through (its last 1…S windows zeroed) with p = midSequenceFailure, and a short history (leading windows
 *   absent) with p = shortHistory.
 * - Early stopping on the validation drive's macro-F1 (patience epochs), restoring the best weights.
 * - Checkpoints every epoch (CheckpointStore) when a directory is given: a killed run resumes at the next
 *   epoch with the same data order.
 */
import * as tf from '@tensorflow/tfjs';
import { CheckpointStore, initialTrainingState } from '../common/checkpoint.ts';
import type { TrainingState } from '../common/checkpoint.ts';
import { SeededRandom } from '../common/rng.ts';
import { confusionOf, scoreConfusion } from './baseline.ts';
import type { LabelledSample, StatsNormaliser } from './dataset.ts';
import { fitNormaliser, prepareStats, sampleSizes } from './dataset.ts';
import type { StressWindowConfig } from './inputs.ts';
import {
  inputShapes,
  N_CONTEXT,
  N_STATS,
  PHYSIO_CHANNELS,
  STRESS_SOURCES,
  VEHICLE_CHANNELS,
} from './inputs.ts';
import type { StressHyperparameters } from './model.ts';
import { buildStressModel, STRESS_HYPERPARAMETERS } from './model.ts';

export interface TrainStressOptions {
  readonly windows: StressWindowConfig;
  readonly hyper?: StressHyperparameters;
  readonly seed?: number;
  readonly checkpointDir?: string;
  readonly log?: (line: string) => void;
}

export interface TrainStressResult {
  readonly model: tf.LayersModel;
  readonly normaliser: StatsNormaliser;
  readonly history: Record<string, number>[];
  readonly bestEpoch: number | null;
  readonly bestValMacroF1: number | null;
}

interface Packed {
  readonly n: number;
  readonly physio: Float32Array;
  readonly stats: Float32Array;
  readonly vehicle: Float32Array;
  readonly context: Float32Array;
  readonly flags: Float32Array;
  readonly labels: Int32Array;
}

/** Concatenates samples (stats standardised) into flat arrays. */
export function packSamples(
  samples: readonly LabelledSample[],
  w: StressWindowConfig,
  norm: StatsNormaliser,
): Packed {
  const z = sampleSizes(w);
  const n = samples.length;
  const p: Packed = {
    n,
    physio: new Float32Array(n * z.physio),
    stats: new Float32Array(n * z.stats),
    vehicle: new Float32Array(n * z.vehicle),
    context: new Float32Array(n * z.context),
    flags: new Float32Array(n * z.flags),
    labels: Int32Array.from(samples, (s) => s.label),
  };
  samples.forEach((s, i) => {
    const stats = Float32Array.from(s.input.stats);
    prepareStats({ stats, flags: s.input.flags }, norm, w.sequenceLength);
    p.physio.set(s.input.physio, i * z.physio);
    p.stats.set(stats, i * z.stats);
    p.vehicle.set(s.input.vehicle, i * z.vehicle);
    p.context.set(s.input.context, i * z.context);
    p.flags.set(s.input.flags, i * z.flags);
  });
  return p;
}

type Batch = Record<'physio' | 'stats' | 'vehicle' | 'context' | 'flags', Float32Array>;

/** Gathers rows `idx` of the packed set (copies, so augmentation never touches the set). */
function gather(p: Packed, idx: readonly number[], w: StressWindowConfig): Batch {
  const z = sampleSizes(w);
  const out = {} as Batch;
  for (const k of ['physio', 'stats', 'vehicle', 'context', 'flags'] as const) {
    const a = new Float32Array(idx.length * z[k]);
    idx.forEach((r, i) => a.set(p[k].subarray(r * z[k], (r + 1) * z[k]), i * z[k]));
    out[k] = a;
  }
  return out;
}

/** Zeroes source `src` in windows [fromW, toW) of batch row `i` (data and flag). */
function zeroSource(
  b: Batch,
  i: number,
  src: number,
  fromW: number,
  w: StressWindowConfig,
  toW = w.sequenceLength,
): void {
  const S = w.sequenceLength;
  const T = Math.round(w.windowS * w.binHz);
  const F = STRESS_SOURCES.length;
  const P = PHYSIO_CHANNELS.length;
  const V = VEHICLE_CHANNELS.length;
  const name = STRESS_SOURCES[src]!;
  const physioCh = name === 'hr' ? [0] : name === 'eda' ? [1, 2] : name === 'resp' ? [3] : [];
  const statK =
    name === 'hr' ? [0, 1, 2] : name === 'eda' ? [3, 4, 5, 6, 7, 8, 9, 10] : name === 'resp' ? [11, 12] : [];
  for (let win = fromW; win < toW; win++) {
    b.flags[(i * S + win) * F + src] = 0;
    for (const c of physioCh) for (let t = 0; t < T; t++) b.physio[((i * S + win) * T + t) * P + c] = 0;
    for (const k of statK) b.stats[(i * S + win) * N_STATS + k] = 0;
    if (name === 'vehicle') b.vehicle.fill(0, (i * S + win) * T * V, (i * S + win + 1) * T * V);
    if (name === 'context')
      b.context.fill(
        0,
        (i * S + win) * w.contextSteps * N_CONTEXT,
        (i * S + win + 1) * w.contextSteps * N_CONTEXT,
      );
  }
}

function augment(
  b: Batch,
  rows: number,
  w: StressWindowConfig,
  h: StressHyperparameters,
  rng: SeededRandom,
): void {
  const S = w.sequenceLength;
  const F = STRESS_SOURCES.length;
  for (let i = 0; i < rows; i++) {
    const newest = (i * S + S - 1) * F;
    const present = STRESS_SOURCES.map((_, s) => s).filter((s) => b.flags[newest + s] === 1);
    // Vehicle and context (in training they are simulated from the drive's own segments, an easy cue) are
    // dropped more often, so the physiology branch keeps learning.
    const vehicle = STRESS_SOURCES.indexOf('vehicle');
    const context = STRESS_SOURCES.indexOf('context');
    const drop = present.filter((s) =>
      s === vehicle || s === context ? rng.next() < h.simulatedSourceDropout : rng.next() < h.sourceDropout,
    );
    if (drop.length === present.length) drop.pop();
    for (const s of drop) zeroSource(b, i, s, 0, w);
    const kept = present.filter((s) => !drop.includes(s));
    if (kept.length > 1 && rng.next() < h.midSequenceFailure) {
      const s = kept[Math.floor(rng.next() * kept.length)]!;
      zeroSource(b, i, s, S - 1 - Math.floor(rng.next() * S), w);
    }
    if (rng.next() < h.shortHistory) {
      // Leading windows absent, as at the start of a drive.
      const lead = 1 + Math.floor(rng.next() * (S - 1));
      for (let s = 0; s < F; s++) zeroSource(b, i, s, 0, w, lead);
    }
  }
}

function toTensors(b: Batch, rows: number, w: StressWindowConfig): tf.Tensor[] {
  const s = inputShapes(w);
  return [
    tf.tensor(b.physio, [rows, ...s.physio]),
    tf.tensor(b.stats, [rows, ...s.stats]),
    tf.tensor(b.vehicle, [rows, ...s.vehicle]),
    tf.tensor(b.context, [rows, ...s.context]),
    tf.tensor(b.flags, [rows, ...s.flags]),
  ];
}

/** Class probabilities for every packed sample (inference mode), in batches. */
export function predictPacked(
  model: tf.LayersModel,
  p: Packed,
  w: StressWindowConfig,
  batch = 256,
): Float32Array {
  const out = new Float32Array(p.n * 3);
  for (let a = 0; a < p.n; a += batch) {
    const idx = Array.from({ length: Math.min(batch, p.n - a) }, (_, i) => a + i);
    const xs = toTensors(gather(p, idx, w), idx.length, w);
    const y = model.predict(xs) as tf.Tensor;
    out.set(y.dataSync() as Float32Array, a * 3);
    tf.dispose([...xs, y]);
  }
  return out;
}

export function macroF1Of(probs: Float32Array, labels: Int32Array): number {
  return scoreConfusion(confusionOf(probs, labels)).macroF1;
}

export async function trainStressModel(
  train: readonly LabelledSample[],
  val: readonly LabelledSample[],
  o: TrainStressOptions,
): Promise<TrainStressResult> {
  const h = o.hyper ?? STRESS_HYPERPARAMETERS;
  const w = o.windows;
  const log = o.log ?? (() => undefined);
  if (train.length === 0) throw new Error('no training samples');
  if (val.length === 0) throw new Error('no validation samples (early stopping needs a validation drive)');
  const normaliser = fitNormaliser(
    train.map((s) => s.input),
    w.sequenceLength,
  );
  const tr = packSamples(train, w, normaliser);
  const va = packSamples(val, w, normaliser);
  const counts = [0, 0, 0];
  for (const l of tr.labels) counts[l]!++;
  const classWeight = counts.map((c) => (c > 0 ? tr.n / (3 * c) : 0));
  const model = buildStressModel(w, h, o.seed ?? 1);
  const optimizer = tf.train.adam(h.learningRate);
  const store = o.checkpointDir ? new CheckpointStore(o.checkpointDir) : undefined;
  let state: TrainingState = initialTrainingState(new SeededRandom(o.seed ?? 1).state);
  if (store) {
    // Build the optimizer's slots before restoring them.
    const resumed = await store.loadLatest(model, optimizer);
    if (resumed) {
      state = resumed.state;
      log(`resumed at epoch ${state.epoch} (best macro-F1 ${state.bestScore?.toFixed(3) ?? '—'})`);
    }
  }
  const rng = SeededRandom.fromState(state.rng);
  let bestWeights: tf.Tensor[] = [];
  while (state.epoch < h.maxEpochs && state.epochsWithoutImprovement < h.patience) {
    const t0 = Date.now();
    const order = Array.from({ length: tr.n }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let lossSum = 0;
    let batches = 0;
    for (let a = 0; a < order.length; a += h.batchSize) {
      const idx = order.slice(a, a + h.batchSize);
      const b = gather(tr, idx, w);
      augment(b, idx.length, w, h, rng);
      const xs = toTensors(b, idx.length, w);
      const y = tf.oneHot(
        tf.tensor1d(
          idx.map((i) => tr.labels[i]!),
          'int32',
        ),
        3,
      );
      const sw = tf.tensor1d(idx.map((i) => classWeight[tr.labels[i]!]!));
      const loss = optimizer.minimize(() => {
        const p = model.apply(xs, { training: true }) as tf.Tensor;
        const ce = tf.losses.softmaxCrossEntropy(y, tf.log(tf.clipByValue(p, 1e-7, 1)), sw);
        const reg = model.losses.length > 0 ? tf.addN(model.losses.map((f) => f())) : tf.scalar(0);
        return tf.add(ce, reg) as tf.Scalar;
      }, true);
      lossSum += (await loss!.data())[0]!;
      batches++;
      tf.dispose([...xs, y, sw, loss!]);
      state.step++;
    }
    const trainF1 = macroF1Of(predictPacked(model, tr, w), tr.labels);
    const valF1 = macroF1Of(predictPacked(model, va, w), va.labels);
    state.epoch++;
    const improved = state.bestScore === null || valF1 > state.bestScore + 1e-4;
    if (improved) {
      state.bestScore = valF1;
      state.bestEpoch = state.epoch;
      state.epochsWithoutImprovement = 0;
    } else state.epochsWithoutImprovement++;
    state.rng = rng.state;
    state.history.push({
      epoch: state.epoch,
      loss: lossSum / batches,
      trainMacroF1: trainF1,
      valMacroF1: valF1,
    });
    log(
      `epoch ${state.epoch}: loss ${(lossSum / batches).toFixed(4)} train macro-F1 ${trainF1.toFixed(3)} ` +
        `val ${valF1.toFixed(3)}${improved ? ' (best)' : ''} ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (store) await store.save(model, state, optimizer, { best: improved });
    else if (improved) {
      tf.dispose(bestWeights);
      bestWeights = model.getWeights().map((t) => t.clone());
    }
  }
  if (store) await store.loadBest(model);
  else if (bestWeights.length > 0) model.setWeights(bestWeights);
  tf.dispose(bestWeights);
  optimizer.dispose();
  return {
    model,
    normaliser,
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValMacroF1: state.bestScore,
  };
}
