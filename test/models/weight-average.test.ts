/**
 * The moving average of a model's weights: the warm-up ramp, the update against a hand computation (batch
 * norm statistics included), validation-style swaps that always put the raw weights back, and no leaked
 * tensors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { averageDecay, checkAverageDecay, WeightAverage } from '../../src/models/common/weight-average.ts';
import { randomizeWeights } from './helpers.ts';

function buildModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, activation: 'tanh' }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2 }),
    ],
  });
}

const values = (model: tf.LayersModel): Float32Array[] =>
  model.getWeights().map((w) => w.dataSync() as Float32Array);

function assertClose(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
  tol: number,
  what: string,
): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    for (let k = 0; k < x.length; k++)
      assert.ok(Math.abs(x[k]! - b[i]![k]!) <= tol, `${what}: tensor ${i}[${k}] ${x[k]} vs ${b[i]![k]}`);
  });
}

describe('WeightAverage', () => {
  before(async () => {
    await forceTrainingBackend('wasm');
  });
  after(() => undefined);

  test('decay: ramps as (1 + n) / (10 + n) up to d; only (0, 1) accepted', () => {
    assert.equal(averageDecay(0.999, 0), 0.1);
    assert.equal(averageDecay(0.999, 10), 11 / 20);
    assert.equal(averageDecay(0.999, 1e6), 0.999);
    assert.equal(averageDecay(0.5, 100), 0.5);
    for (const bad of [0, 1, -0.1, 1.5, Number.NaN])
      assert.throws(() => checkAverageDecay(bad), /in \(0, 1\)/);
    assert.equal(checkAverageDecay(0.99), 0.99);
  });

  test('update: avg ← d·avg + (1 − d)·w for every weight, batch-norm statistics too', () => {
    const model = buildModel();
    randomizeWeights(model, 1);
    const w0 = values(model);
    const avg = WeightAverage.of(model, 0.5);
    try {
      assertClose(
        avg.tensors().map((t) => t.dataSync() as Float32Array),
        w0,
        0,
        'starts at the weights',
      );
      randomizeWeights(model, 2);
      const w1 = values(model);
      avg.update(0); // ramp: d = 0.1
      randomizeWeights(model, 3);
      const w2 = values(model);
      avg.update(100); // d = 0.5
      const expected = w0.map((x, i) =>
        x.map((v, k) => 0.5 * (0.1 * v + 0.9 * w1[i]![k]!) + 0.5 * w2[i]![k]!),
      );
      assertClose(
        avg.tensors().map((t) => t.dataSync() as Float32Array),
        expected,
        1e-6,
        'average',
      );
      // The moving variance is averaged as well (it is the last weight of the batch-norm layer).
      const names = model.weights.map((w) => w.originalName.split('/').pop());
      assert.ok(names.includes('moving_variance'));
      assertClose(values(model), w2, 0, 'the model keeps its raw weights');
    } finally {
      avg.dispose();
      model.dispose();
    }
  });

  test('withAveraged: the model predicts with the average inside, the raw weights come back (also on a throw)', async () => {
    const model = buildModel();
    randomizeWeights(model, 4);
    const beforeAverage = tf.memory().numTensors;
    const avg = WeightAverage.of(model, 0.9);
    assert.equal(tf.memory().numTensors, beforeAverage + model.weights.length, 'one copy of each weight');
    const x = tf.tensor2d([
      [0.1, -0.2, 0.3],
      [1, 0.5, -1],
    ]);
    const predict = (): Float32Array => {
      const p = model.predict(x) as tf.Tensor;
      const d = p.dataSync() as Float32Array;
      p.dispose();
      return d;
    };
    try {
      const atAverage = predict();
      randomizeWeights(model, 5);
      const raw = values(model);
      const rawPrediction = predict();
      assert.notDeepEqual(Array.from(rawPrediction), Array.from(atAverage));
      const before = tf.memory().numTensors;
      const inside = await avg.withAveraged(async () => predict());
      assert.deepEqual(Array.from(inside), Array.from(atAverage));
      assertClose(values(model), raw, 0, 'after withAveraged');
      await assert.rejects(
        avg.withAveraged(async () => {
          throw new Error('validation failed');
        }),
        /validation failed/,
      );
      assertClose(values(model), raw, 0, 'after a throw');
      avg.update(50);
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      avg.dispose();
      assert.equal(tf.memory().numTensors, beforeAverage + 1, 'dispose frees the copy (x remains)');
    } finally {
      tf.dispose(x);
      avg.dispose();
      model.dispose();
    }
  });

  test('set: replaces the average; a wrong count or shape is refused', () => {
    const model = buildModel();
    randomizeWeights(model, 6);
    const avg = WeightAverage.of(model, 0.9);
    try {
      const other = buildModel();
      randomizeWeights(other, 7);
      avg.set(other.getWeights());
      assertClose(
        avg.tensors().map((t) => t.dataSync() as Float32Array),
        values(other),
        0,
        'set',
      );
      other.dispose();
      assert.throws(() => avg.set(avg.tensors().slice(1)), /tensors for/);
      const wrong = avg.tensors().map((t, i) => (i === 0 ? tf.zeros([2, 2]) : t));
      assert.throws(() => avg.set(wrong), /is float32 \[2,2\]/);
      tf.dispose(wrong[0]!);
    } finally {
      avg.dispose();
      model.dispose();
    }
  });
});
