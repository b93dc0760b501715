/**
 * ONNX export parity: for small random models covering every supported layer, ONNX Runtime (CPU EP) and
 * TF.js (cpu backend, the reference) give the same outputs on the same random inputs, max abs difference
 * ≤ 1e-4. Weights are random at scales that keep activations O(1) (helpers.randomizeWeights), and models
 * expose pre-softmax values as outputs, so an export error shows.
 *
 * "Mutation" tests prove the parity check can fail: they damage an exported graph the way a plausible
 * exporter bug would (LSTM gates in TF.js order, sigmoid instead of hardSigmoid, Flatten in NCHW order,
 * BatchNormalization without epsilon) and require a difference far above the tolerance.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx, LSTM_GATE_ORDER } from '../../src/models/common/onnx-export.ts';
import { decodeOnnxModel, encodeOnnxModel, summarizeOnnxModel } from '../../src/models/common/onnx-writer.ts';
import type { OnnxModelProto } from '../../src/models/common/onnx-writer.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import { parity, randomInputs, randomizeWeights } from './helpers.ts';

const TOLERANCE = 1e-4;
/** A mutated graph must be off by at least this much (10× the tolerance). */
const MUTATION_MIN_DIFF = 10 * TOLERANCE;

type SymbolicTensor = tf.SymbolicTensor;
/** TF.js's activation names (its type omits 'logSoftmax', which it accepts). */
type Activation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;
const apply = (layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor =>
  layer.apply(x) as SymbolicTensor;

async function check(
  t: { diagnostic(message: string): void },
  model: tf.LayersModel,
  options: { batch?: number; seed?: number } = {},
): Promise<{ bytes: Uint8Array; max: number }> {
  randomizeWeights(model, options.seed ?? 1);
  const { bytes } = exportToOnnx(model);
  const session = await OnnxSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    for (const batch of [options.batch ?? 3, 1]) {
      const inputs = randomInputs(model, batch, (options.seed ?? 1) + batch);
      const r = await parity(model, session, inputs);
      const detail = Object.entries(r.perOutput)
        .map(([k, v]) => `${k}: ${v.toExponential(2)} (|y| ≤ ${(r.scale[k] ?? 0).toFixed(2)})`)
        .join(', ');
      t.diagnostic(`batch ${batch}: max abs diff ${r.max.toExponential(2)}; ${detail}`);
      assert.ok(r.max <= TOLERANCE, `max abs diff ${r.max} > ${TOLERANCE}: ${detail}`);
      for (const [name, scale] of Object.entries(r.scale)) {
        assert.ok(scale > 0.05, `output ${name} is too small (${scale}) to reveal export errors`);
      }
    }
    return { bytes, max: 0 };
  } finally {
    await session.release();
  }
}

/** Max abs difference between TF.js and a (mutated) ONNX model. */
async function diffOf(model: tf.LayersModel, bytes: Uint8Array, seed = 11): Promise<number> {
  const session = await OnnxSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    return (await parity(model, session, randomInputs(model, 3, seed))).max;
  } finally {
    await session.release();
  }
}

// ---- graph surgery for the mutation tests -------------------------------------------------------------

type NodeProto = NonNullable<NonNullable<OnnxModelProto['graph']>['node']>[number];

