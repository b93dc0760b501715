/**
 * TF.js LayersModel → ONNX (opset 13), written from the layer weights and configs (there is no tf2onnx for
 * JavaScript). The export is exact for float32 up to rounding: the parity tests hold ONNX Runtime within
 * 1e-4 (max abs) of TF.js on every supported layer.
 *
 * Supported layers (anything else is refused with the list): InputLayer, Dense, Conv1D, Conv2D,
 * MaxPooling1D, MaxPooling2D, BatchNormalization (inference form, last axis only: see emitBatchNorm),
 * Activation, Dropout, SpatialDropout1D, Flatten, Reshape, Concatenate, LSTM. Activations (a layer's
 * `activation` or an Activation layer): linear, relu, relu6, elu, selu, sigmoid, hardSigmoid, tanh,
 * softplus, softsign, softmax, logSoftmax, swish, gelu. Shared layers (one layer applied twice) are
 * exported per application. float32 only.
 *
 * Layouts. The ONNX graph's inputs and outputs have exactly the TF.js shapes and layouts (channels-last:
 * NWC for 1-D, NHWC for 2-D; [batch, time, features] for sequences), so callers feed the same arrays to
 * both. Inside, ONNX's Conv/MaxPool/BatchNormalization want channels-first (NCW/NCHW) and its LSTM wants
 * time-major [time, batch, features]. Every graph value therefore records how it relates to the TF.js
 * tensor it stands for: `onnx = transpose(tfjs, perm)`, i.e. onnx.dims[k] = tfjs.dims[perm[k]]. A layer asks
 * for the perm it needs; a Transpose is inserted only when the value is not already in that perm (and each
 * transposed view is made once). So a chain Conv1D → MaxPooling1D → Conv1D stays NCW throughout, and
 * layouts go back to channels-last only where TF.js semantics depend on it: Flatten and Reshape (TF.js
 * flattens NHWC in H, W, C order), Dense (acts on the last TF.js axis), the graph outputs.
 * Elementwise layers (activations, dropout) keep whatever perm their input has; Softmax/LogSoftmax map the
 * TF.js axis −1 through the perm; Concatenate keeps a perm its inputs share and maps its axis.
 *
 * Weights. Dense kernel [in, units] is ONNX MatMul's B as is. Conv1D kernel [k, in, out] becomes ONNX
 * W [out, in, k]; Conv2D kernel [kh, kw, in, out] becomes W [out, in, kh, kw]. 'same' padding follows
 * TF: total = max((ceil(n/s) − 1)·s + (k − 1)·d + 1 − n, 0), the odd one at the end; written as explicit
 * pads when n is static or s = 1, else auto_pad SAME_UPPER (same convention). 'causal' is refused: TF.js
 * 4.22 cannot run it. BatchNormalization maps to ONNX BatchNormalization (epsilon kept), placed on the
 * channel axis 1 of the NCW/NCHW view when a convolution produced it.
 *
 * LSTM. Exported as ONNX's native LSTM op (one fused node; ORT runs it with its optimised kernel), not
 * unrolled. TF.js's LSTMCell computes z = x·kernel + h·recurrentKernel + bias with the 4·units columns in
 * gate order i, f, c, o, then i = σr(z_i), f = σr(z_f), c' = f⊙c + i⊙g(z_c), o = σr(z_o), h = o⊙g(c').
 * ONNX's LSTM stacks gates in order i, o, f, c: W [1, 4H, in], R [1, 4H, H], B [1, 8H] = [Wb, Rb], and
 * `activations` = [f, g, h] = [σr, g, g]. The TF.js default σr is hardSigmoid = max(0, min(1, 0.2x + 0.5)),
 * which is ONNX HardSigmoid with alpha 0.2, beta 0.5 (given as activation_alpha/activation_beta; with the
 * parameterised activation first in the list, the positional and the consumed-in-order readings of the
 * spec agree). TF.js's bias goes to Wb, Rb is zero. Initial states are zero (TF.js's non-stateful
 * default). returnSequences → Y [T, 1, B, H] squeezed to [T, B, H] (a time-major view of TF.js's
 * [B, T, H]); otherwise Y_h [1, B, H] squeezed to [B, H]. goBackwards, stateful, returnState are refused.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { OnnxAttribute } from './onnx-writer.ts';
import { ONNX_IR_VERSION, ONNX_OPSET, OnnxGraphBuilder, encodeOnnxModel } from './onnx-writer.ts';

/** onnx = transpose(tfjs, perm): onnx.dims[k] = tfjs.dims[perm[k]]. */
type Perm = readonly number[];
type TfShape = readonly (number | null)[];

