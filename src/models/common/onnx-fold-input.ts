/**
 * Folds a graph input that is held at one value into the dense layer that merges it, so that a model run
 * without that input costs only the rest of the graph.
 *
 * Why: AVDCNN's audio-only mode feeds its visual branch zeros (the camera absent, or a member served without
 * it). The branch then computes the same vector for every frame — three convolutions and their batch norms,
 * then its part of FC1's product. On a served int8 member that is about half of a run: 0.40 against
 * 0.20 ms per run of three frames on one core, bare ONNX Runtime sessions (docs/performance.md).
 *
 * What is folded: the *branch* of `input` is every node whose inputs come only from `input`, from initializers
 * or from other branch nodes. Its one value read outside it (the *frontier*) must be an operand of a Concat
 * on the last axis, first or last, whose output feeds one dense layer `y = concat · W + b`, written either
 * as MatMul → Add (float) or as the dynamic int8 form of onnx-quantize.ts (DynamicQuantizeLinear →
 * MatMulInteger → Cast → Mul by the scales → Add). With the frontier's value `v` (one example, the caller
 * evaluates it: see `exposeTensor`), `concat · W = rest · W_rest + v · W_v`, so W loses the rows W_v, the bias
 * becomes `b + v · W_v` (int8: W_v dequantised by its column scales, in double precision), the Concat loses
 * the operand, and the branch, `input` and what only they used go.
 *
 * Exactness: a float graph gives the same values as the unfolded one up to float rounding. An int8 graph
 * quantises its activations per run over the whole merged vector; folded, over the rest only, so its values
 * differ by that quantisation (as close to the float model as the unfolded int8 graph is:
 * test/models/onnx-fold-input.test.ts). Pure: bytes in, bytes out; anything it cannot fold throws with why.
 */
import {
  attributeInt,
  graphOf,
  graphReaders,
  initializerNamed,
  soleReader,
  sweepGraph,
} from './onnx-graph.ts';
import type { GraphProto, NodeProto, Readers, TensorProto } from './onnx-graph.ts';
import { quantizedProductAt } from './onnx-quantize.ts';
import {
  decodeOnnxModel,
  encodeOnnxModel,
  float32LE,
  floatInitializerValues,
  OnnxDataType,
} from './onnx-writer.ts';

export interface FoldResult {
  readonly bytes: Uint8Array;
  /** The dense layer's weight that lost the branch's rows, and how many rows it lost. */
  readonly weight: string;
  readonly rows: number;
  /** Nodes and initializers removed (the branch and what only it used). */
  readonly removedNodes: number;
  readonly removedInitializers: number;
}

/** The branch of `input` and its frontier (see the file comment). */
interface Branch {
  readonly nodes: ReadonlySet<NodeProto>;
  readonly frontier: string;
}

