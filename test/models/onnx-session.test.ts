/** The ONNX Runtime adapter: provider fallback, thread config, warm-up, typed and checked run(). */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import {
  exportToOnnx,
  saveOnnxModel,
  sidecarPathFor,
  transposeData,
} from '../../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../../src/models/common/onnx-export.ts';
import {
  maxAbsDifference,
  OnnxSession,
  providerUnavailableReason,
} from '../../src/models/common/onnx-session.ts';
import { parity, randomInputs, randomizeWeights } from './helpers.ts';

function smallModel(): tf.LayersModel {
  const x = tf.input({ shape: [6, 2], name: 'signal' });
  const h = tf.layers.conv1d({ filters: 3, kernelSize: 3, activation: 'tanh', name: 'conv' }).apply(x);
  const f = tf.layers.flatten({ name: 'flat' }).apply(h);
  const y = tf.layers.dense({ units: 2, name: 'score' }).apply(f) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: y, name: 'small' });
  randomizeWeights(model, 3);
  return model;
}

describe('maxAbsDifference', () => {
  it('the largest absolute difference; NaN anywhere makes it NaN; lengths must agree', () => {
    assert.equal(maxAbsDifference([1, 2, 3], [1, 2.5, 2]), 1);
    assert.equal(maxAbsDifference([], []), 0);
    assert.ok(Number.isNaN(maxAbsDifference([0, NaN, 0, 5], [0, 0, 0, 0])), 'a NaN before a larger value');
    assert.ok(Number.isNaN(maxAbsDifference([0, 0], [0, NaN])));
    assert.equal(maxAbsDifference([0, Infinity], [0, 0]), Infinity);
    assert.throws(() => maxAbsDifference([1, 2], [1]), /2 values against 1/);
  });
});

describe('OnnxSession', () => {
  let dir = '';
  let model: tf.LayersModel;
  let bytes: Uint8Array;

  before(async () => {
    await forceTrainingBackend('cpu');
    dir = await mkdtemp(path.join(tmpdir(), 'drivesense-onnx-'));
    model = smallModel();
    bytes = exportToOnnx(model).bytes;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('falls back from tensorrt/cuda to cpu when their libraries are missing, and says so', async (t) => {
    const messages: string[] = [];
    const s = await OnnxSession.create(bytes, {
      executionProviders: ['tensorrt', 'cuda'],
      log: (m) => messages.push(m),
    });
    try {
      t.diagnostic(s.describe());
      const gpuMissing =
        providerUnavailableReason('cuda') !== null && providerUnavailableReason('tensorrt') !== null;
      if (gpuMissing) {
        assert.equal(s.provider, 'cpu');
        assert.deepEqual(
          s.attempts.map((a) => a.provider),
          ['tensorrt', 'cuda'],
        );
        assert.match(s.attempts[1]?.error ?? '', /libonnxruntime_providers_cuda\.so not found/);
        assert.match(
          s.describe(),
          /on cpu, 1 intra-op thread\(s\) \(tensorrt unavailable: .*cuda unavailable: /,
        );
        assert.equal(messages.length, 3);
      } else {
        assert.notEqual(s.provider, 'cpu');
      }
    } finally {
      await s.release();
    }
  });

  it('without fallbackToCpu, a missing provider is an error naming the reason', async (t) => {
    if (providerUnavailableReason('cuda') === null) {
      t.skip('CUDA provider libraries are present on this machine');
      return;
    }
    await assert.rejects(
      OnnxSession.create(bytes, { executionProviders: ['cuda'], fallbackToCpu: false }),
      /no execution provider could load the model: cuda: libonnxruntime_providers/,
    );
  });

  it('validates its configuration', async () => {
    await assert.rejects(
      OnnxSession.create(bytes, { intraOpThreads: 0 }),
      /intraOpThreads must be an integer ≥ 1/,
    );
    await assert.rejects(
      OnnxSession.create(bytes, { executionProviders: [] }),
      /executionProviders is empty/,
    );
    await assert.rejects(
      OnnxSession.create(bytes, { executionProviders: ['dml' as 'cpu'] }),
      /unknown execution provider 'dml'/,
    );
  });

  it('runs with typed, checked inputs and outputs; warms up; sets threads', async () => {
    const s = await OnnxSession.create(bytes, { intraOpThreads: 2, warmupRuns: 2 });
    try {
      assert.equal(s.intraOpThreads, 2);
      assert.deepEqual(s.inputs, [{ name: 'signal', dims: ['batch', 6, 2] }]);
      assert.deepEqual(s.outputs, [{ name: 'score', dims: ['batch', 2] }]);
      await s.warmUp(1, { batch: 4 });
      const r = await parity(model, s, randomInputs(model, 4, 9));
      assert.ok(r.max <= 1e-4);
      const out = await s.run({ signal: { data: new Float32Array(12), dims: [1, 6, 2] } });
      assert.deepEqual(out['score']?.dims, [1, 2]);
      assert.ok(out['score']?.data instanceof Float32Array);
      await assert.rejects(s.run({}), /missing input 'signal'/);
      await assert.rejects(
        s.run({ signal: { data: new Float32Array(10), dims: [1, 5, 2] } }),
        /dims \[1,5,2\], the model wants \[batch,6,2\]/,
      );
      await assert.rejects(
        s.run({ signal: { data: new Float32Array(11), dims: [1, 6, 2] } }),
        /11 values for dims/,
      );
      await assert.rejects(
        s.run({
          signal: { data: new Float32Array(12), dims: [1, 6, 2] },
          extra: { data: new Float32Array(1), dims: [1] },
        }),
        /unknown input 'extra'/,
      );
    } finally {
      await s.release();
    }
  });

  it('saveOnnxModel writes the model and its sidecar atomically; the session loads the file', async () => {
    const file = path.join(dir, 'models', 'small.onnx');
    const saved = await saveOnnxModel(model, file, {
      metadata: { config: { windowS: 5 }, scores: { f1: 0.5 } },
    });
    assert.equal(saved.sidecarPath, sidecarPathFor(file));
    const onDisk = new Uint8Array(await readFile(file));
    const sidecar = JSON.parse(await readFile(saved.sidecarPath, 'utf8')) as OnnxSidecar;
    assert.equal(sidecar.sha256, createHash('sha256').update(onDisk).digest('hex'));
    assert.equal(sidecar.format, 'drivesense.onnx-sidecar');
    assert.equal(sidecar.opset, 13);
    assert.deepEqual(sidecar.inputs, [{ name: 'signal', shape: [null, 6, 2], dtype: 'float32' }]);
    assert.deepEqual(sidecar.metadata, { config: { windowS: 5 }, scores: { f1: 0.5 } });
    assert.deepEqual(
      sidecar.layers.map((l) => l.className),
      ['Conv1D', 'Flatten', 'Dense'],
    );
    assert.deepEqual((await readdir(path.dirname(file))).sort(), ['small.onnx', 'small.onnx.json']);
    const s = await OnnxSession.create(file);
    try {
      assert.ok((await parity(model, s, randomInputs(model, 2, 4))).max <= 1e-4);
    } finally {
      await s.release();
    }
  });

  it('transposeData permutes row-major data like tf.transpose', () => {
    const shape = [2, 3, 4];
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    for (const perm of [
      [2, 1, 0],
      [1, 2, 0],
      [0, 2, 1],
    ]) {
      const want = tf.transpose(tf.tensor(data, shape), perm).dataSync();
      assert.deepEqual(Array.from(transposeData(data, shape, perm)), Array.from(want));
    }
  });
});