/** ONNX gate k ← TF.js gate LSTM_GATE_ORDER[k] (TF.js: i, f, c, o = 0..3; ONNX: i, o, f, c). */
export const LSTM_GATE_ORDER: readonly number[] = [0, 3, 1, 2];

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv1D',
  'Conv2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'BatchNormalization',
  'Activation',
  'Dropout',
  'SpatialDropout1D',
  'Flatten',
  'Reshape',
  'Concatenate',
  'LSTM',
] as const;

export const SUPPORTED_ACTIVATIONS = [
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

export interface TensorSpec {
  name: string;
  /** TF.js shape, batch first; null = any size. */
  shape: (number | null)[];
  dtype: 'float32';
}

/** The JSON written next to a .onnx file. */
export interface OnnxSidecar {
  format: 'drivesense.onnx-sidecar';
  version: 1;
  opset: number;
  irVersion: number;
  producer: { name: string; tfjsVersion: string };
  /** Always 'tfjs': graph inputs/outputs have the TF.js (channels-last) shapes and layouts. */
  layout: 'tfjs';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  layers: { name: string; className: string }[];
  parameters: number;
  /** Caller-provided: training config, data description, scores. */
  metadata: Record<string, unknown>;
  /** SHA-256 of the .onnx bytes (set by saveOnnxModel). */
  sha256?: string;
  /** An int8 variant written by `drivesense quantize` (onnx-quantize.ts): scheme, source, layers. */
  quantization?: Record<string, unknown>;
}

export interface OnnxExportOptions {
  /** Graph name (default: the model name). */
  graphName?: string;
  /** ModelProto.model_version (default 1). */
  modelVersion?: number;
  docString?: string;
  /** Stored in the sidecar and, JSON-encoded per key, in the ONNX metadata_props. */
  metadata?: Record<string, unknown>;
}

export interface OnnxExport {
  bytes: Uint8Array;
  sidecar: OnnxSidecar;
}

// ---------------------------------------------------------------------------------------------------------
// Typed views of the TF.js layer graph (its classes are loosely typed for our purpose).

interface LayerVariableView {
  originalName: string;
  shape: number[];
  read(): tf.Tensor;
}

interface NodeView {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}

interface LayerView {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  weights: LayerVariableView[];
  inboundNodes: NodeView[];
}

function layerOf(t: tf.SymbolicTensor): LayerView {
  return t.sourceLayer as unknown as LayerView;
}

// ---------------------------------------------------------------------------------------------------------
// Graph values and the emit context.

/** A TF.js tensor in the ONNX graph: its TF.js shape and the ONNX names of its transposed views. */
interface GraphValue {
  tfShape: TfShape;
  /** The perm the value was produced in (first entry of views). */
  home: Perm;
  views: Map<string, string>;
}

function identity(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

/** TF.js channels-last → ONNX channels-first: [0, r−1, 1, …, r−2] (NWC→NCW, NHWC→NCHW). */
function channelsFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

function permKey(perm: Perm): string {
  return perm.join(',');
}

function samePerm(a: Perm, b: Perm): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function makeValue(tfShape: TfShape, perm: Perm, name: string): GraphValue {
  return { tfShape, home: perm, views: new Map([[permKey(perm), name]]) };
}

class Emitter {
  constructor(readonly g: OnnxGraphBuilder) {}

  /** The ONNX name of `value` in layout `perm`, adding (once) the Transpose that makes it. */
  view(value: GraphValue, perm: Perm): string {
    const key = permKey(perm);
    const existing = value.views.get(key);
    if (existing !== undefined) return existing;
    const from = value.home;
    const source = value.views.get(permKey(from)) as string;
    // current.dims[k] = tf.dims[from[k]]; we want out.dims[k] = tf.dims[perm[k]] = current.dims[from⁻¹(perm[k])].
    const p = perm.map((axis) => from.indexOf(axis));
    const name = this.g.addNode1('Transpose', [source], `${source}/T${perm.join('')}`, { perm: { ints: p } });
    value.views.set(key, name);
    return name;
  }

  /** The value in the perm it was produced in. */
  homeView(value: GraphValue): { perm: Perm; name: string } {
    return { perm: value.home, name: this.view(value, value.home) };
  }

  const(hint: string, dims: readonly number[], data: Float32Array): string {
    return this.g.addFloatInitializer(hint, dims, data);
  }

  ints(hint: string, data: readonly number[]): string {
    return this.g.addInt64Initializer(hint, [data.length], data);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Numeric helpers.

/** Row-major transpose of `data` with shape `shape`: out.dims[k] = shape[perm[k]]. */
export function transposeData(data: Float32Array, shape: readonly number[], perm: Perm): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = (inStrides[i + 1] as number) * (shape[i + 1] as number);
  const stridesOut = perm.map((p) => inStrides[p] as number);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += (idx[k] as number) * (stridesOut[k] as number);
    out[o] = data[src] as number;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      if ((idx[k] as number) < (outShape[k] as number)) break;
      idx[k] = 0;
    }
  }
  return out;
}

function numbers(value: unknown, rank: number, what: string): number[] {
  if (typeof value === 'number') return new Array<number>(rank).fill(value);
  if (Array.isArray(value) && value.length === rank && value.every((v) => typeof v === 'number')) {
    return value as number[];
  }
  throw new Error(`${what}: expected ${rank} number(s), got ${JSON.stringify(value)}`);
}

type Padding = 'valid' | 'same';

function paddingOf(config: Record<string, unknown>, layer: string): Padding {
  const p = config['padding'] ?? 'valid';
  if (p === 'valid' || p === 'same') return p;
  if (p === 'causal') {
    // TF.js 4.22 builds such a layer but throws when running it ("CAUSAL padding … not implemented yet").
    throw new Error(`${layer}: 'causal' padding is not supported (TF.js 4.22 cannot run it either)`);
  }
  throw new Error(`${layer}: padding ${JSON.stringify(p)} is not supported`);
}

/**
 * ONNX pads (all begins, then all ends) for TF padding over spatial sizes `sizes` (null = dynamic), or
 * 'SAME_UPPER' when a dynamic size with stride > 1 makes explicit pads impossible.
 */
function onnxPads(
  padding: Padding,
  sizes: readonly (number | null)[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
): number[] | 'SAME_UPPER' {
  const begins: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < kernel.length; i++) {
    const k = kernel[i] as number;
    const s = strides[i] as number;
    const d = dilations[i] as number;
    const n = sizes[i] ?? null;
    const extent = (k - 1) * d + 1;
    if (padding === 'valid') {
      begins.push(0);
      ends.push(0);
    } else {
      let total: number;
      if (n !== null) total = Math.max((Math.ceil(n / s) - 1) * s + extent - n, 0);
      else if (s === 1) total = extent - 1;
      else return 'SAME_UPPER';
      begins.push(Math.floor(total / 2));
      ends.push(total - Math.floor(total / 2));
    }
  }
  return [...begins, ...ends];
}

function padAttributes(pads: number[] | 'SAME_UPPER'): Record<string, OnnxAttribute> {
  return pads === 'SAME_UPPER' ? { auto_pad: { string: 'SAME_UPPER' } } : { pads: { ints: pads } };
}

// ---------------------------------------------------------------------------------------------------------
// Activations.

function activationName(value: unknown, layer: string): string {
  const name = value ?? 'linear';
  if (typeof name !== 'string')
    throw new Error(`${layer}: activation ${JSON.stringify(value)} is not a name`);
  if (!(SUPPORTED_ACTIVATIONS as readonly string[]).includes(name)) {
    throw new Error(
      `${layer}: activation '${name}' is not supported by the ONNX export ` +
        `(supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`,
    );
  }
  return name;
}

/** Applies a TF.js activation to ONNX value `x` in layout `perm` (TF.js axis −1 = last TF.js axis). */
function applyActivation(e: Emitter, activation: string, x: string, perm: Perm, hint: string): string {
  const g = e.g;
  const lastAxis = perm.indexOf(perm.length - 1);
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return g.addNode1('Relu', [x], `${hint}/relu`);
    case 'relu6':
      return g.addNode1(
        'Clip',
        [x, e.const(`${hint}/min`, [], Float32Array.of(0)), e.const(`${hint}/max`, [], Float32Array.of(6))],
        `${hint}/relu6`,
      );
    case 'elu':
      return g.addNode1('Elu', [x], `${hint}/elu`, { alpha: { float: 1 } });
    case 'selu':
      return g.addNode1('Selu', [x], `${hint}/selu`);
    case 'sigmoid':
      return g.addNode1('Sigmoid', [x], `${hint}/sigmoid`);
    case 'hardSigmoid':
      return g.addNode1('HardSigmoid', [x], `${hint}/hardSigmoid`, {
        alpha: { float: 0.2 },
        beta: { float: 0.5 },
      });
    case 'tanh':
      return g.addNode1('Tanh', [x], `${hint}/tanh`);
    case 'softplus':
      return g.addNode1('Softplus', [x], `${hint}/softplus`);
    case 'softsign':
      return g.addNode1('Softsign', [x], `${hint}/softsign`);
    case 'softmax':
      return g.addNode1('Softmax', [x], `${hint}/softmax`, { axis: { int: lastAxis } });
    case 'logSoftmax':
      return g.addNode1('LogSoftmax', [x], `${hint}/logSoftmax`, { axis: { int: lastAxis } });
    case 'swish': {
      // TF.js swish: x · sigmoid(x).
      const s = g.addNode1('Sigmoid', [x], `${hint}/swish_sigmoid`);
      return g.addNode1('Mul', [x, s], `${hint}/swish`);
    }
    case 'gelu': {
      // TF.js gelu (exact form): 0.5 · x · (1 + erf(x / √2)).
      const scaled = g.addNode1(
        'Mul',
        [x, e.const(`${hint}/inv_sqrt2`, [], Float32Array.of(Math.SQRT1_2))],
        `${hint}/gelu_scaled`,
      );
      const erf = g.addNode1('Erf', [scaled], `${hint}/gelu_erf`);
      const onePlus = g.addNode1(
        'Add',
        [erf, e.const(`${hint}/one`, [], Float32Array.of(1))],
        `${hint}/gelu_1p`,
      );
      const half = g.addNode1(
        'Mul',
        [x, e.const(`${hint}/half`, [], Float32Array.of(0.5))],
        `${hint}/gelu_half`,
      );
      return g.addNode1('Mul', [half, onePlus], `${hint}/gelu`);
    }
    default:
      throw new Error(`activation '${activation}' is not supported`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Layer emitters.

interface LayerContext {
  e: Emitter;
  layer: LayerView;
  className: string;
  config: Record<string, unknown>;
  inputs: GraphValue[];
  /** TF.js output shapes of this node. */
  outputShapes: TfShape[];
}

type LayerEmitter = (ctx: LayerContext) => GraphValue[];

function single<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`${what}: expected exactly one, got ${items.length}`);
  return items[0] as T;
}

function weight(ctx: LayerContext, suffix: string): { shape: number[]; data: Float32Array } | undefined {
  const v = ctx.layer.weights.find((w) => w.originalName.split('/').pop() === suffix);
  if (v === undefined) return undefined;
  return { shape: v.shape.slice(), data: v.read().dataSync() as Float32Array };
}

function requiredWeight(ctx: LayerContext, suffix: string): { shape: number[]; data: Float32Array } {
  const w = weight(ctx, suffix);
  if (w === undefined) throw new Error(`${ctx.layer.name}: weight '${suffix}' not found`);
  return w;
}

function hintOf(ctx: LayerContext, what: string): string {
  return `${ctx.layer.name}/${what}`;
}

const emitDense: LayerEmitter = (ctx) => {
  const { e, config } = ctx;
  const x = single(ctx.inputs, ctx.layer.name);
  const rank = x.tfShape.length;
  const kernel = requiredWeight(ctx, 'kernel'); // [in, units]
  let y = e.g.addNode1(
    'MatMul',
    [e.view(x, identity(rank)), e.const(hintOf(ctx, 'kernel'), kernel.shape, kernel.data)],
    hintOf(ctx, 'matmul'),
  );
  if (config['useBias'] !== false) {
    const bias = requiredWeight(ctx, 'bias');
    y = e.g.addNode1('Add', [y, e.const(hintOf(ctx, 'bias'), bias.shape, bias.data)], hintOf(ctx, 'biasadd'));
  }
  const act = activationName(config['activation'], ctx.layer.name);
  const out = applyActivation(e, act, y, identity(rank), ctx.layer.name);
  return [makeValue(single(ctx.outputShapes, ctx.layer.name), identity(rank), out)];
};

/**
 * What convolution and pooling layers share: their input, the permutation to ONNX's channels-first
 * layout (identity when TF.js already holds it channels-first), the padding mode and the spatial sizes.
 */
function spatialInput(ctx: LayerContext, spatial: 1 | 2) {
  const name = ctx.layer.name;
  const x = single(ctx.inputs, name);
  const rank = spatial + 2;
  const cf = ctx.config['dataFormat'] === 'channelsFirst';
  return {
    name,
    x,
    inPerm: cf ? identity(rank) : channelsFirst(rank),
    padding: paddingOf(ctx.config, name),
    sizes: cf ? x.tfShape.slice(2) : x.tfShape.slice(1, 1 + spatial),
  };
}

/** Conv1D (NWC, kernel [k, in, out]) and Conv2D (NHWC or NCHW, kernel [kh, kw, in, out]). */
function emitConv(spatial: 1 | 2): LayerEmitter {
  return (ctx) => {
    const { e, config } = ctx;
    const { name, x, inPerm, padding, sizes } = spatialInput(ctx, spatial);
    const kernelSize = numbers(config['kernelSize'], spatial, `${name} kernelSize`);
    const strides = numbers(config['strides'] ?? 1, spatial, `${name} strides`);
    const dilations = numbers(config['dilationRate'] ?? 1, spatial, `${name} dilationRate`);
    const kernel = requiredWeight(ctx, 'kernel');
    // TF.js [k…, in, out] → ONNX [out, in, k…].
    const wPerm = spatial === 1 ? [2, 1, 0] : [3, 2, 0, 1];
    const wShape = wPerm.map((p) => kernel.shape[p] as number);
    const inputs = [
      e.view(x, inPerm),
      e.const(hintOf(ctx, 'W'), wShape, transposeData(kernel.data, kernel.shape, wPerm)),
    ];
    if (config['useBias'] !== false) {
      const bias = requiredWeight(ctx, 'bias');
      inputs.push(e.const(hintOf(ctx, 'B'), bias.shape, bias.data));
    }
    const y = e.g.addNode1(
      'Conv',
      inputs,
      hintOf(ctx, 'conv'),
      {
        kernel_shape: { ints: kernelSize },
        strides: { ints: strides },
        dilations: { ints: dilations },
        group: { int: 1 },
        ...padAttributes(onnxPads(padding, sizes, kernelSize, strides, dilations)),
      },
      name,
    );
    const out = applyActivation(e, activationName(config['activation'], name), y, inPerm, name);
    return [makeValue(single(ctx.outputShapes, name), inPerm, out)];
  };
}

function emitMaxPool(spatial: 1 | 2): LayerEmitter {
  return (ctx) => {
    const { e, config } = ctx;
    const { name, x, inPerm, padding, sizes } = spatialInput(ctx, spatial);
    const poolSize = numbers(config['poolSize'], spatial, `${name} poolSize`);
    const strides = numbers(config['strides'] ?? poolSize, spatial, `${name} strides`);
    const ones = new Array<number>(spatial).fill(1);
    const y = e.g.addNode1(
      'MaxPool',
      [e.view(x, inPerm)],
      hintOf(ctx, 'maxpool'),
      {
        kernel_shape: { ints: poolSize },
        strides: { ints: strides },
        ...padAttributes(onnxPads(padding, sizes, poolSize, strides, ones)),
      },
      name,
    );
    return [makeValue(single(ctx.outputShapes, name), inPerm, y)];
  };
}

const emitBatchNorm: LayerEmitter = (ctx) => {
  const { e, config } = ctx;
  const name = ctx.layer.name;
  const x = single(ctx.inputs, name);
  const rank = x.tfShape.length;
  const axisCfg = Array.isArray(config['axis'])
    ? single(config['axis'] as unknown[], `${name} axis`)
    : config['axis'];
  const axisRaw = typeof axisCfg === 'number' ? axisCfg : -1;
  const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
  if (axis !== rank - 1) {
    // TF.js 4.22's cpu and wasm FusedBatchNorm kernels index mean/variance/gamma/beta modulo their length,
    // i.e. always along the last axis, whatever `axis` says: such a layer does not compute what its config
    // describes, so there is nothing faithful to export. Use channels-last layouts.
    throw new Error(
      `${name}: BatchNormalization over axis ${axisRaw} of a rank-${rank} input is not supported ` +
        '(TF.js 4.22 cpu/wasm apply it along the last axis regardless); use channels-last and axis -1',
    );
  }
  const channels = x.tfShape[axis];
  if (typeof channels !== 'number') throw new Error(`${name}: the normalised axis needs a static size`);
  // ONNX BatchNormalization normalises axis 1: keep the input's layout if it already has the channel there
  // (e.g. NCHW after a Conv), else move the channel axis there.
  const perm =
    x.home[1] === axis ? x.home : [0, axis, ...identity(rank).filter((a) => a !== 0 && a !== axis)];
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  const gamma = weight(ctx, 'gamma')?.data ?? new Float32Array(channels).fill(1);
  const beta = weight(ctx, 'beta')?.data ?? new Float32Array(channels).fill(0);
  const mean = requiredWeight(ctx, 'moving_mean').data;
  const variance = requiredWeight(ctx, 'moving_variance').data;
  const y = e.g.addNode1(
    'BatchNormalization',
    [
      e.view(x, perm),
      e.const(hintOf(ctx, 'gamma'), [channels], gamma),
      e.const(hintOf(ctx, 'beta'), [channels], beta),
      e.const(hintOf(ctx, 'mean'), [channels], mean),
      e.const(hintOf(ctx, 'var'), [channels], variance),
    ],
    hintOf(ctx, 'bn'),
    { epsilon: { float: epsilon } },
    name,
  );
  return [makeValue(single(ctx.outputShapes, name), perm, y)];
};

const emitActivation: LayerEmitter = (ctx) => {
  const x = single(ctx.inputs, ctx.layer.name);
  const { perm, name } = ctx.e.homeView(x);
  const act = activationName(ctx.config['activation'], ctx.layer.name);
  const y = applyActivation(ctx.e, act, name, perm, ctx.layer.name);
  return [makeValue(single(ctx.outputShapes, ctx.layer.name), perm, y)];
};

/** Dropout and its kin are the identity at inference: the output is the input value itself. */
const emitIdentity: LayerEmitter = (ctx) => [single(ctx.inputs, ctx.layer.name)];

const emitFlatten: LayerEmitter = (ctx) => {
  const x = single(ctx.inputs, ctx.layer.name);
  // TF.js flattens its own (channels-last) layout: bring the value back to it first.
  const y = ctx.e.g.addNode1('Flatten', [ctx.e.view(x, identity(x.tfShape.length))], hintOf(ctx, 'flatten'), {
    axis: { int: 1 },
  });
  return [makeValue(single(ctx.outputShapes, ctx.layer.name), [0, 1], y)];
};

const emitReshape: LayerEmitter = (ctx) => {
  const x = single(ctx.inputs, ctx.layer.name);
  const target = ctx.config['targetShape'];
  // TF.js serialises the inferred dimension (-1) as null.
  if (!Array.isArray(target) || !target.every((v) => typeof v === 'number' || v === null)) {
    throw new Error(`${ctx.layer.name}: bad targetShape ${JSON.stringify(target)}`);
  }
  const dims = (target as (number | null)[]).map((d) => d ?? -1);
  // Leading 0 copies the batch size (ONNX Reshape, allowzero = 0).
  const shape = ctx.e.ints(hintOf(ctx, 'shape'), [0, ...dims]);
  const y = ctx.e.g.addNode1(
    'Reshape',
    [ctx.e.view(x, identity(x.tfShape.length)), shape],
    hintOf(ctx, 'reshape'),
  );
  const outShape = single(ctx.outputShapes, ctx.layer.name);
  return [makeValue(outShape, identity(outShape.length), y)];
};

const emitConcatenate: LayerEmitter = (ctx) => {
  const first = ctx.inputs[0];
  if (first === undefined) throw new Error(`${ctx.layer.name}: no inputs`);
  const rank = first.tfShape.length;
  const axisCfg = typeof ctx.config['axis'] === 'number' ? ctx.config['axis'] : -1;
  const axis = axisCfg < 0 ? axisCfg + rank : axisCfg;
  const shared = ctx.inputs.every((v) => samePerm(v.home, first.home));
  const perm = shared ? first.home : identity(rank);
  const y = ctx.e.g.addNode1(
    'Concat',
    ctx.inputs.map((v) => ctx.e.view(v, perm)),
    hintOf(ctx, 'concat'),
    { axis: { int: perm.indexOf(axis) } },
  );
  return [makeValue(single(ctx.outputShapes, ctx.layer.name), perm, y)];
};

const LSTM_GATE_ACTIVATIONS: Record<string, string> = {
  hardSigmoid: 'HardSigmoid',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  relu: 'Relu',
};
const LSTM_CELL_ACTIVATIONS: Record<string, string> = { tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu' };

/** Reorders the 4 gate blocks along `axis` of a [rows, 4H] TF.js matrix into ONNX's [4H, rows] layout. */
function lstmGateMatrix(data: Float32Array, rows: number, units: number): Float32Array {
  // TF.js: m[r, g*H + u] (gate g in i, f, c, o). ONNX: w[k*H + u, r] with gate k in i, o, f, c.
  const out = new Float32Array(4 * units * rows);
  for (let k = 0; k < 4; k++) {
    const g = LSTM_GATE_ORDER[k] as number;
    for (let u = 0; u < units; u++) {
      for (let r = 0; r < rows; r++) {
        out[(k * units + u) * rows + r] = data[r * 4 * units + g * units + u] as number;
      }
    }
  }
  return out;
}

const emitLstm: LayerEmitter = (ctx) => {
  const { e, config } = ctx;
  const name = ctx.layer.name;
  const x = single(ctx.inputs, name);
  for (const flag of ['goBackwards', 'stateful', 'returnState'] as const) {
    if (config[flag] === true)
      throw new Error(`${name}: LSTM with ${flag} is not supported by the ONNX export`);
  }
  const units = config['units'];
  if (typeof units !== 'number') throw new Error(`${name}: units missing`);
  const recurrent = String(config['recurrentActivation'] ?? 'hardSigmoid');
  const cellAct = String(config['activation'] ?? 'tanh');
  const f = LSTM_GATE_ACTIVATIONS[recurrent];
  const gh = LSTM_CELL_ACTIVATIONS[cellAct];
  if (f === undefined || gh === undefined) {
    throw new Error(
      `${name}: LSTM activations ${recurrent}/${cellAct} are not supported ` +
        `(recurrent: ${Object.keys(LSTM_GATE_ACTIVATIONS).join(', ')}; cell: ${Object.keys(LSTM_CELL_ACTIVATIONS).join(', ')})`,
    );
  }
  const kernel = requiredWeight(ctx, 'kernel'); // [F, 4H]
  const recurrentKernel = requiredWeight(ctx, 'recurrent_kernel'); // [H, 4H]
  const features = kernel.shape[0] as number;
  const W = lstmGateMatrix(kernel.data, features, units);
  const R = lstmGateMatrix(recurrentKernel.data, units, units);
  const B = new Float32Array(8 * units); // [Wb (i, o, f, c), Rb = 0]
  if (config['useBias'] !== false) {
    const bias = requiredWeight(ctx, 'bias').data;
    for (let k = 0; k < 4; k++) {
      const gate = LSTM_GATE_ORDER[k] as number;
      B.set(bias.subarray(gate * units, (gate + 1) * units), k * units);
    }
  }
  const attributes: Record<string, OnnxAttribute> = {
    hidden_size: { int: units },
    direction: { string: 'forward' },
    activations: { strings: [f, gh, gh] },
  };
  if (f === 'HardSigmoid') {
    attributes['activation_alpha'] = { floats: [0.2] };
    attributes['activation_beta'] = { floats: [0.5] };
  }
  const returnSequences = config['returnSequences'] === true;
  const [Y, Yh] = e.g.addNode(
    'LSTM',
    [
      e.view(x, [1, 0, 2]), // [B, T, F] → time-major [T, B, F]
      e.const(hintOf(ctx, 'W'), [1, 4 * units, features], W),
      e.const(hintOf(ctx, 'R'), [1, 4 * units, units], R),
      e.const(hintOf(ctx, 'B'), [1, 8 * units], B),
    ],
    returnSequences ? [hintOf(ctx, 'Y'), ''] : ['', hintOf(ctx, 'Y_h')],
    attributes,
    name,
  );
  const outShape = single(ctx.outputShapes, name);
  if (returnSequences) {
    const y = e.g.addNode1('Squeeze', [Y as string, e.ints(hintOf(ctx, 'axis1'), [1])], hintOf(ctx, 'seq'));
    return [makeValue(outShape, [1, 0, 2], y)]; // [T, B, H] = transpose([B, T, H], [1, 0, 2])
  }
  const h = e.g.addNode1('Squeeze', [Yh as string, e.ints(hintOf(ctx, 'axis0'), [0])], hintOf(ctx, 'h'));
  return [makeValue(outShape, [0, 1], h)];
};

const EMITTERS: Record<string, LayerEmitter> = {
  Dense: emitDense,
  Conv1D: emitConv(1),
  Conv2D: emitConv(2),
  MaxPooling1D: emitMaxPool(1),
  MaxPooling2D: emitMaxPool(2),
  BatchNormalization: emitBatchNorm,
  Activation: emitActivation,
  Dropout: emitIdentity,
  SpatialDropout1D: emitIdentity,
  Flatten: emitFlatten,
  Reshape: emitReshape,
  Concatenate: emitConcatenate,
  LSTM: emitLstm,
};

// ---------------------------------------------------------------------------------------------------------
// The export.

function onnxDims(shape: TfShape, name: string): (number | string)[] {
  return shape.map((d, i) => (d === null ? (i === 0 ? 'batch' : `${name}_dim${i}`) : d));
}

interface GraphNode {
  layer: LayerView;
  node: NodeView;
}

/** Layer-graph nodes from the model's inputs to its outputs, each after the nodes it reads. */
function topologicalNodes(outputs: readonly tf.SymbolicTensor[]): GraphNode[] {
  const order: GraphNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: tf.SymbolicTensor): void => {
    const layer = layerOf(t);
    const key = `${layer.name}#${t.nodeIndex}`;
    const s = state.get(key);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`cycle in the layer graph at ${layer.name}`);
    state.set(key, 'visiting');
    const node = layer.inboundNodes[t.nodeIndex];
    if (node === undefined) throw new Error(`${layer.name}: node ${t.nodeIndex} not found`);
    if (layer.getClassName() !== 'InputLayer') for (const input of node.inputTensors) visit(input);
    state.set(key, 'done');
    order.push({ layer, node });
  };
  for (const t of outputs) visit(t);
  return order;
}

