/**
 * Folding a graph input held at one value into the dense layer that merges it
 * (src/models/common/onnx-fold-input.ts), the float twin of an int8 graph (onnx-quantize.ts
 * `dequantizeOnnxMatMuls`), and the speech loader's camera-absent graph built on them
 * (src/models/speech/enhancer-onnx.ts):
 * - a two-branch model: the folded graph gives the full graph's values at the held value (zeros or not), with
 *   the branch first or last in a Concat of two or three operands; the folded bias is b + v·W_v computed
 *   independently, float and int8; int8 folded is as close to the float model as int8 unfolded;
 * - refusals, each naming why (an unknown input, a value of the wrong shape, size or not finite, a middle
 *   operand, a Concat on another axis, a frontier that is not a Concat operand, a shared weight, a Concat that
 *   feeds no dense layer, a branch read in two places, an output of the branch alone), and a fuzz;
 * - the committed served member (run 46): float folded equals the full graph to float rounding; int8 folded is
 *   as close to float as int8 unfolded; the load-time check passes a correct fold and catches a visual
 *   constant off by 1 % and FC1's columns dequantised by one scale; a graph it cannot fold loads without it, with why;
 * - the runner sends an all-zero visual batch to the folded graph and any other to the full one; the loader
 *   reports what it folded per member, and an enhancer on it gives the full graph's audio.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx } from '../../src/models/common/onnx-export.ts';
import { exposeTensor, foldConstantInput } from '../../src/models/common/onnx-fold-input.ts';
import type { FoldResult } from '../../src/models/common/onnx-fold-input.ts';
import { pruneOnnxOutputs } from '../../src/models/common/onnx-prune.ts';
import { dequantizeOnnxMatMuls, quantizeOnnxMatMuls } from '../../src/models/common/onnx-quantize.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import type { FloatTensor } from '../../src/models/common/onnx-session.ts';
import {
  decodeOnnxModel,
  encodeOnnxModel,
  float32LE,
  floatInitializerValues,
} from '../../src/models/common/onnx-writer.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  describeCameraAbsent,
  FOLD_CHECK_TOLERANCE,
  foldedGraphDifference,
  loadCameraAbsentGraph,
  loadSpeechEnhancerModel,
  onnxSpeechRunner,
  WHOLE_SIGNAL_CHUNK_SAMPLES,
} from '../../src/models/speech/enhancer-onnx.ts';
import { readSpeechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { maxAbsDiff, randomizeWeights } from './helpers.ts';

const MEMBER = 'src/models/speech/model/avdcnn-causal-car-spp.onnx';
const MEMBER_INT8 = 'src/models/speech/model/avdcnn-causal-car-spp.int8.onnx';

type Layout = 'last' | 'first' | 'middle' | 'last-of-three';

/**
 * a [6] → Dense 5 (and, with three operands, b [2] as it is); v [4] → Dense 8 → Dense 3 (the branch);
 * Concat → Dense 7 sigmoid (the dense layer folded into) → Dense 2.
 */
function branchModel(layout: Layout, seed = 3): tf.LayersModel {
  const a = tf.input({ shape: [6], name: 'a' });
  const b = tf.input({ shape: [2], name: 'b' });
  const v = tf.input({ shape: [4], name: 'v' });
  const ha = tf.layers.dense({ units: 5, activation: 'relu', name: 'ha' }).apply(a) as tf.SymbolicTensor;
  const hv1 = tf.layers.dense({ units: 8, activation: 'relu', name: 'hv1' }).apply(v) as tf.SymbolicTensor;
  const hv = tf.layers.dense({ units: 3, activation: 'tanh', name: 'hv' }).apply(hv1) as tf.SymbolicTensor;
  const parts = { last: [ha, hv], first: [hv, ha], middle: [ha, hv, b], 'last-of-three': [ha, b, hv] }[
    layout
  ];
  const merged = tf.layers.concatenate({ name: 'merged' }).apply(parts) as tf.SymbolicTensor;
  const fc = tf.layers
    .dense({ units: 7, activation: 'sigmoid', name: 'fc' })
    .apply(merged) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, name: 'y' }).apply(fc) as tf.SymbolicTensor;
  const three = layout === 'middle' || layout === 'last-of-three';
  const m = tf.model({ inputs: three ? [a, b, v] : [a, v], outputs: y, name: `branch_${layout}` });
  randomizeWeights(m, seed);
  return m;
}

