/**
 * Folding a graph input held at one value into the dense layer that merges it
 * (src/models/common/onnx-fold-input.ts), and the speech loader's camera-absent graph built on it
 * (src/models/speech/enhancer-onnx.ts):
 * - a two-branch model: the folded graph gives the full graph's values at the held value (zeros or not), with
 *   the branch first or last in the Concat, float and int8; its graph has no such input and fewer weights;
 * - refusals, each naming why: a branch read in two places, a frontier that is not a Concat operand, a Concat
 *   that feeds no dense layer, a value of the wrong size, an unknown input;
 * - the committed served member (run 46): float folded equals the full graph with zero crops to float
 *   rounding; int8 folded is as close to the float model as the int8 full graph is;
 * - the runner sends an all-zero visual batch to the folded graph and any other to the full one; the loader
 *   reports what it folded, and an enhancer on it gives the full graph's audio.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx } from '../../src/models/common/onnx-export.ts';
import { exposeTensor, foldConstantInput } from '../../src/models/common/onnx-fold-input.ts';
import { pruneOnnxOutputs } from '../../src/models/common/onnx-prune.ts';
import { quantizeOnnxMatMuls } from '../../src/models/common/onnx-quantize.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import type { FloatTensor } from '../../src/models/common/onnx-session.ts';
import { decodeOnnxModel, encodeOnnxModel } from '../../src/models/common/onnx-writer.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import {
  loadSpeechEnhancerModel,
  onnxSpeechRunner,
  WHOLE_SIGNAL_CHUNK_SAMPLES,
} from '../../src/models/speech/enhancer-onnx.ts';
import { readSpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { maxAbsDiff, randomizeWeights } from './helpers.ts';

const MEMBER = 'src/models/speech/model/avdcnn-causal-car-spp.onnx';
const MEMBER_INT8 = 'src/models/speech/model/avdcnn-causal-car-spp.int8.onnx';

/**
 * a [6] → Dense 5; v [4] → Dense 8 → Dense 3 (the branch); Concat (branch last, or first) → Dense 7 sigmoid
 * (the dense layer folded into) → Dense 2.
 */
function twoBranches(branchFirst: boolean): tf.LayersModel {
  const a = tf.input({ shape: [6], name: 'a' });
  const v = tf.input({ shape: [4], name: 'v' });
  const ha = tf.layers.dense({ units: 5, activation: 'relu', name: 'ha' }).apply(a) as tf.SymbolicTensor;
  const hv1 = tf.layers.dense({ units: 8, activation: 'relu', name: 'hv1' }).apply(v) as tf.SymbolicTensor;
  const hv = tf.layers.dense({ units: 3, activation: 'tanh', name: 'hv' }).apply(hv1) as tf.SymbolicTensor;
  const merged = tf.layers
    .concatenate({ name: 'merged' })
    .apply(branchFirst ? [hv, ha] : [ha, hv]) as tf.SymbolicTensor;
  const fc = tf.layers
    .dense({ units: 7, activation: 'sigmoid', name: 'fc' })
    .apply(merged) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, name: 'y' }).apply(fc) as tf.SymbolicTensor;
  const m = tf.model({ inputs: [a, v], outputs: y, name: 'two_branches' });
  randomizeWeights(m, branchFirst ? 3 : 4);
  return m;
}

function normals(n: number, seed: number, scale = 1): Float32Array {
  const rng = new SeededRandom(seed);
  return rng.floats(n, () => scale * rng.normal());
}

/** The frontier's value for `held` (one example) and the graph folded at it. */
async function foldAt(
  bytes: Uint8Array,
  input: string,
  feeds: Record<string, FloatTensor>,
): Promise<ReturnType<typeof foldConstantInput>> {
  const exposed = exposeTensor(bytes, input);
  const probe = await OnnxSession.create(exposed.bytes);
  try {
    const v = (await probe.run(feeds))[exposed.name]!;
    assert.equal(v.dims[0], 1);
    return foldConstantInput(bytes, input, v.data);
  } finally {
    await probe.release();
  }
}

