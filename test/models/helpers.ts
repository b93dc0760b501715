/** Shared helpers for the model tests: seeded weights and inputs, TF.js vs ONNX Runtime comparison. */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { maxAbsDifference } from '../../src/models/common/onnx-session.ts';
import type { FloatTensor, OnnxSession } from '../../src/models/common/onnx-session.ts';

/**
 * Sets every weight of `model` from a seeded generator, at scales that keep activations O(1) so a wrong
 * export shows as a large difference: kernels U(±√(3/fanIn)) (unit variance through a layer), biases, BN
 * beta and moving mean U(±0.5), BN gamma U(0.5, 1.5), moving variance U(0.5, 2).
 */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const rng = new SeededRandom(seed);
  const values = model.weights.map((w) => {
    const kind = w.originalName.split('/').pop() ?? '';
    const shape = w.shape.map((d) => d ?? 0); // weights have static shapes
    const size = shape.reduce((a, b) => a * b, 1);
    let draw: () => number;
    if (kind === 'moving_variance') draw = () => rng.uniform(0.5, 2);
    else if (kind === 'gamma') draw = () => rng.uniform(0.5, 1.5);
    else if (kind === 'beta' || kind === 'moving_mean' || kind === 'bias')
      draw = () => rng.uniform(-0.5, 0.5);
    else {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const a = Math.sqrt(3 / Math.max(1, fanIn));
      draw = () => rng.uniform(-a, a);
    }
    return tf.tensor(rng.floats(size, draw), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Standard-normal inputs for `model` with batch size `batch` (null dims other than batch → `dynamic`). */
export function randomInputs(
  model: tf.LayersModel,
  batch: number,
  seed: number,
  dynamic = 7,
): Record<string, FloatTensor> {
  const rng = new SeededRandom(seed);
  const out: Record<string, FloatTensor> = {};
  for (const t of model.inputs) {
    const dims = t.shape.map((d, i) => (i === 0 ? batch : (d ?? dynamic)));
    const size = dims.reduce((a, b) => a * b, 1);
    out[t.sourceLayer.name] = { data: rng.floats(size, () => rng.normal()), dims };
  }
  return out;
}

/** TF.js predictions for named inputs, by the ONNX output names (model.outputNames order). */
export function tfjsPredict(
  model: tf.LayersModel,
  inputs: Record<string, FloatTensor>,
  outputNames: readonly string[],
): Record<string, Float32Array> {
  return tf.tidy(() => {
    const xs = model.inputs.map((t) => {
      const v = inputs[t.sourceLayer.name];
      if (v === undefined) throw new Error(`no input ${t.sourceLayer.name}`);
      return tf.tensor(v.data, [...v.dims]);
    });
    const ys = model.predict(xs.length === 1 ? (xs[0] as tf.Tensor) : xs);
    const list = Array.isArray(ys) ? ys : [ys];
    const out: Record<string, Float32Array> = {};
    list.forEach((y, i) => {
      out[outputNames[i] as string] = y.dataSync() as Float32Array;
    });
    return out;
  });
}

/** Largest |a − b| (src `maxAbsDifference`: NaN anywhere gives NaN, so a bound check fails on it). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return maxAbsDifference(a, b);
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

export interface ParityResult {
  /** Max |ONNX − TF.js| per output. */
  perOutput: Record<string, number>;
  /** Max |TF.js| per output (the scale the difference is measured against). */
  scale: Record<string, number>;
  max: number;
}

/** Runs the ONNX session and TF.js on the same inputs and measures the differences per output. */
export async function parity(
  model: tf.LayersModel,
  session: OnnxSession,
  inputs: Record<string, FloatTensor>,
): Promise<ParityResult> {
  const expected = tfjsPredict(model, inputs, session.outputNames);
  const got = await session.run(inputs);
  const perOutput: Record<string, number> = {};
  const scale: Record<string, number> = {};
  let max = 0;
  for (const name of session.outputNames) {
    const e = expected[name];
    const g = got[name];
    if (e === undefined || g === undefined) throw new Error(`output ${name} missing`);
    const d = maxAbsDiff(g.data, e);
    perOutput[name] = d;
    scale[name] = maxAbs(e);
    max = Number.isNaN(d) || d > max ? d : max;
  }
  return { perOutput, scale, max };
}