function normals(n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return rng.floats(n, () => rng.normal());
}

function zeros(dims: number[]): FloatTensor {
  return { data: new Float32Array(dims.reduce((p, d) => p * d, 1)), dims };
}

/** The frontier's value at `feeds` (one example), scaled by `scale`, and the graph folded at it. */
async function foldAt(
  bytes: Uint8Array,
  input: string,
  feeds: Record<string, FloatTensor>,
  scale = 1,
): Promise<{ fold: FoldResult; value: FloatTensor }> {
  const exposed = exposeTensor(bytes, input);
  const probe = await OnnxSession.create(exposed.bytes);
  try {
    const v = (await probe.run(feeds))[exposed.name]!;
    const value = { data: v.data.map((x) => x * scale), dims: v.dims };
    return { fold: foldConstantInput(bytes, input, value), value };
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

function initializerOf(bytes: Uint8Array, name: string): ReturnType<typeof floatInitializerValues> {
  const t = decodeOnnxModel(bytes).graph!.initializer!.find((x) => x.name === name);
  assert.ok(t !== undefined, `no initializer ${name}`);
  return floatInitializerValues(t);
}

describe('foldConstantInput', () => {
  const models: tf.LayersModel[] = [];
  const model = (layout: Layout, seed?: number): tf.LayersModel => {
    const m = branchModel(layout, seed);
    models.push(m);
    return m;
  };
  before(async () => {
    await forceTrainingBackend('cpu');
  });
  after(() => models.forEach((m) => m.dispose()));

  for (const layout of ['last', 'first', 'last-of-three'] as const) {
    it(`gives the full graph's values at the held input, the branch ${layout} in the Concat`, async () => {
      const three = layout === 'last-of-three';
      const bytes = exportToOnnx(model(layout)).bytes;
      const n = 9;
      const rest: Record<string, FloatTensor> = {
        a: { data: normals(n * 6, 1), dims: [n, 6] },
        ...(three ? { b: { data: normals(n * 2, 2), dims: [n, 2] } } : {}),
      };
      const one: Record<string, FloatTensor> = { a: zeros([1, 6]), ...(three ? { b: zeros([1, 2]) } : {}) };
      for (const [label, held] of [
        ['zeros', new Float32Array(4)],
        ['a non-zero value', Float32Array.from([0.7, -1.2, 0.3, 2])],
      ] as const) {
        const { fold } = await foldAt(bytes, 'v', { ...one, v: { data: held, dims: [1, 4] } });
        assert.equal(fold.rows, 3, label);
        assert.ok(fold.weight.startsWith('fc/'), fold.weight);
        const graph = decodeOnnxModel(fold.bytes).graph!;
        assert.deepEqual(
          graph.input?.map((i) => i.name),
          three ? ['a', 'b'] : ['a'],
          label,
        );
        const w = graph.initializer!.find((t) => t.name === fold.weight)!;
        assert.deepEqual(w.dims!.map(Number), [three ? 7 : 5, 7], label);
        assert.ok(!graph.initializer!.some((t) => /^hv/.test(t.name ?? '')), 'the branch weights are gone');
        const concats = graph.node!.filter((x) => x.opType === 'Concat');
        assert.equal(concats.length, three ? 1 : 0, 'a Concat of two operands goes, one of three keeps two');
        if (three) assert.equal(concats[0]!.input!.length, 2);
        assert.ok(fold.removedNodes >= 5, `removed ${fold.removedNodes} nodes`);
        const vs = new Float32Array(n * 4);
        for (let i = 0; i < n; i++) vs.set(held, i * 4);
        const want = await run(bytes, { ...rest, v: { data: vs, dims: [n, 4] } });
        const got = await run(fold.bytes, rest);
        assert.ok(maxAbsDiff(got, want) < 1e-6, `${label}: ${maxAbsDiff(got, want)}`);
      }
    });
  }

  for (const [form, layout] of [
    ['float', 'last'],
    ['int8', 'first'],
  ] as const) {
    it(`folds b + v·W_v into the bias exactly (${form}, the branch ${layout})`, async () => {
      const float = exportToOnnx(model(layout, 8)).bytes;
      const bytes = form === 'float' ? float : quantizeOnnxMatMuls(float, { minElements: 1 }).bytes;
      const held = Float32Array.from([1.5, -0.5, 0.25, 1]);
      const { fold, value } = await foldAt(bytes, 'v', { a: zeros([1, 6]), v: { data: held, dims: [1, 4] } });
      // W as the graph holds it, dequantised here independently of the fold.
      const g = decodeOnnxModel(bytes).graph!;
      const biasName = g
        .node!.find((x) => x.opType === 'Add' && (x.input ?? []).some((i) => i.startsWith('fc/')))!
        .input!.find((i) => g.initializer!.some((t) => t.name === i))!;
      const b = initializerOf(bytes, biasName);
      let w: Float32Array;
      if (form === 'float') w = initializerOf(bytes, fold.weight);
      else {
        const t = g.initializer!.find((x) => x.name === fold.weight)!;
        const q = new Int8Array(t.rawData!.buffer, t.rawData!.byteOffset, 8 * 7);
        const s = initializerOf(bytes, `${fold.weight.replace(/\/int8$/, '')}/scale`);
        w = Float32Array.from(q, (x, i) => x * s[i % 7]!);
      }
      const from = layout === 'first' ? 0 : 5;
      const want = Float32Array.from(b, (bj, j) => {
        let s = bj;
        for (let i = 0; i < 3; i++) s += value.data[i]! * w[(from + i) * 7 + j]!;
        return s;
      });
      const got = initializerOf(fold.bytes, biasName);
      assert.ok(maxAbsDiff(got, want) < 1e-6, `bias ${maxAbsDiff(got, want)}`);
      const rest = Array.from({ length: 8 }, (_, i) => i).filter((i) => i < from || i >= from + 3);
      const left = decodeOnnxModel(fold.bytes).graph!.initializer!.find((x) => x.name === fold.weight)!;
      const kept =
        form === 'float'
          ? floatInitializerValues(left)
          : Float32Array.from(new Int8Array(left.rawData!.buffer, left.rawData!.byteOffset, 5 * 7));
      const before =
        form === 'float'
          ? w
          : Float32Array.from(
              new Int8Array(
                g.initializer!.find((x) => x.name === fold.weight)!.rawData!.buffer,
                g.initializer!.find((x) => x.name === fold.weight)!.rawData!.byteOffset,
                8 * 7,
              ),
            );
      assert.deepEqual(
        [...kept],
        rest.flatMap((i) => [...before.subarray(i * 7, i * 7 + 7)]),
        'the other rows are kept as they were',
      );
    });
  }

  it('int8: the folded graph is as close to the float model as the unfolded int8 graph', async () => {
    const float = exportToOnnx(model('last', 4)).bytes;
    const int8 = quantizeOnnxMatMuls(float, { minElements: 1 }).bytes;
    assert.ok(decodeOnnxModel(int8).graph!.node!.some((x) => x.opType === 'MatMulInteger'));
    const { fold } = await foldAt(int8, 'v', { a: zeros([1, 6]), v: zeros([1, 4]) });
    const n = 64;
    const a = { data: normals(n * 6, 2), dims: [n, 6] };
    const v = zeros([n, 4]);
    const ref = await run(float, { a, v });
    const [eFull, eFolded] = [rms(await run(int8, { a, v }), ref), rms(await run(fold.bytes, { a }), ref)];
    assert.ok(eFull > 0 && eFolded > 0, 'both are quantised');
    assert.ok(eFolded <= 2 * eFull + 1e-4, `int8 error against float: folded ${eFolded}, full ${eFull}`);
  });

  it('refuses what it cannot fold, saying why', () => {
    const bytes = exportToOnnx(model('last')).bytes;
    const good = zeros([1, 3]);
    assert.throws(() => foldConstantInput(bytes, 'camera', good), /no input 'camera'/);
    assert.throws(() => foldConstantInput(bytes, 'v', zeros([3])), /\[3\] with 3 values, \[1, n\] expected/);
    assert.throws(
      () => foldConstantInput(bytes, 'v', zeros([1, 8])),
      /8 values per example; the weight has 8 rows/,
    );
    const nan = zeros([1, 3]);
    nan.data[1] = NaN;
    assert.throws(() => foldConstantInput(bytes, 'v', nan), /not finite/);
    assert.throws(
      () => foldConstantInput(exportToOnnx(model('middle')).bytes, 'v', good),
      /the frontier must be the first or last operand/,
    );
    const edit = (f: (g: NonNullable<ReturnType<typeof decodeOnnxModel>['graph']>) => void): Uint8Array => {
      const proto = decodeOnnxModel(bytes);
      f(proto.graph!);
      return encodeOnnxModel(proto);
    };
    const concatOf = (g: NonNullable<ReturnType<typeof decodeOnnxModel>['graph']>) =>
      g.node!.find((x) => x.opType === 'Concat')!;
    const axis0 = edit((g) => {
      const c = concatOf(g);
      c.attribute = c.attribute!.map((x) => (x.name === 'axis' ? { ...x, i: 0 } : x));
    });
    assert.throws(() => foldConstantInput(axis0, 'v', good), /axis 0, the last of 2-D values expected/);
    // The frontier summed, not concatenated (edited: the export writes no two-input op but Concat).
    const summed = edit((g) => {
      const c = concatOf(g);
      c.opType = 'Sum';
      c.attribute = [];
    });
    assert.throws(() => foldConstantInput(summed, 'v', good), /must feed one Concat alone; it feeds Sum/);
    // The dense layer's weight also read by another node.
    const shared = edit((g) => {
      const w = g.node!.find((x) => x.opType === 'MatMul' && (x.input ?? [])[1]?.startsWith('fc/'))!
        .input![1]!;
      g.node!.push({ opType: 'Identity', name: 'peek', input: [w], output: ['peeked'] });
      g.output!.push({ name: 'peeked', type: { tensorType: { elemType: 1 } } });
    });
    assert.throws(() => foldConstantInput(shared, 'v', good), /shares its weight or bias/);

    // A Concat that feeds no dense layer.
    const c = tf.input({ shape: [3], name: 'c' });
    const x = tf.input({ shape: [4], name: 'x' });
    const hx = tf.layers.dense({ units: 3, name: 'hx' }).apply(x) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat' }).apply([c, hx]) as tf.SymbolicTensor;
    const relu = tf.layers.activation({ activation: 'relu', name: 'r' }).apply(cat) as tf.SymbolicTensor;
    const bare = tf.model({ inputs: [c, x], outputs: relu });
    models.push(bare);
    assert.throws(
      () => foldConstantInput(exportToOnnx(bare).bytes, 'x', good),
      /must feed one MatMul or DynamicQuantizeLinear alone/,
    );

    // The branch read in two places.
    const a = tf.input({ shape: [6], name: 'a' });
    const v = tf.input({ shape: [4], name: 'v' });
    const h1 = tf.layers.dense({ units: 3, name: 'h1' }).apply(v) as tf.SymbolicTensor;
    const h2 = tf.layers.dense({ units: 3, name: 'h2' }).apply(v) as tf.SymbolicTensor;
    const m2 = tf.layers.concatenate({ name: 'm2' }).apply([a, h1, h2]) as tf.SymbolicTensor;
    const o2 = tf.layers.dense({ units: 2, name: 'o2' }).apply(m2) as tf.SymbolicTensor;
    const twice = tf.model({ inputs: [a, v], outputs: o2 });
    models.push(twice);
    assert.throws(() => foldConstantInput(exportToOnnx(twice).bytes, 'v', good), /through 2 values/);

    // A graph output of the branch alone.
    const full = model('last');
    const alone = tf.model({
      inputs: full.inputs,
      outputs: [full.outputs[0]!, full.getLayer('hv').output as tf.SymbolicTensor],
    });
    assert.throws(() => foldConstantInput(exportToOnnx(alone).bytes, 'v', good), /depends on 'v' alone/);
  });

  it('fuzz: junk and corrupted models throw an Error or fold; nothing else escapes', () => {
    const bytes = exportToOnnx(model('last')).bytes;
    const rng = new SeededRandom(11);
    const value = zeros([1, 3]);
    let folded = 0;
    let refused = 0;
    for (let k = 0; k < 400; k++) {
      let x: Uint8Array;
      if (k % 4 === 0) {
        x = new Uint8Array(1 + Math.floor(rng.next() * 300));
        for (let i = 0; i < x.length; i++) x[i] = Math.floor(rng.next() * 256);
      } else if (k % 4 === 1) x = bytes.subarray(0, Math.floor(rng.next() * bytes.length));
      else {
        x = Uint8Array.from(bytes); // a copy (a Buffer's slice is a view)
        for (let j = 0; j < 1 + (k % 8); j++)
          x[Math.floor(rng.next() * x.length)] = Math.floor(rng.next() * 256);
      }
      for (const f of [
        () => exposeTensor(x, 'v'),
        () => foldConstantInput(x, 'v', value),
        () => dequantizeOnnxMatMuls(x),
      ]) {
        try {
          assert.ok(f() instanceof Object);
          folded++;
        } catch (e) {
          assert.ok(e instanceof Error, `threw a non-Error: ${String(e)}`);
          assert.ok(e.message.length > 0);
          refused++;
        }
      }
    }
    assert.ok(folded > 0 && refused > 0, `folded ${folded}, refused ${refused}`);
  });
});

describe('dequantizeOnnxMatMuls', () => {
  it("gives an int8 graph's products as float products of W_q · w_scale, the rest unchanged", async () => {
    const int8 = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER_INT8)), ['clean']).bytes;
    const twin = dequantizeOnnxMatMuls(int8);
    const ops = decodeOnnxModel(twin).graph!.node!.map((x) => x.opType);
    assert.ok(!ops.includes('MatMulInteger') && !ops.includes('DynamicQuantizeLinear'), ops.join(' '));
    assert.equal(ops.filter((o) => o === 'MatMul').length, 4, 'fc1, fc2, fc_a3, clean');
    assert.equal(ops.filter((o) => o === 'Conv').length, 5, 'the convolutions stay');
    const g = decodeOnnxModel(int8).graph!;
    const q = g.initializer!.find((t) => t.name === 'fc2/kernel/int8')!;
    const s = initializerOf(int8, 'fc2/kernel/scale');
    const want = Float32Array.from(
      new Int8Array(q.rawData!.buffer, q.rawData!.byteOffset, 1000 * 800),
      (x, i) => x * s[i % 800]!,
    );
    assert.equal(maxAbsDiff(initializerOf(twin, 'fc2/kernel/int8/dequantized'), want), 0);
    // The float model the int8 one came from is within the weights' rounding of the twin.
    const float = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER)), ['clean']).bytes;
    const feeds = {
      audio: { data: normals(4 * 5 * 257 * 3, 9), dims: [4, 5, 257, 3] },
      visual: zeros([4, 16, 24, 5]),
    };
    const d = maxAbsDiff(await run(twin, feeds), await run(float, feeds));
    assert.ok(d > 0 && d < 0.01, `twin against float ${d}`);
    assert.equal(dequantizeOnnxMatMuls(float).length > 0, true, 'a float graph passes through');
  });
});

