/**
 * AVDCNN (src/models/speech/avdcnn.ts): shapes for the symmetric and causal configs, the parameter count
 * against its formula, RMSprop steps reducing the loss, the camera-absent helpers, ONNX Runtime vs TF.js
 * parity (≤ 1e-4 on random weights and inputs, both outputs), and config validation.
 *
 * Runs on the training backend `selectTrainingBackend` picks (wasm here, with the project's gradient kernels).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx } from '../../src/models/common/onnx-export.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import {
  AVDCNN_DEFAULTS,
  avdcnnEvaluate,
  avdcnnLoss,
  avdcnnParameterCount,
  avdcnnShapes,
  avdcnnTrainStep,
  buildAvdcnn,
  createAvdcnnOptimizer,
  currentFrameIndex,
  resolveAvdcnnConfig,
  visualInputFromFrames,
  zeroVisual,
} from '../../src/models/speech/avdcnn.ts';
import type { AvdcnnBatch, AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { parity, randomInputs, randomizeWeights } from './helpers.ts';

const TOLERANCE = 1e-4;

function randomBatch(c: AvdcnnConfig, n: number, seed: number): AvdcnnBatch {
  const rng = new SeededRandom(seed);
  const s = avdcnnShapes(c);
  return {
    size: n,
    audio: rng.floats(n * c.contextFrames * c.bins, () => rng.normal()),
    visual: rng.floats(n * c.mouthHeight * c.mouthWidth * c.contextFrames),
    clean: rng.floats(n * s.clean, () => rng.normal()),
    lip: rng.floats(n * s.lip),
  };
}

describe('AVDCNN model', () => {
  before(async () => {
    await selectTrainingBackend();
  });

  it('symmetric and causal configs: input and output shapes, current frame', () => {
    for (const context of ['symmetric', 'causal'] as const) {
      const c = resolveAvdcnnConfig({ context });
      assert.equal(c.context, context);
      const model = buildAvdcnn(c);
      try {
        assert.deepEqual(
          model.inputs.map((t) => [t.sourceLayer.name, t.shape]),
          [
            ['audio', [null, 5, 257, 1]],
            ['visual', [null, 16, 24, 5]],
          ],
        );
        assert.deepEqual(model.outputNames, ['clean', 'lip']);
        const ys = tf.tidy(() => {
          const out = model.predict([tf.zeros([3, 5, 257, 1]), tf.zeros([3, 16, 24, 5])]) as tf.Tensor[];
          return out.map((y) => y.shape);
        });
        assert.deepEqual(ys, [
          [3, 257],
          [3, 384],
        ]);
      } finally {
        model.dispose();
      }
      assert.equal(currentFrameIndex(c), context === 'causal' ? 4 : 2);
    }
  });

  it('merged size and parameter count follow the formula (defaults: 1904 + 2304 = 4208; 7,427,231)', () => {
    const c = resolveAvdcnnConfig();
    const s = avdcnnShapes(c);
    assert.deepEqual(s.audioLayers, [
      [4, 246, 10],
      [4, 123, 10],
      [4, 119, 4],
    ]);
    assert.equal(s.audioFlat, 1904); // the paper's audio part (DESIGN.md: 119×4×4)
    assert.equal(s.visualFlat, 16 * 24 * 6);
    assert.equal(s.merged, 4208);
    // conv: k·in·out + out, BN: 4·out; dense: in·out + out.
    const conv = (k: number, i: number, o: number): number => k * i * o + o + 4 * o;
    const dense = (i: number, o: number): number => i * o + o;
    const formula =
      conv(24, 1, 10) +
      conv(5, 10, 4) +
      conv(30, 5, 12) +
      conv(14, 12, 10) +
      conv(6, 10, 6) +
      dense(4208, 1000) +
      dense(1000, 800) +
      dense(800, 600) +
      dense(600, 257) +
      dense(800, 1500) +
      dense(1500, 384);
    assert.equal(formula, 7_427_231);
    assert.equal(avdcnnParameterCount(c).total, formula);
    const model = buildAvdcnn(c);
    try {
      assert.equal(model.countParams(), formula);
      const trainable = model.trainableWeights.reduce(
        (n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1),
        0,
      );
      assert.equal(avdcnnParameterCount(c).trainable, trainable);
    } finally {
      model.dispose();
    }
    // A smaller configuration: the formula still matches the built model.
    const small = resolveAvdcnnConfig({
      fc1Units: 64,
      fc2Units: 32,
      fcAudioUnits: 24,
      fcVisualUnits: 40,
      visualPadding: 'valid',
      visualConv: [
        { filters: 4, height: 2, width: 15 },
        { filters: 3, height: 2, width: 7 },
      ],
    });
    assert.equal(avdcnnShapes(small).visualFlat, 14 * 4 * 3);
    const m2 = buildAvdcnn(small);
    try {
      assert.equal(m2.countParams(), avdcnnParameterCount(small).total);
    } finally {
      m2.dispose();
    }
  });

  it('a few RMSprop steps (lr 1e-4) on random data reduce the loss', async (t) => {
    const c = resolveAvdcnnConfig();
    const model = buildAvdcnn(c, 2);
    const optimizer = createAvdcnnOptimizer(c);
    try {
      const batch = randomBatch(c, 16, 4);
      const before = await avdcnnEvaluate(model, batch, c);
      const losses: number[] = [];
      const tensors: number[] = [];
      for (let i = 0; i < 4; i++) {
        losses.push((await avdcnnTrainStep(model, optimizer, batch, c)).total);
        tensors.push(tf.memory().numTensors);
      }
      const after = await avdcnnEvaluate(model, batch, c);
      t.diagnostic(
        `inference loss ${before.total.toFixed(4)} → ${after.total.toFixed(4)}; ` +
          `training losses ${losses.map((l) => l.toFixed(4)).join(', ')}`,
      );
      assert.ok(losses.every(Number.isFinite));
      assert.equal(tensors[3], tensors[1], 'tensors leak across steps'); // step 1 creates the RMSprop slots
      assert.ok((losses[3] as number) < (losses[0] as number), 'training loss did not fall');
      assert.ok(after.total < 0.9 * before.total, `loss ${before.total} → ${after.total}`);
      assert.ok(Math.abs(after.total - (after.audio + c.videoLossWeight * after.video)) < 1e-5);
      // Per-value clean weights reach the loss through the batch: all 2 doubles the audio term, all 0
      // removes it, and a training step with weights leaks no tensor either.
      const values = batch.clean.length;
      const twice = await avdcnnEvaluate(
        model,
        { ...batch, cleanWeight: new Float32Array(values).fill(2) },
        c,
      );
      const none = await avdcnnEvaluate(model, { ...batch, cleanWeight: new Float32Array(values) }, c);
      assert.ok(Math.abs(twice.audio - 2 * after.audio) < 1e-5 * Math.max(1, after.audio), `${twice.audio}`);
      assert.equal(none.audio, 0);
      const held = tf.memory().numTensors;
      await avdcnnTrainStep(model, optimizer, { ...batch, cleanWeight: new Float32Array(values).fill(1) }, c);
      assert.equal(tf.memory().numTensors, held, 'weighted step leaks tensors');
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  });

  it('zeroVisual zeroes whole examples and drops their lip term; μ weights the video loss', () => {
    const c = resolveAvdcnnConfig();
    const batch = randomBatch(c, 200, 7);
    const { batch: z, zeroed } = zeroVisual(batch, 0.25, new SeededRandom(1));
    const per = 16 * 24 * 5;
    assert.ok(zeroed > 25 && zeroed < 75, `zeroed ${zeroed} of 200`);
    let count = 0;
    for (let i = 0; i < z.size; i++) {
      const slice = z.visual.subarray(i * per, (i + 1) * per);
      const absent = z.videoWeight?.[i] === 0;
      if (absent) count++;
      assert.equal(
        slice.every((v) => v === 0),
        absent,
      );
    }
    assert.equal(count, zeroed);
    assert.ok(
      batch.visual.some((v) => v !== 0),
      'input batch left unchanged',
    );
    // Same seed, same draws (resumable).
    assert.equal(zeroVisual(batch, 0.25, new SeededRandom(1)).zeroed, zeroed);
    assert.throws(() => zeroVisual(batch, 1.5, new SeededRandom(1)), /p must be in \[0, 1\]/);

    tf.tidy(() => {
      const pred = { clean: tf.tensor2d([[1, 1]]), lip: tf.tensor2d([[2], [4]]) };
      const target = { clean: tf.tensor2d([[0, 2]]), lip: tf.tensor2d([[0], [0]]) };
      const full = avdcnnLoss(pred, target, 1);
      assert.ok(Math.abs(full.audio.dataSync()[0]! - 1) < 1e-6);
      assert.ok(Math.abs(full.video.dataSync()[0]! - 10) < 1e-6); // (4 + 16) / 2
      const half = avdcnnLoss(pred, { ...target, videoWeight: tf.tensor1d([1, 0]) }, 0.5);
      assert.ok(Math.abs(half.video.dataSync()[0]! - 2) < 1e-6); // (4 + 0) / 2
      assert.ok(Math.abs(half.total.dataSync()[0]! - 2) < 1e-6); // 1 + 0.5·2
      // Per-value weights of the clean term, errors 1 and 4: (3·1 + 0·4) / 2; swapped (0·1 + 3·4) / 2;
      // all ones = unweighted.
      const uneven = { ...target, clean: tf.tensor2d([[0, 3]]) };
      const w = avdcnnLoss(pred, { ...uneven, cleanWeight: tf.tensor2d([[3, 0]]) }, 1);
      assert.ok(Math.abs(w.audio.dataSync()[0]! - 1.5) < 1e-6);
      const swapped = avdcnnLoss(pred, { ...uneven, cleanWeight: tf.tensor2d([[0, 3]]) }, 1);
      assert.ok(Math.abs(swapped.audio.dataSync()[0]! - 6) < 1e-6);
      const ones = avdcnnLoss(pred, { ...target, cleanWeight: tf.tensor2d([[1, 1]]) }, 1);
      assert.ok(Math.abs(ones.total.dataSync()[0]! - full.total.dataSync()[0]!) < 1e-6);
      // The asymmetric loss: predictions 1 and 1 against targets 0 (above: error 1) and 3 (below: error 4).
      // β = 2 triples the error below its target only: (1 + 3·4) / 2; with clean weights 3 and 0, (3·1) / 2.
      const asym = avdcnnLoss(pred, uneven, 1, 2);
      assert.ok(Math.abs(asym.audio.dataSync()[0]! - 6.5) < 1e-6);
      const asymWeighted = avdcnnLoss(pred, { ...uneven, cleanWeight: tf.tensor2d([[3, 0]]) }, 1, 2);
      assert.ok(Math.abs(asymWeighted.audio.dataSync()[0]! - 1.5) < 1e-6);
      assert.ok(Math.abs(avdcnnLoss(pred, uneven, 1, 0).audio.dataSync()[0]! - 2.5) < 1e-6, 'β 0: the MSE');
    });
  });

  it('the asymmetric loss trains: its gradient reaches the weights and pushes predictions up', async () => {
    const c = resolveAvdcnnConfig({ fc1Units: 32, fc2Units: 16, fcAudioUnits: 16, fcVisualUnits: 16 });
    const batch = randomBatch(c, 8, 5);
    const mean = async (m: tf.LayersModel): Promise<number> => {
      const out = m.predict([
        tf.tensor(batch.audio, [8, c.contextFrames, c.bins, c.audioChannels]),
        tf.tensor(batch.visual, [8, c.mouthHeight, c.mouthWidth, c.contextFrames]),
      ]) as tf.Tensor[];
      const v = (await out[0]!.mean().data())[0]!;
      tf.dispose(out);
      return v;
    };
    const run = async (beta: number): Promise<{ first: number; last: number; mean: number }> => {
      const model = buildAvdcnn(c, 3);
      const optimizer = createAvdcnnOptimizer({ learningRate: 1e-3 });
      try {
        const losses: number[] = [];
        for (let i = 0; i < 6; i++)
          losses.push((await avdcnnTrainStep(model, optimizer, batch, c, beta)).total);
        assert.ok(losses.every(Number.isFinite));
        const e = await avdcnnEvaluate(model, batch, c, beta);
        assert.ok(Number.isFinite(e.total));
        return { first: losses[0]!, last: losses.at(-1)!, mean: await mean(model) };
      } finally {
        model.dispose();
        optimizer.dispose();
      }
    };
    const plain = await run(0);
    const asym = await run(4);
    assert.ok(asym.last < asym.first, `the asymmetric loss fell: ${asym.first} → ${asym.last}`);
    assert.ok(asym.first > plain.first, 'the same start costs more with β > 0 (predictions below targets)');
    assert.ok(asym.mean > plain.mean, `predictions pushed up: ${plain.mean} vs ${asym.mean}`);
  });

  it('visualInputFromFrames moves the frame axis last', () => {
    const c = { contextFrames: 3, mouthHeight: 2, mouthWidth: 2 };
    const stacked = Float32Array.from({ length: 12 }, (_, i) => i); // frame f, pixel p → 4f + p
    assert.deepEqual(Array.from(visualInputFromFrames(stacked, c)), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.throws(() => visualInputFromFrames(new Float32Array(11), c), /expected 3 frames × 2×2/);
  });

  it('ONNX Runtime matches TF.js within 1e-4 on both outputs (random weights and inputs)', async (t) => {
    for (const overrides of [
      {},
      {
        context: 'causal' as const,
        fc1Units: 200,
        visualPadding: 'valid' as const,
        visualConv: [
          { filters: 12, height: 2, width: 15 },
          { filters: 10, height: 2, width: 7 },
          { filters: 6, height: 2, width: 3 },
        ],
      },
    ]) {
      const model = buildAvdcnn(overrides);
      randomizeWeights(model, 3);
      const { bytes, sidecar } = exportToOnnx(model);
      assert.deepEqual(
        sidecar.outputs.map((o) => [o.name, o.shape]),
        [
          ['clean', [null, 257]],
          ['lip', [null, 384]],
        ],
      );
      const session = await OnnxSession.create(bytes, { executionProviders: ['cpu'] });
      try {
        for (const batch of [1, 3]) {
          const r = await parity(model, session, randomInputs(model, batch, 10 + batch));
          t.diagnostic(
            `${model.name} batch ${batch}: clean ${r.perOutput['clean']?.toExponential(2)} ` +
              `(|y| ≤ ${r.scale['clean']?.toFixed(2)}), lip ${r.perOutput['lip']?.toExponential(2)} ` +
              `(|y| ≤ ${r.scale['lip']?.toFixed(2)})`,
          );
          assert.ok(r.max <= TOLERANCE, `max abs diff ${r.max}`);
          for (const [name, scale] of Object.entries(r.scale)) {
            assert.ok(scale > 0.05, `output ${name} too small (${scale}) to reveal export errors`);
          }
        }
      } finally {
        await session.release();
        model.dispose();
      }
    }
  });

  it('rejects bad configurations and batches with a clear message', async () => {
    const bad: [Partial<AvdcnnConfig>, RegExp][] = [
      [{ fc1Units: 0 }, /fc1Units must be a positive integer, got 0/],
      [{ fcVisualUnits: 2.5 }, /fcVisualUnits must be a positive integer/],
      [{ contextFrames: 1 }, /audioConv1\.time \(context frames\): kernel 2 does not fit an input of 1/],
      [{ bins: 15 }, /audioConv2\.freq \(after pooling\): kernel 5 does not fit an input of 2/],
      [{ visualPadding: 'valid' }, /visualConv\[1\]\.height: kernel 7 does not fit an input of 2/],
      [{ visualConv: [] }, /visualConv must list at least one convolution/],
      [
        { visualConv: [{ filters: 0, height: 3, width: 3 }] },
        /visualConv\[0\]\.filters must be a positive integer/,
      ],
      [{ audioConv1: { filters: 10, time: 2, freq: -1 } }, /audioConv1\.freq must be a positive integer/],
      [{ audioPool: { time: 5, freq: 2 } }, /audioPool 5×2 does not fit 4×246/],
      [{ dropout: 1 }, /dropout must be in \[0, 1\)/],
      [{ contextFrames: 66 }, /contextFrames must be at most 65, got 66/],
      [{ context: 'future' as AvdcnnConfig['context'] }, /context must be 'symmetric' or 'causal'/],
      [{ learningRate: 0 }, /learningRate must be > 0/],
      [{ videoLossWeight: -1 }, /videoLossWeight \(μ\) must be a finite number ≥ 0/],
    ];
    for (const [overrides, message] of bad) {
      assert.throws(() => resolveAvdcnnConfig(overrides), message, JSON.stringify(overrides));
      assert.throws(() => buildAvdcnn(overrides), RangeError);
    }
    assert.deepEqual(resolveAvdcnnConfig(), AVDCNN_DEFAULTS);
    const small = buildAvdcnn({ fc1Units: 8, fc2Units: 8 });
    try {
      await assert.rejects(
        avdcnnEvaluate(small, { ...randomBatch(AVDCNN_DEFAULTS, 2, 1), size: 3 }, AVDCNN_DEFAULTS),
        /audio has 2570 values, expected 3855 for 3 examples/,
      );
    } finally {
      small.dispose();
    }
  });
});
