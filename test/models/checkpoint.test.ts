/**
 * Checkpoints: save → new model → load gives identical predictions; a resumed run continues exactly as
 * the uninterrupted one (weights, Adam state, RNG); partial or corrupt checkpoints left by a killed
 * process are skipped; pruning keeps the newest and the best.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { CheckpointStore } from '../../src/models/common/checkpoint.ts';
import type { TrainingState } from '../../src/models/common/checkpoint.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { randomizeWeights } from './helpers.ts';

/** Conv1D + batch norm (non-trainable moving statistics) + LSTM + dense: every kind of weight. */
function buildModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv1d({ inputShape: [16, 2], filters: 4, kernelSize: 3, activation: 'elu' }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling1d({ poolSize: 2 }),
      tf.layers.lstm({ units: 5 }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  return model;
}

function data(seed: number): { x: tf.Tensor; y: tf.Tensor } {
  const rng = new SeededRandom(seed);
  const x = tf.tensor(
    rng.floats(24 * 16 * 2, () => rng.normal()),
    [24, 16, 2],
  );
  const labels = Array.from({ length: 24 }, () => rng.int(3));
  return { x, y: tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() };
}

function state(epoch: number, rng: SeededRandom, best: number | null = null): TrainingState {
  return {
    epoch,
    step: epoch * 3,
    bestScore: best,
    bestEpoch: best === null ? null : epoch,
    epochsWithoutImprovement: 0,
    rng: rng.state,
    history: [{ loss: 1 / (epoch + 1) }],
    extra: { configHash: 'abc' },
  };
}

async function fitEpochs(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  epochs: number,
): Promise<number[]> {
  const h = await model.fit(x, y, { epochs, batchSize: 8, shuffle: false, verbose: 0 });
  return h.history['loss'] as number[];
}

describe('CheckpointStore', () => {
  let root = '';
  before(async () => {
    await forceTrainingBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'drivesense-ckpt-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('save → new model → load gives identical predictions and state', async () => {
    const store = new CheckpointStore(path.join(root, 'a'));
    assert.equal(await store.loadLatest(buildModel()), null, 'an empty directory is a fresh run');
    const a = buildModel();
    randomizeWeights(a, 1);
    const { x, y } = data(2);
    await fitEpochs(a, x, y, 2); // moves batch-norm statistics and creates Adam state
    const rng = new SeededRandom(77);
    rng.shuffle([1, 2, 3, 4, 5]);
    const saved = await store.save(a, state(2, rng, 0.5), a.optimizer);
    assert.equal(saved.sequence, 1);

    const b = buildModel(); // other auto-generated layer names, other random init
    const loaded = await store.loadLatest(b, b.optimizer);
    assert.ok(loaded);
    assert.deepEqual(loaded.state, state(2, rng, 0.5));
    const pa = (a.predict(x) as tf.Tensor).dataSync();
    const pb = (b.predict(x) as tf.Tensor).dataSync();
    assert.deepEqual(Array.from(pb), Array.from(pa));
    // The RNG continues where it was.
    const resumed = SeededRandom.fromState(loaded.state.rng);
    assert.deepEqual([resumed.next(), resumed.next()], [rng.next(), rng.next()]);
    tf.dispose([x, y]);
  });

  it('a run resumed from a checkpoint continues exactly like the uninterrupted run (Adam state)', async () => {
    const store = new CheckpointStore(path.join(root, 'resume'));
    const { x, y } = data(3);
    const a = buildModel();
    randomizeWeights(a, 5);
    await fitEpochs(a, x, y, 3);
    await store.save(a, state(3, new SeededRandom(1)), a.optimizer);
    const uninterrupted = await fitEpochs(a, x, y, 3);

    // "The process was killed": a new model and optimizer resume from disk.
    const b = buildModel();
    randomizeWeights(b, 999);
    assert.ok(await store.loadLatest(b, b.optimizer));
    const resumed = await fitEpochs(b, x, y, 3);
    assert.deepEqual(resumed, uninterrupted);

    // Without the optimizer state, Adam restarts and the curve differs: the state matters.
    const c = buildModel();
    assert.ok(await store.loadLatest(c));
    const fresh = await fitEpochs(c, x, y, 3);
    assert.notDeepEqual(fresh, uninterrupted);
    tf.dispose([x, y]);
  });

  it('skips what a killed process leaves behind: temp directories, a corrupt newest checkpoint', async () => {
    const dir = path.join(root, 'crash');
    const store = new CheckpointStore(dir);
    const m = buildModel();
    randomizeWeights(m, 7);
    await store.save(m, state(1, new SeededRandom(1)));
    const firstWeights = m.getWeights().map((w) => Array.from(w.dataSync()));
    randomizeWeights(m, 8);
    await store.save(m, state(2, new SeededRandom(1)));
    // Killed while writing a third one…
    await mkdir(path.join(dir, '.tmp-ckpt-00000003-12345'));
    await writeFile(path.join(dir, '.tmp-ckpt-00000003-12345', 'weights.bin'), 'partial');
    // …and the newest complete one damaged on disk.
    await truncate(path.join(dir, 'ckpt-00000002', 'weights.bin'), 10);

    const n = buildModel();
    const loaded = await store.loadLatest(n);
    assert.equal(loaded?.sequence, 1);
    assert.equal(loaded?.state.epoch, 1);
    assert.deepEqual(
      n.getWeights().map((w) => Array.from(w.dataSync())),
      firstWeights,
    );
    assert.ok(!(await readdir(dir)).some((f) => f.startsWith('.tmp-')), 'temp directory removed');

    // A lost latest.json pointer does not matter: the newest complete checkpoint is found by scanning.
    await rm(path.join(dir, 'latest.json'));
    assert.equal((await store.loadLatest(buildModel()))?.sequence, 1);
  });

  it('keeps the newest N and the best checkpoint', async () => {
    const dir = path.join(root, 'prune');
    const store = new CheckpointStore(dir, { keep: 2 });
    const m = buildModel();
    for (let epoch = 1; epoch <= 5; epoch++) {
      randomizeWeights(m, epoch);
      await store.save(m, state(epoch, new SeededRandom(epoch), epoch === 2 ? 0.9 : null), undefined, {
        best: epoch === 2,
      });
    }
    assert.deepEqual(
      (await store.list()).map((c) => c.sequence),
      [2, 4, 5],
    );
    const best = buildModel();
    const loaded = await store.loadBest(best);
    assert.equal(loaded?.state.bestScore, 0.9);
    const expected = buildModel();
    randomizeWeights(expected, 2);
    const x = data(1).x;
    assert.deepEqual(
      Array.from((best.predict(x) as tf.Tensor).dataSync()),
      Array.from((expected.predict(x) as tf.Tensor).dataSync()),
    );
  });

  it('carries an average of the weights beside them: restored as the weights on request, or handed over', async () => {
    const dir = path.join(root, 'average');
    const store = new CheckpointStore(dir);
    const m = buildModel();
    randomizeWeights(m, 11);
    const raw = m.getWeights().map((w) => Array.from(w.dataSync()));
    const averaged = buildModel();
    randomizeWeights(averaged, 12);
    const average = averaged.getWeights().map((w) => Array.from(w.dataSync()));
    await store.save(m, state(1, new SeededRandom(1)), undefined, {
      best: true,
      average: averaged.getWeights(),
    });
    assert.ok(
      (await readdir(path.join(dir, 'ckpt-00000001'))).includes('average.bin'),
      'average.bin written',
    );

    // Resume: the raw weights into the model, the average to the caller.
    const r = buildModel();
    let handed: number[][] | undefined;
    assert.ok(
      await store.loadLatest(r, undefined, {
        onAverage: (t) => (handed = t.map((x) => Array.from(x.dataSync()))),
      }),
      'latest loaded',
    );
    assert.deepEqual(
      r.getWeights().map((w) => Array.from(w.dataSync())),
      raw,
    );
    assert.deepEqual(handed, average);
    // Export: the average as the weights.
    const e = buildModel();
    assert.ok(await store.loadBest(e, undefined, { weights: 'average' }), 'best loaded');
    assert.deepEqual(
      e.getWeights().map((w) => Array.from(w.dataSync())),
      average,
    );
    // A checkpoint without an average: asking for it is an error, not the raw weights.
    await store.save(m, state(2, new SeededRandom(1)), undefined, { best: true });
    await assert.rejects(store.loadBest(buildModel(), undefined, { weights: 'average' }), /has no average/);
    await assert.rejects(
      store.loadBest(buildModel(), undefined, { onAverage: () => undefined }),
      /has no average/,
    );
    // A wrong number of tensors is refused when saving.
    await assert.rejects(
      store.save(m, state(3, new SeededRandom(1)), undefined, { average: averaged.getWeights().slice(1) }),
      /an average of/,
    );
    // A damaged average.bin makes the checkpoint unusable like a damaged weights.bin.
    const d2 = path.join(root, 'average-damaged');
    const s2 = new CheckpointStore(d2);
    await s2.save(m, state(1, new SeededRandom(1)), undefined, { average: averaged.getWeights() });
    await truncate(path.join(d2, 'ckpt-00000001', 'average.bin'), 8);
    await assert.rejects(s2.loadLatest(buildModel()), /checksum mismatch/);
  });

  it('refuses a checkpoint of another architecture', async () => {
    const store = new CheckpointStore(path.join(root, 'a'));
    const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    await assert.rejects(store.loadLatest(other), /not the same architecture/);
  });
});

describe('SeededRandom', () => {
  it('restores from {seed, position} in O(1), also far into the sequence', () => {
    const a = new SeededRandom(123);
    for (let i = 0; i < 1000; i++) a.nextUint32();
    const b = SeededRandom.fromState(a.state);
    assert.deepEqual(b.state, { seed: 123, position: 1000 });
    assert.equal(b.nextUint32(), a.nextUint32());
    const far = new SeededRandom(5, 2 ** 40);
    assert.equal(far.state.position, 2 ** 40);
    assert.ok(far.next() >= 0 && far.next() < 1);
  });

  it('draws normal and uniform integer values with the right moments', () => {
    const r = new SeededRandom(9);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      sum += v;
      sumSq += v * v;
    }
    assert.ok(Math.abs(sum / n) < 0.03);
    assert.ok(Math.abs(sumSq / n - 1) < 0.05);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const k = r.int(3);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c > 900 && c < 1100);
  });
});