describe('the served member folded for the absent camera', () => {
  let float: Uint8Array;
  let int8: Uint8Array;
  const shape1 = { audio: zeros([1, 5, 257, 3]), visual: zeros([1, 16, 24, 5]) };
  before(async () => {
    float = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER)), ['clean']).bytes;
    int8 = pruneOnnxOutputs(new Uint8Array(await readFile(MEMBER_INT8)), ['clean']).bytes;
  });

  it('float: folded equals the full graph with zero crops to float rounding; int8: as close to float', async () => {
    const n = 32;
    const audio = { data: normals(n * 5 * 257 * 3, 5), dims: [n, 5, 257, 3] };
    const visual = zeros([n, 16, 24, 5]);
    const ff = (await foldAt(float, 'visual', shape1)).fold;
    assert.deepEqual([ff.rows, ff.weight], [2304, 'fc1/kernel']);
    const ref = await run(float, { audio, visual });
    const gotF = await run(ff.bytes, { audio });
    assert.ok(maxAbsDiff(gotF, ref) < 1e-5, `float ${maxAbsDiff(gotF, ref)}`);
    const fq = (await foldAt(int8, 'visual', shape1)).fold;
    assert.deepEqual([fq.rows, fq.weight], [2304, 'fc1/kernel/int8']);
    const [eFull, eFolded] = [
      rms(await run(int8, { audio, visual }), ref),
      rms(await run(fq.bytes, { audio }), ref),
    ];
    assert.ok(eFolded <= 1.5 * eFull, `int8 against float: folded ${eFolded}, full ${eFull}`);
    assert.ok(eFolded < 0.01, `int8 folded against float ${eFolded}`);
  });

  it('the load-time check passes a correct fold and catches a constant off by 1 % or one scale for every column', async () => {
    const { meta } = await readSpeechModelMeta(MEMBER_INT8);
    const right = (await foldAt(int8, 'visual', shape1)).fold.bytes;
    const ok = await foldedGraphDifference(int8, right, meta);
    assert.ok(ok < 1e-5, `correct fold ${ok}`);
    const off = (await foldAt(int8, 'visual', shape1, 0.99)).fold.bytes;
    const dOff = await foldedGraphDifference(int8, off, meta);
    assert.ok(dOff > FOLD_CHECK_TOLERANCE, `constant off by 1 %: ${dOff}`);
    // The dequantisation's slip of using the first column's scale for every column.
    const { value } = await foldAt(int8, 'visual', shape1);
    const g = decodeOnnxModel(int8).graph!;
    const q = g.initializer!.find((t) => t.name === 'fc1/kernel/int8')!;
    const w = new Int8Array(q.rawData!.buffer, q.rawData!.byteOffset, 4208 * 1000);
    const s0 = initializerOf(int8, 'fc1/kernel/scale')[0]!;
    const wrong = Float64Array.from(initializerOf(int8, 'fc1/bias'));
    for (let i = 0; i < 2304; i++)
      for (let j = 0; j < 1000; j++) wrong[j] = wrong[j]! + value.data[i]! * w[(1904 + i) * 1000 + j]! * s0;
    const proto = decodeOnnxModel(right);
    proto.graph!.initializer!.find((t) => t.name === 'fc1/bias')!.rawData = float32LE(
      Float32Array.from(wrong),
    );
    const dScale = await foldedGraphDifference(int8, encodeOnnxModel(proto), meta);
    assert.ok(dScale > FOLD_CHECK_TOLERANCE, `one scale for every column: ${dScale}`);
  });

  it('loads the folded graph, or for a graph it cannot fold, the reason and no session', async () => {
    const { meta } = await readSpeechModelMeta(MEMBER_INT8);
    const good = await loadCameraAbsentGraph(int8, meta);
    try {
      assert.deepEqual(good.graph, { folded: true, removedNodes: 10, foldedRows: 2304 });
      assert.deepEqual(good.session?.inputNames, ['audio']);
    } finally {
      await good.session?.release();
    }
    // An Identity between the Concat and FC1: a valid graph the fold does not take.
    const proto = decodeOnnxModel(int8);
    const nodes = proto.graph!.node!;
    const quantize = nodes.find(
      (x) => x.opType === 'DynamicQuantizeLinear' && x.input![0] === 'merged/concat',
    )!;
    quantize.input = ['merged/id'];
    nodes.splice(nodes.indexOf(quantize), 0, {
      opType: 'Identity',
      name: 'id',
      input: ['merged/concat'],
      output: ['merged/id'],
    });
    const bad = await loadCameraAbsentGraph(encodeOnnxModel(proto), meta);
    assert.equal(bad.session, undefined);
    assert.equal(bad.graph.folded, false);
    assert.match(
      bad.graph.folded ? '' : bad.graph.reason,
      /must feed one MatMul or DynamicQuantizeLinear alone; it feeds Identity/,
    );
  });

  it('describes in a line how the models run without the camera, with the reasons for the full graph', () => {
    const folded = { folded: true, removedNodes: 10, foldedRows: 2304 } as const;
    assert.equal(describeCameraAbsent([folded, folded]), 'camera-absent graph for 2 of 2 model(s)');
    assert.equal(
      describeCameraAbsent([
        folded,
        { folded: false, reason: 'x' },
        { folded: false, reason: 'x' },
        { folded: false, reason: 'y' },
      ]),
      'camera-absent graph for 1 of 4 model(s) (the others on the full graph: x; y)',
    );
  });

  it('the runner sends an all-zero visual batch to the folded graph and any other to the full one', async () => {
    const { meta } = await readSpeechModelMeta(MEMBER);
    const full = await OnnxSession.create(float);
    // A deliberately different "folded" graph (the branch held at ones), so the route shows in the values.
    const ones = { ...shape1, visual: { data: new Float32Array(16 * 24 * 5).fill(1), dims: [1, 16, 24, 5] } };
    const other = await OnnxSession.create((await foldAt(float, 'visual', ones)).fold.bytes);
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

  it("the loader reports the fold per member, and an enhancer on it gives the full graph's audio", async () => {
    const served = await loadSpeechEnhancerModel(DEFAULT_SPEECH_MODEL_PATH);
    try {
      assert.equal(served.members.length, 2);
      assert.deepEqual(
        served.cameraAbsent.map((g) => g.folded),
        [true, true],
      );
    } finally {
      await served.release();
    }
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