/** Builds the ONNX model and its sidecar for a TF.js LayersModel (float32). */
export function exportToOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): OnnxExport {
  const g = new OnnxGraphBuilder(options.graphName ?? model.name);
  const e = new Emitter(g);
  const values = new Map<number, GraphValue>();

  const inputSpecs: TensorSpec[] = model.inputs.map((t) => ({
    name: layerOf(t).name,
    shape: t.shape.slice(),
    dtype: 'float32',
  }));
  const outputNames = model.outputs.map((t, i) => {
    const n = model.outputNames[i];
    return n !== undefined && n !== '' ? n : layerOf(t).name;
  });
  if (new Set(outputNames).size !== outputNames.length) {
    throw new Error(`output names must be unique: ${outputNames.join(', ')}`);
  }
  for (const n of outputNames) g.reserveName(n); // throws if an output is named like an input
  model.inputs.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new Error(`input ${layerOf(t).name}: only float32 inputs are supported`);
    const spec = inputSpecs[i] as TensorSpec;
    g.addInput(spec.name, onnxDims(spec.shape, spec.name));
    values.set(t.id, makeValue(spec.shape, identity(spec.shape.length), spec.name));
  });

  const layers: { name: string; className: string }[] = [];
  for (const { layer, node } of topologicalNodes(model.outputs)) {
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      for (const t of node.outputTensors) {
        if (!values.has(t.id)) throw new Error(`${layer.name}: an input layer that is not a model input`);
      }
      continue;
    }
    const emit = EMITTERS[className];
    if (emit === undefined) {
      throw new Error(
        `layer ${layer.name} (${className}) is not supported by the ONNX export ` +
          `(supported: ${SUPPORTED_LAYERS.join(', ')})`,
      );
    }
    const inputs = node.inputTensors.map((t) => {
      const v = values.get(t.id);
      if (v === undefined) throw new Error(`${layer.name}: input ${t.name} has not been computed`);
      return v;
    });
    const outs = emit({
      e,
      layer,
      className,
      config: layer.getConfig(),
      inputs,
      outputShapes: node.outputTensors.map((t) => t.shape),
    });
    if (outs.length !== node.outputTensors.length) throw new Error(`${layer.name}: output count mismatch`);
    node.outputTensors.forEach((t, i) => values.set(t.id, outs[i] as GraphValue));
    layers.push({ name: layer.name, className });
  }

  const outputSpecs: TensorSpec[] = model.outputs.map((t, i) => {
    const name = outputNames[i] as string;
    const v = values.get(t.id);
    if (v === undefined) throw new Error(`output ${name} was not computed`);
    g.addNode1('Identity', [e.view(v, identity(t.shape.length))], { exact: name });
    g.addOutput(name, onnxDims(t.shape, name));
    return { name, shape: t.shape.slice(), dtype: 'float32' };
  });

  const metadata = options.metadata ?? {};
  const sidecar: OnnxSidecar = {
    format: 'drivesense.onnx-sidecar',
    version: 1,
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    producer: { name: 'drivesense onnx-export', tfjsVersion: tf.version.tfjs },
    layout: 'tfjs',
    inputs: inputSpecs,
    outputs: outputSpecs,
    layers,
    parameters: model.countParams(),
    metadata,
  };
  const proto = g.build({
    producerName: 'drivesense',
    producerVersion: `onnx-export/1 tfjs/${tf.version.tfjs}`,
    modelVersion: options.modelVersion ?? 1,
    docString: options.docString ?? '',
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, JSON.stringify(v)])),
  });
  return { bytes: encodeOnnxModel(proto), sidecar };
}

/** Writes `data` to `file` atomically: a temp file in the same directory, then rename. */
async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, data, { flush: true });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface SavedOnnxModel {
  onnxPath: string;
  sidecarPath: string;
  sidecar: OnnxSidecar;
}

/** The sidecar path for a model path: `model.onnx` → `model.onnx.json`. */
export function sidecarPathFor(onnxPath: string): string {
  return `${onnxPath}.json`;
}

/**
 * Exports and writes `onnxPath` (.onnx) and its sidecar `onnxPath + '.json'` (config, input/output names and
 * shapes, metadata, SHA-256 of the model bytes). Both are written atomically, the model first.
 */
export async function saveOnnxModel(
  model: tf.LayersModel,
  onnxPath: string,
  options: OnnxExportOptions = {},
): Promise<SavedOnnxModel> {
  const { bytes, sidecar } = exportToOnnx(model, options);
  sidecar.sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(path.dirname(onnxPath), { recursive: true });
  await writeAtomic(onnxPath, bytes);
  const sidecarPath = sidecarPathFor(onnxPath);
  await writeAtomic(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  return { onnxPath, sidecarPath, sidecar };
}
