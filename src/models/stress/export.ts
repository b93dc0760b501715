/**
 * Export of a trained stress model to ONNX with its metadata, and the parity check against TF.js
 * (ONNX Runtime and TF.js on the same inputs; the bound is 1e-4 max abs difference).
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedOnnxModel } from '../common/onnx-export.ts';
import { saveOnnxModel } from '../common/onnx-export.ts';
import { maxAbsDifference, OnnxSession } from '../common/onnx-session.ts';
import { SeededRandom } from '../common/rng.ts';
import type { StressModelMeta } from './estimator.ts';
import { inputShapes } from './inputs.ts';
import type { StressWindowConfig } from './inputs.ts';
import { STRESS_INPUT_NAMES } from './model.ts';

export async function exportStressModel(
  model: tf.LayersModel,
  meta: StressModelMeta,
  onnxPath: string,
): Promise<SavedOnnxModel> {
  return saveOnnxModel(model, onnxPath, {
    graphName: 'stress_cnn_lstm',
    docString: `drivesense stress model ${meta.id}: CNN per modality + LSTM over windows; low/medium/high`,
    metadata: { stress: meta },
  });
}

/** Random inputs in the model's ranges: series in [−1, 1], flags 0/1 (seeded). */
export function randomStressInputs(
  w: StressWindowConfig,
  batch: number,
  seed: number,
): Record<string, { data: Float32Array; dims: number[] }> {
  const rng = new SeededRandom(seed);
  const shapes = inputShapes(w);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const name of STRESS_INPUT_NAMES) {
    const dims = [batch, ...shapes[name]];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++)
      data[i] = name === 'flags' ? (rng.next() < 0.6 ? 1 : 0) : rng.next() * 2 - 1;
    out[name] = { data, dims };
  }
  return out;
}

/** Max abs difference between TF.js and ONNX Runtime outputs on `batch` random inputs. */
export async function stressParity(
  model: tf.LayersModel,
  onnxPath: string,
  w: StressWindowConfig,
  batch = 16,
  seed = 7,
): Promise<number> {
  const feeds = randomStressInputs(w, batch, seed);
  const xs = STRESS_INPUT_NAMES.map((n) => tf.tensor(feeds[n]!.data, feeds[n]!.dims));
  const y = model.predict(xs) as tf.Tensor;
  const ref = (await y.data()) as Float32Array;
  tf.dispose([...xs, y]);
  const session = await OnnxSession.create(onnxPath);
  try {
    return maxAbsDifference(ref, Object.values(await session.run(feeds))[0]!.data);
  } finally {
    await session.release();
  }
}
