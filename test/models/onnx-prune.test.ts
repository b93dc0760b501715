/**
 * Pruning unread outputs from an ONNX graph (src/models/common/onnx-prune.ts): a two-headed model keeps one
 * head's nodes and weights and gives that head's values exactly; keeping every output leaves the bytes as
 * they are; refusals; and the committed speech models as the live path loads them: `clean` alone, equal to
 * the unpruned graph's `clean` bit for bit.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx } from '../../src/models/common/onnx-export.ts';
import { pruneOnnxOutputs } from '../../src/models/common/onnx-prune.ts';
import onnxProto from 'onnx-proto';
import { decodeOnnxModel, encodeOnnxModel } from '../../src/models/common/onnx-writer.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import type { FloatTensor } from '../../src/models/common/onnx-session.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  loadSpeechEnhancerModel,
  SPEECH_FLOAT_MODEL_PATH,
  SPEECH_INT8_MODEL_PATH,
} from '../../src/models/speech/enhancer-onnx.ts';
import { maxAbsDiff, randomInputs, randomizeWeights } from './helpers.ts';

const { onnx } = onnxProto;

/** x → Dense 32 (trunk) → head a: Dense 4; head b: Dense 64 → Dense 3. */
function twoHeads(): tf.LayersModel {
  const x = tf.input({ shape: [8], name: 'x' });
  const h = tf.layers.dense({ units: 32, activation: 'relu', name: 'trunk' }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.dense({ units: 4, name: 'a' }).apply(h) as tf.SymbolicTensor;
  const b1 = tf.layers.dense({ units: 64, activation: 'relu', name: 'b1' }).apply(h) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 3, name: 'b' }).apply(b1) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: [a, b], name: 'two_heads' });
  randomizeWeights(m, 5);
  return m;
}

