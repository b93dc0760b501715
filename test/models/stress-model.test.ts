/**
 * The stress model end to end on small inputs: the TF.js graph, ONNX export with parity (≤ 1e-4, the issue's
 * bound), the estimator (input checks, batching, confidence), and training with checkpoints that resume.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectTrainingBackend } from '../../src/models/common/backend.ts';
import { confidenceOf, StressEstimator } from '../../src/models/stress/estimator.ts';
import type { StressModelMeta } from '../../src/models/stress/estimator.ts';
import { exportStressModel, randomStressInputs, stressParity } from '../../src/models/stress/export.ts';
import type { StressInput, StressWindowConfig } from '../../src/models/stress/inputs.ts';
import { inputShapes, N_STATS, STRESS_SOURCES } from '../../src/models/stress/inputs.ts';
import {
  buildStressModel,
  STRESS_HYPERPARAMETERS,
  STRESS_INPUT_NAMES,
} from '../../src/models/stress/model.ts';
import type { LabelledSample } from '../../src/models/stress/dataset.ts';
import { trainStressModel } from '../../src/models/stress/train.ts';
import { prng } from '../support/fixtures.ts';

const W: StressWindowConfig = {
  windowS: 20,
  strideS: 5,
  sequenceLength: 3,
  binHz: 2,
  calibrationS: 60,
  contextSteps: 4,
  checkS: 10,
};

let dir = '';
before(async () => {
  await selectTrainingBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'stress-model-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function meta(id: string, w: StressWindowConfig = W): StressModelMeta {
  return {
    format: 'drivesense.stress-model',
    version: 1,
    id,
    windows: w,
    hyper: STRESS_HYPERPARAMETERS,
    normaliser: { mean: new Array<number>(N_STATS).fill(0), sd: new Array<number>(N_STATS).fill(1) },
    disabled: [],
    training: {},
    scores: {},
  };
}

/** A StressInput whose HR statistic (hr_mean − baseline) is `hrDelta` in every window; others zero. */
function input(w: StressWindowConfig, hrDelta: number, rnd: () => number): StressInput {
  const s = inputShapes(w);
  const size = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  const x = {
    physio: new Float32Array(size(s.physio)),
    stats: new Float32Array(size(s.stats)),
    vehicle: new Float32Array(size(s.vehicle)),
    context: new Float32Array(size(s.context)),
    flags: new Float32Array(size(s.flags)),
  };
  const T = s.physio[1];
  for (let k = 0; k < w.sequenceLength; k++) {
    x.stats[k * N_STATS] = hrDelta + (rnd() - 0.5);
    x.flags[k * STRESS_SOURCES.length] = 1;
    for (let t = 0; t < T; t++) x.physio[(k * T + t) * 4] = hrDelta / 10 + 0.1 * (rnd() - 0.5);
  }
  const sources = {
    hr: 'used',
    eda: 'absent',
    resp: 'absent',
    vehicle: 'absent',
    context: 'absent',
  } as const;
  return { tS: 0, ...x, sources, faults: [], coverage: 0.4 };
}

describe('stress model graph and export', () => {
  it('gives probabilities over three levels for a batch', () => {
    const m = buildStressModel(W);
    const feeds = randomStressInputs(W, 5, 1);
    const xs = STRESS_INPUT_NAMES.map((n) => tf.tensor(feeds[n]!.data, feeds[n]!.dims));
    const y = m.predict(xs) as tf.Tensor;
    assert.deepEqual(y.shape, [5, 3]);
    const p = y.dataSync();
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(p[i * 3]! + p[i * 3 + 1]! + p[i * 3 + 2]! - 1) < 1e-5);
    tf.dispose([...xs, y]);
    m.dispose();
  });

  it('exports to ONNX within 1e-4 of TF.js (random weights, the default window set-up too)', async () => {
    for (const w of [
      W,
      { ...W, windowS: 60, strideS: 10, sequenceLength: 6, contextSteps: 6, calibrationS: 300 },
    ]) {
      const m = buildStressModel(w, STRESS_HYPERPARAMETERS, 3);
      const file = path.join(dir, `parity-${w.windowS}.onnx`);
      await exportStressModel(m, meta('parity', w), file);
      const d = await stressParity(m, file, w, 8, 11);
      assert.ok(d <= 1e-4, `max abs difference ${d}`);
      m.dispose();
    }
  });

  it('the estimator checks the window set-up, batches, and reports confidence', async () => {
    const m = buildStressModel(W);
    const file = path.join(dir, 'est.onnx');
    await exportStressModel(m, meta('est'), file);
    const est = await StressEstimator.load(file);
    const rnd = prng(5);
    const xs = [input(W, 0, rnd), input(W, 20, rnd), input(W, -10, rnd)];
    const batch = await est.estimateBatch(xs);
    const single = await Promise.all(xs.map((x) => est.estimate(x)));
    batch.forEach((r, i) => {
      assert.ok(r.probabilities.every((p, k) => Math.abs(p - single[i]!.probabilities[k]!) < 1e-6));
      assert.ok(r.confidence >= 0 && r.confidence <= 0.4 + 1e-9, 'coverage 0.4 bounds the confidence');
    });
    // The inputs were not modified by the standardisation.
    assert.ok(Math.abs(xs[1]!.stats[0]! - 20) < 1);
    await est.release();
    // A model whose sidecar claims another window set-up is refused.
    const other = buildStressModel({ ...W, windowS: 30 });
    const bad = path.join(dir, 'bad.onnx');
    await exportStressModel(other, meta('bad', W), bad);
    await assert.rejects(StressEstimator.load(bad), /does not match the window set-up/);
    m.dispose();
    other.dispose();
  });

  it('confidence: certain and fully covered → 1, uniform → 0, scaled by coverage', () => {
    assert.equal(confidenceOf([1, 0, 0], 1), 1);
    assert.ok(confidenceOf([1 / 3, 1 / 3, 1 / 3], 1) < 1e-12);
    assert.ok(Math.abs(confidenceOf([1, 0, 0], 0.5) - 0.5) < 1e-12);
  });
});

describe('stress training', () => {
  const rnd = prng(9);
  const make = (n: number): LabelledSample[] =>
    Array.from({ length: n }, (_, i) => {
      const label = i % 3;
      return { record: 'synthetic', tS: i, label, input: input(W, [-15, 0, 15][label]!, rnd) };
    });

  it('learns a separable synthetic task, checkpoints every epoch and resumes where it stopped', async () => {
    const ckpt = path.join(dir, 'ckpt');
    const train = make(120);
    const val = make(30);
    const hyper = { ...STRESS_HYPERPARAMETERS, maxEpochs: 2, patience: 10, batchSize: 16, sourceDropout: 0 };
    const first = await trainStressModel(train, val, { windows: W, hyper, seed: 2, checkpointDir: ckpt });
    assert.equal(first.history.length, 2);
    first.model.dispose();
    const lines: string[] = [];
    const second = await trainStressModel(train, val, {
      windows: W,
      hyper: { ...hyper, maxEpochs: 6 },
      seed: 2,
      checkpointDir: ckpt,
      log: (l) => lines.push(l),
    });
    assert.match(lines[0] ?? '', /resumed at epoch 2/);
    assert.equal(second.history.length, 6, 'epochs 1–2 from the checkpoint, 3–6 new');
    assert.ok((second.bestValMacroF1 ?? 0) > 0.9, `validation macro-F1 ${second.bestValMacroF1}`);
    second.model.dispose();
  });

  it('refuses an empty training set', async () => {
    await assert.rejects(trainStressModel([], [], { windows: W }), /no training samples/);
  });
});
