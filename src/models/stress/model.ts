/**
 * The stress classifier (Rastgoo et al. 2019 in structure): one 1-D CNN per modality over each window,
 * the window embeddings fused, an LSTM over consecutive windows, softmax over low / medium / high.
 *
 * Layout. Inputs are [batch, S windows, T bins, C channels]; a "per-window 1-D convolution" is a Conv2D
 * with a 1×k kernel (it never mixes windows), which exports to ONNX as a plain Conv — no TimeDistributed
 * wrapper is needed. Branches (after the same group's sibling model): Conv 20×k10 → pool 2 → Conv 40×k5 →
 * pool 2 → Conv 80×k3 → pool 2, ELU, dropout; the cardiac branch takes HR, hand EDA, foot EDA and
 * respiration series, the vehicle branch speed, acceleration, steering angle and rate, throttle and brake;
 * the context branch a small Conv 8×k3 over the window's context steps. Each window's fused vector is the
 * three embeddings, the 13 physiological window statistics and the 5 source flags → Dense 64 (ELU) →
 * LSTM 64 (last state) → Dense 3 (softmax).
 *
 * Sizes are fixed in advance (`STRESS_HYPERPARAMETERS`), not tuned on the test drives.
 */
import * as tf from '@tensorflow/tfjs';
import type { StressWindowConfig } from './inputs.ts';
import { inputShapes } from './inputs.ts';

export interface StressHyperparameters {
  readonly filters: readonly [number, number, number];
  readonly kernels: readonly [number, number, number];
  readonly contextFilters: number;
  readonly fusionUnits: number;
  readonly lstmUnits: number;
  readonly dropout: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly maxEpochs: number;
  readonly patience: number;
  readonly l2: number;
  /** Probability of dropping each present source for a whole training sequence (Ngiam et al. 2011). */
  readonly sourceDropout: number;
  /** The same for the vehicle and context sources (simulated from the training drive's own segments). */
  readonly simulatedSourceDropout: number;
  /** Probability of a source failing part-way through a training sequence (its last windows zeroed). */
  readonly midSequenceFailure: number;
  /** Probability of a short history (leading windows absent), as at the start of a drive. */
  readonly shortHistory: number;
}

export const STRESS_HYPERPARAMETERS: StressHyperparameters = {
  filters: [20, 40, 80],
  kernels: [10, 5, 3],
  contextFilters: 8,
  fusionUnits: 64,
  lstmUnits: 64,
  dropout: 0.3,
  learningRate: 1e-3,
  batchSize: 32,
  maxEpochs: 20,
  patience: 5,
  l2: 1e-4,
  sourceDropout: 0.2,
  simulatedSourceDropout: 0.5,
  midSequenceFailure: 0.1,
  shortHistory: 0.1,
};

export const STRESS_INPUT_NAMES = ['physio', 'stats', 'vehicle', 'context', 'flags'] as const;
export type StressInputName = (typeof STRESS_INPUT_NAMES)[number];

function convBranch(
  x: tf.SymbolicTensor,
  name: string,
  h: StressHyperparameters,
  S: number,
  init: () => ReturnType<typeof tf.initializers.glorotUniform>,
): tf.SymbolicTensor {
  let y = x;
  h.filters.forEach((f, i) => {
    y = tf.layers
      .conv2d({
        name: `${name}_conv${i + 1}`,
        filters: f,
        kernelSize: [1, h.kernels[i]!],
        activation: 'elu',
        kernelInitializer: init(),
        kernelRegularizer: tf.regularizers.l2({ l2: h.l2 }),
      })
      .apply(y) as tf.SymbolicTensor;
    y = tf.layers
      .maxPooling2d({ name: `${name}_pool${i + 1}`, poolSize: [1, 2] })
      .apply(y) as tf.SymbolicTensor;
  });
  const [, , t, c] = y.shape;
  y = tf.layers
    .reshape({ name: `${name}_flat`, targetShape: [S, (t ?? 1) * (c ?? 1)] })
    .apply(y) as tf.SymbolicTensor;
  return tf.layers.dropout({ name: `${name}_drop`, rate: h.dropout }).apply(y) as tf.SymbolicTensor;
}

export function buildStressModel(
  windows: StressWindowConfig,
  h: StressHyperparameters = STRESS_HYPERPARAMETERS,
  seed = 1,
): tf.LayersModel {
  // Every initialiser gets its own seed, so a run is reproducible.
  let k = seed * 100;
  const init = () => tf.initializers.glorotUniform({ seed: k++ });
  const shapes = inputShapes(windows);
  const S = windows.sequenceLength;
  const input = (name: StressInputName) =>
    tf.input({ name, shape: [...shapes[name]] as number[] }) as tf.SymbolicTensor;
  const physio = input('physio');
  const stats = input('stats');
  const vehicle = input('vehicle');
  const context = input('context');
  const flags = input('flags');
  const cardiacEmb = convBranch(physio, 'cardiac', h, S, init);
  const vehicleEmb = convBranch(vehicle, 'vehicle', h, S, init);
  let ctx = tf.layers
    .conv2d({
      name: 'context_conv',
      filters: h.contextFilters,
      kernelSize: [1, Math.min(3, windows.contextSteps)],
      activation: 'elu',
      kernelInitializer: init(),
    })
    .apply(context) as tf.SymbolicTensor;
  const [, , ct, cc] = ctx.shape;
  ctx = tf.layers
    .reshape({ name: 'context_flat', targetShape: [S, (ct ?? 1) * (cc ?? 1)] })
    .apply(ctx) as tf.SymbolicTensor;
  let fused = tf.layers
    .concatenate({ name: 'fusion', axis: -1 })
    .apply([cardiacEmb, vehicleEmb, ctx, stats, flags]) as tf.SymbolicTensor;
  fused = tf.layers
    .dense({
      name: 'fusion_dense',
      units: h.fusionUnits,
      activation: 'elu',
      kernelInitializer: init(),
      kernelRegularizer: tf.regularizers.l2({ l2: h.l2 }),
    })
    .apply(fused) as tf.SymbolicTensor;
  fused = tf.layers.dropout({ name: 'fusion_drop', rate: h.dropout }).apply(fused) as tf.SymbolicTensor;
  let seq = tf.layers
    .lstm({
      name: 'lstm',
      units: h.lstmUnits,
      kernelInitializer: init(),
      recurrentInitializer: tf.initializers.orthogonal({ seed: k++ }),
    })
    .apply(fused) as tf.SymbolicTensor;
  seq = tf.layers.dropout({ name: 'lstm_drop', rate: h.dropout }).apply(seq) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ name: 'stress', units: 3, activation: 'softmax', kernelInitializer: init() })
    .apply(seq) as tf.SymbolicTensor;
  return tf.model({
    name: 'stress_cnn_lstm',
    inputs: [physio, stats, vehicle, context, flags],
    outputs: out,
  });
}