async function run(bytes: Uint8Array, feeds: Record<string, FloatTensor>): Promise<Float32Array> {
  const s = await OnnxSession.create(bytes);
  try {
    const out = await s.run(feeds);
    return Object.values(out)[0]!.data;
  } finally {
    await s.release();
  }
}

/** Root mean square of a − b. */
function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe('foldConstantInput', () => {
  const models: tf.LayersModel[] = [];
  before(async () => {
    await forceTrainingBackend('cpu');
  });
  after(() => models.forEach((m) => m.dispose()));

  for (const branchFirst of [false, true]) {
    it(`gives the full graph's values at the held input, the branch ${branchFirst ? 'first' : 'last'} in the Concat`, async () => {
      const model = twoBranches(branchFirst);
      models.push(model);
      const bytes = exportToOnnx(model).bytes;
      const n = 9;
      const a = { data: normals(n * 6, 1), dims: [n, 6] };
      for (const [label, held] of [
        ['zeros', new Float32Array(4)],
        ['a non-zero value', Float32Array.from([0.7, -1.2, 0.3, 2])],
      ] as const) {
        const folded = await foldAt(bytes, 'v', {
          a: { data: new Float32Array(6), dims: [1, 6] },
          v: { data: held, dims: [1, 4] },
        });
        assert.equal(folded.rows, 3, label);
        assert.equal(folded.weight.startsWith('fc/'), true, folded.weight);
        const graph = decodeOnnxModel(folded.bytes).graph!;
        assert.deepEqual(
          graph.input?.map((i) => i.name),
          ['a'],
          label,
        );
        const fcWeight = graph.initializer!.find((t) => t.name === folded.weight)!;
        assert.deepEqual(fcWeight.dims!.map(Number), [5, 7], label);
        assert.ok(!graph.initializer!.some((t) => /^hv/.test(t.name ?? '')), 'the branch weights are gone');
        assert.ok(!graph.node!.some((x) => x.opType === 'Concat'), 'the Concat of two operands is gone');
        assert.ok(folded.removedNodes >= 5, `removed ${folded.removedNodes} nodes`);
        const vs = new Float32Array(n * 4);
        for (let i = 0; i < n; i++) vs.set(held, i * 4);
        const want = await run(bytes, { a, v: { data: vs, dims: [n, 4] } });
        const got = await run(folded.bytes, { a });
        assert.ok(maxAbsDiff(got, want) < 1e-6, `${label}: ${maxAbsDiff(got, want)}`);
      }
    });
  }

  it('folds the int8 form, as close to the float model as the unfolded int8 graph', async () => {
    const model = twoBranches(false);
    models.push(model);
    const float = exportToOnnx(model).bytes;
    const int8 = quantizeOnnxMatMuls(float, { minElements: 1 }).bytes;
    assert.ok(decodeOnnxModel(int8).graph!.node!.some((x) => x.opType === 'MatMulInteger'));
    const zero1 = {
      a: { data: new Float32Array(6), dims: [1, 6] },
      v: { data: new Float32Array(4), dims: [1, 4] },
    };
    const folded = await foldAt(int8, 'v', zero1);
    assert.equal(
      decodeOnnxModel(folded.bytes)
        .graph!.initializer!.find((t) => t.name === folded.weight)!
        .dims!.map(Number)
        .join(),
      '5,7',
    );
    const n = 64;
    const a = { data: normals(n * 6, 2), dims: [n, 6] };
    const v = { data: new Float32Array(n * 4), dims: [n, 4] };
    const ref = await run(float, { a, v });
    const full = await run(int8, { a, v });
    const got = await run(folded.bytes, { a });
    const [eFull, eFolded] = [rms(full, ref), rms(got, ref)];
    assert.ok(eFull > 0 && eFolded > 0, 'both are quantised');
    assert.ok(eFolded <= 2 * eFull + 1e-4, `int8 error against float: folded ${eFolded}, full ${eFull}`);
  });

  it('refuses what it cannot fold, saying why', async () => {
    const model = twoBranches(false);
    models.push(model);
    const bytes = exportToOnnx(model).bytes;
    const good = new Float32Array(3);
    assert.throws(() => foldConstantInput(bytes, 'camera', good), /no input 'camera'/);
    assert.throws(
      () => foldConstantInput(bytes, 'v', new Float32Array(8)),
      /8 values per example; the weight has 8 rows/,
    );
    assert.throws(() => foldConstantInput(bytes, 'v', Float32Array.from([0, NaN, 0])), /not finite/);
    // The other input's branch reaches the output through the same Concat: it folds too (no rule is
    // specific to one name), and a graph where the held input reaches the output alone does not.
    const alone = tf.model({
      inputs: model.inputs,
      outputs: [model.outputs[0]!, model.getLayer('hv').output as tf.SymbolicTensor],
    });
    assert.throws(() => foldConstantInput(exportToOnnx(alone).bytes, 'v', good), /depends on 'v' alone/);

    // The branch read in two places.
    const a = tf.input({ shape: [6], name: 'a' });
    const v = tf.input({ shape: [4], name: 'v' });
    const hv = tf.layers.dense({ units: 3, name: 'hv' }).apply(v) as tf.SymbolicTensor;
    const hv2 = tf.layers.dense({ units: 3, name: 'hv2' }).apply(v) as tf.SymbolicTensor;
    const m2 = tf.layers.concatenate({ name: 'm2' }).apply([a, hv, hv2]) as tf.SymbolicTensor;
    const twice = tf.model({
      inputs: [a, v],
      outputs: tf.layers.dense({ units: 2, name: 'o2' }).apply(m2) as tf.SymbolicTensor,
    });
    models.push(twice);
    assert.throws(() => foldConstantInput(exportToOnnx(twice).bytes, 'v', good), /through 2 values/);

    // The frontier summed, not concatenated (the graph edited: the export writes no two-input op but Concat).
    const proto = decodeOnnxModel(bytes);
    const concat = proto.graph!.node!.find((x) => x.opType === 'Concat')!;
    concat.opType = 'Sum';
    concat.attribute = [];
    assert.throws(
      () => foldConstantInput(encodeOnnxModel(proto), 'v', good),
      /must feed one Concat alone; it feeds Sum/,
    );

    // A Concat that feeds no dense layer.
    const c = tf.input({ shape: [3], name: 'c' });
    const x = tf.input({ shape: [4], name: 'x' });
    const hx = tf.layers.dense({ units: 3, name: 'hx' }).apply(x) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat' }).apply([c, hx]) as tf.SymbolicTensor;
    const bare = tf.model({
      inputs: [c, x],
      outputs: tf.layers.activation({ activation: 'relu', name: 'r' }).apply(cat) as tf.SymbolicTensor,
    });
    models.push(bare);
    assert.throws(
      () => foldConstantInput(exportToOnnx(bare).bytes, 'x', good),
      /must feed one MatMul or DynamicQuantizeLinear/,
    );
  });
});