/** Random feeds for a session's inputs, symbolic dimensions set to `batch`. */
function feedsFor(session: OnnxSession, batch: number, seed: number): Record<string, FloatTensor> {
  const rng = new SeededRandom(seed);
  const feeds: Record<string, FloatTensor> = {};
  for (const input of session.inputs) {
    const dims = input.dims.map((d) => (typeof d === 'number' && d > 0 ? d : batch));
    const data = new Float32Array(dims.reduce((p, d) => p * d, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.next();
    feeds[input.name] = { data, dims };
  }
  return feeds;
}

describe('pruneOnnxOutputs', () => {
  let bytes: Uint8Array;
  let model: tf.LayersModel;
  before(async () => {
    await forceTrainingBackend('cpu');
    model = twoHeads();
    bytes = exportToOnnx(model).bytes;
  });
  after(() => model.dispose());

  it("keeps one head's nodes and weights, and its values exactly", async () => {
    const names = decodeOnnxModel(bytes).graph?.output?.map((o) => o.name);
    assert.deepEqual(names, ['a', 'b']);
    const pruned = pruneOnnxOutputs(bytes, ['a']);
    assert.deepEqual(pruned.removedOutputs, ['b']);
    assert.ok(pruned.removedNodes >= 2, `removed ${pruned.removedNodes} nodes`);
    assert.equal(pruned.removedInitializers, 4, 'b1 and b: kernel and bias each');
    const graph = decodeOnnxModel(pruned.bytes).graph;
    assert.deepEqual(
      graph?.output?.map((o) => o.name),
      ['a'],
    );
    const left = (graph?.initializer ?? []).map((t) => t.name ?? '').join(' ');
    assert.ok(!/\bb1?\b|b1\/|b\//.test(left), `no head-b weights left: ${left}`);
    assert.ok(pruned.bytes.length < bytes.length);

    const full = await OnnxSession.create(bytes);
    const cut = await OnnxSession.create(pruned.bytes);
    try {
      assert.deepEqual(cut.outputNames, ['a']);
      const inputs = randomInputs(model, 6, 11);
      const [want, got] = [await full.run(inputs), await cut.run(inputs)];
      assert.equal(maxAbsDiff(got['a']!.data, want['a']!.data), 0);
      assert.ok(got['b'] === undefined);
    } finally {
      await full.release();
      await cut.release();
    }
  });

  it('keeps the graph inputs, and returns the bytes unchanged when every output is kept', () => {
    const pruned = pruneOnnxOutputs(bytes, ['b']);
    assert.deepEqual(
      decodeOnnxModel(pruned.bytes).graph?.input?.map((i) => i.name),
      decodeOnnxModel(bytes).graph?.input?.map((i) => i.name),
    );
    const all = pruneOnnxOutputs(bytes, ['b', 'a']);
    assert.equal(all.bytes, bytes);
    assert.deepEqual([all.removedOutputs, all.removedNodes, all.removedInitializers], [[], 0, 0]);
  });

  it('drops a removed weight that is also listed as a graph input (IR < 4 style)', async () => {
    const proto = decodeOnnxModel(bytes);
    const g = proto.graph!;
    const weight = (g.initializer ?? []).find((t) => /^b1\//.test(t.name ?? ''));
    assert.ok(weight !== undefined, 'head b has a weight named b1/…');
    const asInput = onnx.ValueInfoProto.create({
      name: weight.name,
      type: {
        tensorType: {
          elemType: weight.dataType,
          shape: { dim: (weight.dims ?? []).map((d) => ({ dimValue: d })) },
        },
      },
    });
    g.input = [...(g.input ?? []), asInput];
    const listed = encodeOnnxModel(proto);
    const prunedBytes = pruneOnnxOutputs(listed, ['a']).bytes;
    const pruned = decodeOnnxModel(prunedBytes).graph;
    assert.deepEqual(
      pruned?.input?.map((i) => i.name),
      decodeOnnxModel(bytes).graph?.input?.map((i) => i.name),
    );
    const cut = await OnnxSession.create(prunedBytes);
    await cut.release();
  });

  it('refuses an empty list, an unknown output, and bytes that are not a model', () => {
    assert.throws(() => pruneOnnxOutputs(bytes, []), /keep at least one output/);
    assert.throws(() => pruneOnnxOutputs(bytes, ['a', 'lip']), /no output 'lip' \(outputs: a, b\)/);
    const rng = new SeededRandom(7);
    for (let k = 0; k < 50; k++) {
      const junk = new Uint8Array(1 + Math.floor(rng.next() * 200));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rng.next() * 256);
      assert.throws(
        () => pruneOnnxOutputs(junk, ['a']),
        /not an ONNX model|no output 'a'/,
        `junk #${k} (${junk.length} bytes)`,
      );
    }
  });
});

describe('the committed speech models as the live path loads them', () => {
  for (const path of [SPEECH_FLOAT_MODEL_PATH, SPEECH_INT8_MODEL_PATH]) {
    it(`${path}: clean only, equal to the whole graph's clean`, async () => {
      const full = await OnnxSession.create(path);
      const pruned = pruneOnnxOutputs(new Uint8Array(await readFile(path)), ['clean']);
      const cut = await OnnxSession.create(pruned.bytes);
      try {
        assert.deepEqual(full.outputNames, ['clean', 'lip']);
        assert.deepEqual(cut.outputNames, ['clean']);
        assert.deepEqual(pruned.removedOutputs, ['lip']);
        const feeds = feedsFor(full, 3, 13);
        const [want, got] = [await full.run(feeds), await cut.run(feeds)];
        assert.equal(maxAbsDiff(got['clean']!.data, want['clean']!.data), 0);
      } finally {
        await full.release();
        await cut.release();
      }
    });
  }

  it('a truncated model file: the loader names it and what failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prune-'));
    try {
      const file = join(dir, 'm.onnx');
      await copyFile(`${SPEECH_FLOAT_MODEL_PATH}.json`, `${file}.json`);
      await writeFile(file, (await readFile(SPEECH_FLOAT_MODEL_PATH)).subarray(0, 5000));
      await assert.rejects(
        loadSpeechEnhancerModel(file),
        (e: Error) =>
          e.message.startsWith(`speech model ${file}: `) && /could not|load|pars/i.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the loader serves clean only (the served ensemble's first member's session)", async () => {
    const model = await loadSpeechEnhancerModel(DEFAULT_SPEECH_MODEL_PATH);
    try {
      assert.ok(model.members.length >= 2);
      assert.deepEqual(model.session.outputNames, ['clean']);
    } finally {
      await model.release();
    }
  });
});