function initializer(
  m: OnnxModelProto,
  nameEnd: string,
): { dims: number[]; data: Float32Array; set(d: Float32Array): void } {
  const init = m.graph?.initializer?.find((i) => (i.name ?? '').endsWith(nameEnd));
  if (init?.rawData == null) throw new Error(`initializer *${nameEnd} not found`);
  const raw = init.rawData;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data = new Float32Array(raw.byteLength / 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return {
    dims: (init.dims ?? []).map(Number),
    data,
    set(d: Float32Array) {
      const bytes = new Uint8Array(d.length * 4);
      const v = new DataView(bytes.buffer);
      d.forEach((x, i) => v.setFloat32(i * 4, x, true));
      init.rawData = bytes;
    },
  };
}

/** Swaps gate blocks a and b (ONNX order i, o, f, c = 0..3) of an LSTM W/R [1, 4H, n] or B [1, 8H]. */
function swapGates(m: OnnxModelProto, nameEnd: string, units: number, a: number, b: number): void {
  const init = initializer(m, nameEnd);
  const d = init.data.slice();
  const rows = nameEnd.endsWith('/B') ? 1 : (init.dims[2] as number);
  const block = units * rows;
  const halves = nameEnd.endsWith('/B') ? [0, 4 * units] : [0];
  for (const base of halves) {
    const A = d.slice(base + a * block, base + (a + 1) * block);
    d.copyWithin(base + a * block, base + b * block, base + (b + 1) * block);
    d.set(A, base + b * block);
  }
  init.set(d);
}

function node(m: OnnxModelProto, opType: string, index = 0): NodeProto {
  const n = (m.graph?.node ?? []).filter((x) => x.opType === opType)[index];
  if (n === undefined) throw new Error(`no ${opType} node #${index}`);
  return n;
}

// ---- models -------------------------------------------------------------------------------------------

/** Three Conv1D branches (stress-model-like) → concatenate → LSTM over time → Dense softmax. */
function stressLikeModel(): tf.LayersModel {
  const T = 24;
  const inputs = [
    tf.input({ shape: [T, 2], name: 'cardiac' }),
    tf.input({ shape: [T, 5], name: 'vehicle' }),
    tf.input({ shape: [T, 3], name: 'context' }),
  ];
  const branches = inputs.map((x, i) => {
    const prefix = x.sourceLayer.name;
    let h = apply(
      tf.layers.conv1d({
        filters: 20,
        kernelSize: 10,
        padding: 'same',
        activation: 'elu',
        name: `${prefix}_c1`,
      }),
      x,
    );
    h = apply(
      tf.layers.conv1d({
        filters: 40,
        kernelSize: 5,
        padding: 'same',
        activation: 'elu',
        name: `${prefix}_c2`,
      }),
      h,
    );
    h = apply(tf.layers.maxPooling1d({ poolSize: 2, name: `${prefix}_pool` }), h);
    h = apply(
      tf.layers.conv1d({
        filters: 80,
        kernelSize: 3,
        padding: 'same',
        activation: 'elu',
        name: `${prefix}_c3`,
      }),
      h,
    );
    return apply(tf.layers.dropout({ rate: 0.2 + 0.1 * i, name: `${prefix}_drop` }), h);
  });
  const merged = apply(tf.layers.concatenate({ name: 'fusion' }), branches);
  const seq = apply(tf.layers.lstm({ units: 16, returnSequences: true, name: 'lstm_seq' }), merged);
  const last = apply(tf.layers.lstm({ units: 12, name: 'lstm_last' }), seq);
  const logits = apply(tf.layers.dense({ units: 3, name: 'logits' }), last);
  const probs = apply(tf.layers.activation({ activation: 'softmax', name: 'probs' }), logits);
  return tf.model({ inputs, outputs: [probs, logits], name: 'stress_like' });
}

/** AVDCNN-like: 2-D conv + batch norm branches, merged, dense layers, two outputs. */
function avdcnnLikeModel(): tf.LayersModel {
  const audio = tf.input({ shape: [33, 5, 1], name: 'audio' });
  const video = tf.input({ shape: [16, 12, 3], name: 'video' });
  let a = apply(tf.layers.conv2d({ filters: 10, kernelSize: [12, 2], name: 'a_conv1' }), audio); // valid
  a = apply(tf.layers.batchNormalization({ name: 'a_bn1' }), a);
  a = apply(tf.layers.maxPooling2d({ poolSize: [2, 1], name: 'a_pool' }), a);
  a = apply(tf.layers.conv2d({ filters: 4, kernelSize: [5, 1], name: 'a_conv2' }), a);
  a = apply(tf.layers.batchNormalization({ name: 'a_bn2', epsilon: 0.05 }), a);
  let v = apply(
    tf.layers.conv2d({ filters: 12, kernelSize: [15, 2], padding: 'same', name: 'v_conv1' }),
    video,
  );
  v = apply(tf.layers.batchNormalization({ name: 'v_bn1' }), v);
  v = apply(tf.layers.conv2d({ filters: 10, kernelSize: [7, 2], padding: 'same', name: 'v_conv2' }), v);
  v = apply(tf.layers.batchNormalization({ name: 'v_bn2' }), v);
  v = apply(tf.layers.conv2d({ filters: 6, kernelSize: [3, 2], padding: 'same', name: 'v_conv3' }), v);
  v = apply(tf.layers.batchNormalization({ name: 'v_bn3' }), v);
  const merged = apply(tf.layers.concatenate({ name: 'merged' }), [
    apply(tf.layers.flatten({ name: 'a_flat' }), a),
    apply(tf.layers.flatten({ name: 'v_flat' }), v),
  ]);
  let h = apply(tf.layers.dense({ units: 48, activation: 'sigmoid', name: 'fc1' }), merged);
  h = apply(tf.layers.dropout({ rate: 0.1, name: 'drop1' }), h);
  h = apply(tf.layers.batchNormalization({ name: 'fc_bn' }), h);
  h = apply(tf.layers.dense({ units: 32, activation: 'sigmoid', name: 'fc2' }), h);
  const audioOut = apply(tf.layers.dense({ units: 33, name: 'audio_out' }), h);
  const lipOut = apply(
    tf.layers.reshape({ targetShape: [4, 6, 2], name: 'lip_out' }),
    apply(tf.layers.dense({ units: 48, name: 'lip_fc' }), h),
  );
  return tf.model({ inputs: [audio, video], outputs: [audioOut, lipOut], name: 'avdcnn_like' });
}

describe('ONNX export parity (ONNX Runtime CPU vs TF.js cpu backend)', () => {
  before(async () => {
    await forceTrainingBackend('cpu');
  });

  it('exports opset 13, IR 8, named inputs and outputs, few transposes (stress-like model)', () => {
    const model = stressLikeModel();
    const { bytes, sidecar } = exportToOnnx(model, { metadata: { purpose: 'test' } });
    const s = summarizeOnnxModel(bytes);
    assert.equal(s.opset, 13);
    assert.equal(s.irVersion, 8);
    assert.deepEqual(s.inputs, ['cardiac', 'vehicle', 'context']);
    assert.deepEqual(s.outputs, ['probs', 'logits']);
    assert.equal(s.ops['LSTM'], 2);
    assert.equal(s.ops['Conv'], 9);
    // 3 inputs → NCW, concat → time-major for the LSTMs; nothing else.
    assert.equal(s.ops['Transpose'], 4);
    assert.equal(s.metadata['purpose'], '"test"');
    assert.deepEqual(sidecar.inputs[1], { name: 'vehicle', shape: [null, 24, 5], dtype: 'float32' });
    assert.deepEqual(sidecar.outputs[0], { name: 'probs', shape: [null, 3], dtype: 'float32' });
    assert.equal(sidecar.parameters, model.countParams());
  });

  it('branchy model: three Conv1D branches → concatenate → LSTM → Dense softmax', async (t) => {
    await check(t, stressLikeModel());
  });

  it('2-D conv + batch norm + dense, two outputs (AVDCNN-like)', async (t) => {
    await check(t, avdcnnLikeModel());
  });

  it('Conv1D padding valid/same, strides, dilation, no bias; MaxPooling1D valid/same; BN; Reshape', async (t) => {
    const x = tf.input({ shape: [29, 3], name: 'x' });
    let h = apply(
      tf.layers.conv1d({ filters: 6, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }),
      x,
    );
    h = apply(
      tf.layers.conv1d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh' }),
      h,
    );
    h = apply(tf.layers.maxPooling1d({ poolSize: 3, strides: 2, padding: 'same' }), h);
    h = apply(tf.layers.batchNormalization({ epsilon: 0.01 }), h);
    h = apply(tf.layers.conv1d({ filters: 4, kernelSize: 2, useBias: false, activation: 'selu' }), h);
    h = apply(tf.layers.maxPooling1d({ poolSize: 2, padding: 'valid' }), h);
    const flat = apply(tf.layers.flatten(), h);
    const d = apply(tf.layers.dense({ units: 12, activation: 'softsign' }), flat);
    const r = apply(tf.layers.reshape({ targetShape: [4, 3] }), d);
    const c = apply(tf.layers.conv1d({ filters: 3, kernelSize: 2, name: 'after_reshape' }), r);
    const out = apply(tf.layers.reshape({ targetShape: [-1], name: 'flat_out' }), c);
    await check(t, tf.model({ inputs: x, outputs: out }));
  });

  it('Conv2D/MaxPooling2D same padding with stride 2 on odd sizes, dilation, channelsFirst', async (t) => {
    const x = tf.input({ shape: [13, 11, 2], name: 'img' });
    let h = apply(
      tf.layers.conv2d({ filters: 5, kernelSize: [3, 4], strides: 2, padding: 'same', activation: 'elu' }),
      x,
    );
    h = apply(tf.layers.maxPooling2d({ poolSize: [3, 2], strides: [2, 1], padding: 'same' }), h);
    h = apply(
      tf.layers.conv2d({ filters: 4, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'relu6' }),
      h,
    );
    const nchw = tf.input({ shape: [2, 9, 8], name: 'nchw' });
    let c = apply(
      tf.layers.conv2d({ filters: 3, kernelSize: 3, dataFormat: 'channelsFirst', padding: 'same' }),
      nchw,
    );
    c = apply(tf.layers.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }), c);
    const out = apply(tf.layers.concatenate(), [
      apply(tf.layers.flatten(), h),
      apply(tf.layers.flatten(), c),
    ]);
    await check(t, tf.model({ inputs: [x, nchw], outputs: out }));
  });

  it('every activation, as Dense activation and as Activation layer on NCW values', async (t) => {
    const x = tf.input({ shape: [10], name: 'x' });
    const names = [
      'linear',
      'relu',
      'relu6',
      'elu',
      'selu',
      'sigmoid',
      'hardSigmoid',
      'tanh',
      'softplus',
      'softsign',
      'softmax',
      'logSoftmax',
      'swish',
      'gelu',
    ] as const;
    const outs = names.map((a) =>
      apply(tf.layers.dense({ units: 5, activation: a as Activation, name: `dense_${a}` }), x),
    );
    const seq = tf.input({ shape: [7, 3], name: 'seq' });
    const conv = apply(tf.layers.conv1d({ filters: 4, kernelSize: 2, name: 'conv' }), seq); // NCW inside ONNX
    for (const a of ['softmax', 'logSoftmax', 'hardSigmoid', 'sigmoid'] as const) {
      outs.push(apply(tf.layers.activation({ activation: a as Activation, name: `act_${a}` }), conv));
    }
    const flat = apply(tf.layers.spatialDropout1d({ rate: 0.5 }), conv);
    outs.push(apply(tf.layers.flatten({ name: 'spatial_dropout_out' }), flat));
    await check(t, tf.model({ inputs: [x, seq], outputs: outs }));
  });

  it('LSTM variants: sigmoid/tanh recurrent activation, relu cell, no bias, on the raw input', async (t) => {
    const x = tf.input({ shape: [9, 4], name: 'x' });
    const a = apply(tf.layers.lstm({ units: 6, recurrentActivation: 'sigmoid', returnSequences: true }), x);
    const b = apply(tf.layers.lstm({ units: 5, activation: 'relu', useBias: false, name: 'relu_lstm' }), a);
    const c = apply(tf.layers.lstm({ units: 3, recurrentActivation: 'tanh', name: 'tanh_gates' }), x);
    await check(
      t,
      tf.model({ inputs: x, outputs: [b, c, apply(tf.layers.flatten({ name: 'seq_out' }), a)] }),
    );
  });

  it('a variable-length time axis works with explicit or SAME_UPPER padding', async (t) => {
    const x = tf.input({ shape: [null, 3], name: 'x' });
    let h = apply(tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }), x);
    h = apply(tf.layers.conv1d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), h);
    h = apply(tf.layers.maxPooling1d({ poolSize: 2, padding: 'same' }), h);
    const out = apply(tf.layers.lstm({ units: 4 }), h);
    const model = tf.model({ inputs: x, outputs: out });
    const s = summarizeOnnxModel(exportToOnnx(model).bytes);
    assert.equal(s.ops['Conv'], 2);
    await check(t, model); // time length 7 (odd: asymmetric SAME padding)
  });

  it('a shared layer applied to two inputs is exported per application', async (t) => {
    const a = tf.input({ shape: [6], name: 'left' });
    const b = tf.input({ shape: [6], name: 'right' });
    const shared = tf.layers.dense({ units: 4, activation: 'tanh', name: 'shared' });
    const out = apply(tf.layers.concatenate({ name: 'both' }), [apply(shared, a), apply(shared, b)]);
    await check(t, tf.model({ inputs: [a, b], outputs: out }));
  });

  it('refuses unsupported layers and options with the reason', () => {
    const x = tf.input({ shape: [5, 3] });
    const gru = tf.model({ inputs: x, outputs: apply(tf.layers.gru({ units: 2 }), x) });
    assert.throws(() => exportToOnnx(gru), /GRU\) is not supported.*supported: InputLayer, Dense/);
    const back = tf.model({ inputs: x, outputs: apply(tf.layers.lstm({ units: 2, goBackwards: true }), x) });
    assert.throws(() => exportToOnnx(back), /goBackwards is not supported/);
    const mish = tf.model({
      inputs: x,
      outputs: apply(tf.layers.dense({ units: 2, activation: 'mish' }), x),
    });
    assert.throws(() => exportToOnnx(mish), /activation 'mish' is not supported/);
    const causal = tf.model({
      inputs: x,
      outputs: apply(tf.layers.conv1d({ filters: 2, kernelSize: 2, padding: 'causal' }), x),
    });
    assert.throws(() => exportToOnnx(causal), /'causal' padding is not supported/);
    // TF.js applies a BatchNormalization over a non-last axis along the last axis anyway (kernel bug).
    const bn = tf.model({ inputs: x, outputs: apply(tf.layers.batchNormalization({ axis: 1 }), x) });
    assert.throws(() => exportToOnnx(bn), /over axis 1 of a rank-3 input is not supported/);
  });

  describe('the parity check fails on plausible export bugs (mutations)', () => {
    it(`LSTM gates left in TF.js order (f and c swapped) → difference ≫ ${TOLERANCE}`, async (t) => {
      assert.deepEqual(LSTM_GATE_ORDER, [0, 3, 1, 2]);
      const model = stressLikeModel();
      randomizeWeights(model, 1);
      const m = decodeOnnxModel(exportToOnnx(model).bytes);
      for (const [layer, units] of [
        ['lstm_seq', 16],
        ['lstm_last', 12],
      ] as const) {
        // ONNX order i, o, f, c: swapping blocks 2 and 3 gives i, o, c, f.
        for (const w of ['W', 'R', 'B']) swapGates(m, `${layer}/${w}`, units, 2, 3);
      }
      const d = await diffOf(model, encodeOnnxModel(m));
      t.diagnostic(`gates swapped: max abs diff ${d.toExponential(2)}`);
      assert.ok(d > MUTATION_MIN_DIFF, `swapping gates changed the output by only ${d}`);
    });

    it('sigmoid instead of hardSigmoid as the LSTM recurrent activation → large difference', async (t) => {
      const model = stressLikeModel();
      randomizeWeights(model, 1);
      const m = decodeOnnxModel(exportToOnnx(model).bytes);
      for (const i of [0, 1]) {
        const lstm = node(m, 'LSTM', i);
        const attributes = lstm.attribute ?? [];
        for (const a of attributes) {
          if (a.name === 'activations')
            a.strings = ['Sigmoid', 'Tanh', 'Tanh'].map((s) => new TextEncoder().encode(s));
        }
        lstm.attribute = attributes.filter(
          (a) => a.name !== 'activation_alpha' && a.name !== 'activation_beta',
        );
      }
      const d = await diffOf(model, encodeOnnxModel(m));
      t.diagnostic(`sigmoid for hardSigmoid: max abs diff ${d.toExponential(2)}`);
      assert.ok(d > MUTATION_MIN_DIFF, `changed the output by only ${d}`);
    });

    it('Flatten in NCHW order instead of TF.js NHWC → large difference', async (t) => {
      const model = avdcnnLikeModel();
      randomizeWeights(model, 1);
      const m = decodeOnnxModel(exportToOnnx(model).bytes);
      // The Transpose feeding each Flatten brings NCHW back to NHWC; make it a no-op.
      const nodes = m.graph?.node ?? [];
      const flattenInputs = new Set(nodes.filter((n) => n.opType === 'Flatten').map((n) => n.input?.[0]));
      let changed = 0;
      for (const n of nodes) {
        if (n.opType === 'Transpose' && flattenInputs.has(n.output?.[0])) {
          for (const a of n.attribute ?? []) if (a.name === 'perm') a.ints = [0, 1, 2, 3];
          changed++;
        }
      }
      assert.equal(changed, 2);
      const d = await diffOf(model, encodeOnnxModel(m));
      t.diagnostic(`NCHW flatten: max abs diff ${d.toExponential(2)}`);
      assert.ok(d > MUTATION_MIN_DIFF, `changed the output by only ${d}`);
    });

    it('BatchNormalization epsilon dropped → difference above tolerance', async (t) => {
      const model = avdcnnLikeModel();
      randomizeWeights(model, 1);
      const m = decodeOnnxModel(exportToOnnx(model).bytes);
      for (const n of m.graph?.node ?? []) {
        if (n.opType === 'BatchNormalization')
          for (const a of n.attribute ?? []) if (a.name === 'epsilon') a.f = 0;
      }
      const d = await diffOf(model, encodeOnnxModel(m));
      t.diagnostic(`epsilon 0: max abs diff ${d.toExponential(2)}`);
      assert.ok(d > MUTATION_MIN_DIFF, `changed the output by only ${d}`);
    });
  });
});