describe('the served member folded for the absent camera', () => {
  let float: Uint8Array;
  let int8: Uint8Array;
  const zeros = (dims: number[]): FloatTensor => ({
    data: new Float32Array(dims.reduce((p, d) => p * d, 1)),
    dims,
  });
  const shape1 = { audio: zeros([1, 5, 257, 3]), visual: zeros([1, 16, 24, 5]) };
  before(async () => {
    float = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER)), ['clean']).bytes;
    int8 = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER_INT8)), ['clean']).bytes;
  });

  it('float: the folded graph equals the full graph with zero crops to float rounding; int8: as close to float', async () => {
    const n = 32;
    const audio = { data: normals(n * 5 * 257 * 3, 5), dims: [n, 5, 257, 3] };
    const visual = zeros([n, 16, 24, 5]);
    const ff = await foldAt(float, 'visual', shape1);
    assert.deepEqual([ff.rows, ff.weight], [2304, 'fc1/kernel']);
    const ref = await run(float, { audio, visual });
    const gotF = await run(ff.bytes, { audio });
    assert.ok(maxAbsDiff(gotF, ref) < 1e-5, `float ${maxAbsDiff(gotF, ref)}`);
    const fq = await foldAt(int8, 'visual', shape1);
    assert.deepEqual([fq.rows, fq.weight], [2304, 'fc1/kernel/int8']);
    const [eFull, eFolded] = [
      rms(await run(int8, { audio, visual }), ref),
      rms(await run(fq.bytes, { audio }), ref),
    ];
    assert.ok(eFolded <= 1.5 * eFull, `int8 against float: folded ${eFolded}, full ${eFull}`);
    assert.ok(eFolded < 0.01, `int8 folded against float ${eFolded}`);
  });

  it('the runner sends an all-zero visual batch to the folded graph and any other to the full one', async () => {
    const { meta } = await readSpeechModelMeta(MEMBER);
    const full = await OnnxSession.create(float);
    // A deliberately different "folded" graph (the branch held at ones), so the route shows in the values.
    const ones = { ...shape1, visual: { data: new Float32Array(16 * 24 * 5).fill(1), dims: [1, 16, 24, 5] } };
    const other = await OnnxSession.create((await foldAt(float, 'visual', ones)).bytes);
    try {
      const runner = onnxSpeechRunner(full, meta.model, 3, other);
      const n = 3;
      const audio = normals(n * 5 * 257 * 3, 6);
      const visual = new Float32Array(n * 16 * 24 * 5);
      const viaOther = (await other.run({ audio: { data: audio, dims: [n, 5, 257, 3] } })).clean!.data;
      const viaFull = async (v: Float32Array) =>
        (
          await full.run({
            audio: { data: audio, dims: [n, 5, 257, 3] },
            visual: { data: v, dims: [n, 16, 24, 5] },
          })
        ).clean!.data;
      assert.equal(maxAbsDiff((await runner({ size: n, audio, visual })).clean, viaOther), 0);
      const mixed = visual.slice();
      mixed[mixed.length - 1] = 0.5; // one pixel of the last example
      assert.equal(
        maxAbsDiff((await runner({ size: n, audio, visual: mixed })).clean, await viaFull(mixed)),
        0,
      );
      assert.ok(maxAbsDiff(await viaFull(visual), viaOther) > 1e-3, 'the two routes differ here');
    } finally {
      await full.release();
      await other.release();
    }
  });

  it("the loader reports the fold, and an enhancer on it gives the full graph's audio", async () => {
    const wav = await readWavFile('devices/sample-drive/audio.wav');
    const clip = wav.samples.slice(30 * 16_000, 33 * 16_000);
    const outs: Float32Array[] = [];
    for (const fold of [true, false]) {
      const model = await loadSpeechEnhancerModel(MEMBER, {}, { foldAbsentCamera: fold });
      try {
        assert.deepEqual(
          model.cameraAbsent,
          fold
            ? [{ folded: true, removedNodes: 10, foldedRows: 2304 }]
            : [{ folded: false, reason: 'not asked for (foldAbsentCamera: false)' }],
        );
        outs.push(await enhanceSamples(model.createEnhancer(), clip, WHOLE_SIGNAL_CHUNK_SAMPLES, []));
      } finally {
        await model.release();
      }
    }
    assert.equal(outs[0]!.length, clip.length);
    assert.ok(maxAbsDiff(outs[0]!, outs[1]!) < 1e-4, `samples differ by ${maxAbsDiff(outs[0]!, outs[1]!)}`);
  });
});