function branchOf(graph: GraphProto, input: string): Branch {
  if (!(graph.input ?? []).some((i) => i.name === input))
    throw new Error(`the graph has no input '${input}'`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inBranch = new Set<string>([input]);
  const nodes = new Set<NodeProto>();
  for (const n of graph.node ?? []) {
    if ((n.attribute ?? []).some((a) => (a.g ?? null) !== null || (a.graphs ?? []).length > 0))
      throw new Error(`node ${n.name ?? n.opType}: subgraphs are not folded`);
    const ins = (n.input ?? []).filter((x) => x !== '');
    if (ins.some((x) => inBranch.has(x)) && ins.every((x) => inBranch.has(x) || initializers.has(x))) {
      nodes.add(n);
      for (const o of n.output ?? []) inBranch.add(o);
    }
  }
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const frontier = new Set<string>();
  for (const n of graph.node ?? [])
    if (!nodes.has(n)) for (const x of n.input ?? []) if (inBranch.has(x)) frontier.add(x);
  for (const o of outputs)
    if (inBranch.has(o)) throw new Error(`the graph output '${o}' depends on '${input}' alone`);
  if (frontier.size !== 1)
    throw new Error(
      `'${input}' reaches the rest of the graph through ${frontier.size} values (${[...frontier].join(', ')}), ` +
        'one expected',
    );
  const [f] = frontier;
  if (f === input) throw new Error(`'${input}' is read directly by a node that also reads other inputs`);
  return { nodes, frontier: f! };
}

/**
 * The model with the frontier of `input`'s branch as an extra graph output, so that a runtime can evaluate
 * it once (the value to give `foldConstantInput`), and that frontier's name.
 */
export function exposeTensor(bytes: Uint8Array, input: string): { bytes: Uint8Array; name: string } {
  const model = decodeOnnxModel(bytes);
  const graph = graphOf(model);
  const { frontier } = branchOf(graph, input);
  graph.output = [
    ...(graph.output ?? []),
    { name: frontier, type: { tensorType: { elemType: OnnxDataType.FLOAT } } },
  ];
  return { bytes: encodeOnnxModel(model), name: frontier };
}

/** The dense layer a merged value feeds: its weight (float or int8 with column scales) and bias. */
interface Dense {
  readonly weight: TensorProto;
  /** Rows [from, from + count) of the weight, row-major (int8: dequantised by its column scales). */
  readonly rows: (from: number, count: number) => Float32Array;
  readonly k: number;
  readonly n: number;
  readonly bias: TensorProto;
  /** The node whose input is the merged value (MatMul or DynamicQuantizeLinear). */
  readonly entry: NodeProto;
}

function matrix(t: TensorProto | undefined, what: string): { k: number; n: number } {
  const dims = (t?.dims ?? []).map(Number);
  if (t === undefined || dims.length !== 2) throw new Error(`${what}: a 2-D initializer expected`);
  return { k: dims[0]!, n: dims[1]! };
}

function denseAfter(graph: GraphProto, r: Readers, merged: string): Dense {
  const entry = soleReader(r, merged, ['MatMul', 'DynamicQuantizeLinear']);
  let product: string;
  let weight: TensorProto;
  let rows: Dense['rows'];
  let k: number;
  let n: number;
  if (entry.opType === 'MatMul') {
    if (entry.input?.[0] !== merged)
      throw new Error(`MatMul ${entry.name}: the merged value must be its left operand`);
    const w = initializerNamed(graph, entry.input[1]);
    ({ k, n } = matrix(w, `MatMul ${entry.name}'s weight`));
    if (w!.dataType !== OnnxDataType.FLOAT)
      throw new Error(`MatMul ${entry.name}: a float32 weight expected`);
    weight = w!;
    rows = (from, count) => floatInitializerValues(w!).subarray(from * n, (from + count) * n);
    product = entry.output![0]!;
  } else {
    const q = quantizedProductAt(graph, r, entry);
    ({ k, n, weight } = q);
    rows = q.dequantized;
    product = q.output;
  }
  const add = soleReader(r, product, ['Add']);
  const bias = initializerNamed(
    graph,
    (add.input ?? []).find((x) => x !== product),
  );
  if (
    bias === undefined ||
    (bias.dims ?? []).map(Number).join() !== String(n) ||
    bias.dataType !== OnnxDataType.FLOAT
  )
    throw new Error(`Add ${add.name}: a float32 bias of ${n} values expected`);
  if ((r.get(bias.name ?? '') ?? []).length !== 1 || (r.get(weight.name ?? '') ?? []).length !== 1)
    throw new Error('the dense layer shares its weight or bias with another node');
  return { weight, rows, k, n, bias, entry };
}

/** Removes rows [from, from + count) of a k × n initializer (float32, or int8 in raw_data), in place. */
function dropRows(t: TensorProto, k: number, n: number, from: number, count: number): void {
  const float = t.dataType === OnnxDataType.FLOAT;
  const raw = float ? float32LE(floatInitializerValues(t)) : t.rawData!;
  const rowBytes = n * (float ? 4 : 1);
  const out = new Uint8Array((k - count) * rowBytes);
  out.set(raw.subarray(0, from * rowBytes), 0);
  out.set(raw.subarray((from + count) * rowBytes, k * rowBytes), from * rowBytes);
  t.rawData = out;
  t.floatData = [];
  t.dims = [k - count, n];
}

/** The frontier's value for one example, with its dimensions as the runtime gave them ([1, len]). */
export interface FrontierValue {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * Folds `input`, held at the value that makes its branch's frontier `value` (one example, as a runtime
 * evaluates `exposeTensor`'s extra output), into the dense layer after the Concat (see the file comment).
 * The value's width cannot be checked against the graph here (shapes are not inferred): a caller checks the
 * folded graph's values (enhancer-onnx.ts does, on the float twin).
 */
export function foldConstantInput(bytes: Uint8Array, input: string, value: FrontierValue): FoldResult {
  const model = decodeOnnxModel(bytes);
  const graph = graphOf(model);
  const branch = branchOf(graph, input);
  const nodesBefore = (graph.node ?? []).length;
  const r = graphReaders(graph);
  const concat = soleReader(r, branch.frontier, ['Concat']);
  const axis = attributeInt(concat, 'axis');
  const operands = concat.input ?? [];
  const at = operands.indexOf(branch.frontier);
  if (operands.length < 2 || operands.lastIndexOf(branch.frontier) !== at)
    throw new Error(`Concat ${concat.name}: the frontier must be one of several operands`);
  if (at !== 0 && at !== operands.length - 1)
    throw new Error(`Concat ${concat.name}: the frontier must be the first or last operand`);
  const merged = concat.output![0]!;
  const dense = denseAfter(graph, r, merged);
  if (axis !== -1 && axis !== 1)
    throw new Error(`Concat ${concat.name}: axis ${String(axis)}, the last of 2-D values expected`);
  const len = value.data.length;
  if (value.dims.length !== 2 || value.dims[0] !== 1 || value.dims[1] !== len)
    throw new Error(`the frontier value is [${value.dims.join(', ')}] with ${len} values, [1, n] expected`);
  if (!(len > 0 && len < dense.k))
    throw new Error(`the frontier has ${len} values per example; the weight has ${dense.k} rows`);
  for (const v of value.data) if (!Number.isFinite(v)) throw new Error('the frontier value is not finite');
  const from = at === 0 ? 0 : dense.k - len;

  // b + v · W_v, in double precision.
  const bias = Float64Array.from(floatInitializerValues(dense.bias));
  const w = dense.rows(from, len);
  for (let i = 0; i < len; i++) {
    const vi = value.data[i]!;
    if (vi === 0) continue;
    const row = i * dense.n;
    for (let j = 0; j < dense.n; j++) bias[j] = bias[j]! + vi * w[row + j]!;
  }
  dense.bias.rawData = float32LE(Float32Array.from(bias));
  dense.bias.floatData = [];
  dropRows(dense.weight, dense.k, dense.n, from, len);

  // The Concat without the frontier; with one operand left, the dense layer reads it directly.
  const rest = operands.filter((_, i) => i !== at);
  if (rest.length === 1) {
    dense.entry.input = (dense.entry.input ?? []).map((x) => (x === merged ? rest[0]! : x));
    graph.node = (graph.node ?? []).filter((n) => n !== concat);
  } else concat.input = rest;
  graph.node = (graph.node ?? []).filter((n) => !branch.nodes.has(n));
  graph.input = (graph.input ?? []).filter((i) => i.name !== input);
  // Shapes recorded for the values whose width changed go (an IR < 4 graph lists the weight as an input:
  // its shape is updated, as such a graph must list it).
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== merged && v.name !== dense.weight.name);
  for (const i of graph.input ?? [])
    if (
      i.name === dense.weight.name &&
      i.type?.tensorType?.shape !== undefined &&
      i.type.tensorType.shape !== null
    )
      i.type.tensorType.shape = { dim: [{ dimValue: dense.k - len }, { dimValue: dense.n }] };
  const swept = sweepGraph(
    graph,
    (graph.output ?? []).map((o) => o.name ?? ''),
  );
  return {
    bytes: encodeOnnxModel(model),
    weight: dense.weight.name ?? '',
    rows: len,
    removedNodes: nodesBefore - (graph.node ?? []).length,
    removedInitializers: swept.removedInitializers,
  };
}
