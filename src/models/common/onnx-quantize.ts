/**
 * Dynamic int8 quantisation of an ONNX model's matrix products, in standard ONNX ops (opset ≥ 11), for the
 * CPU path (docs/models/quantization.md).
 *
 * Each `MatMul` whose second input is a constant 2-D float32 initializer W [K, N] (a dense layer's kernel) is
 * rewritten as
 *
 *     (a_q, a_scale, a_zero) = DynamicQuantizeLinear(A)        the activations, per run: uint8, asymmetric
 *     Y = Cast<float>(MatMulInteger(a_q, W_q, a_zero)) · (a_scale · w_scale)
 *
 * with W_q int8 and one symmetric scale per output column, w_scale[n] = max_k |W[k, n]| / 127 (zero point 0),
 * so Y ≈ A·W. The original output name is kept, so every consumer (the bias `Add`, the graph outputs) is
 * unchanged. The weights shrink four-fold and ONNX Runtime runs the product with integer kernels (it fuses
 * the pattern into one node on the CPU); convolutions, batch norms and everything else stay float32.
 *
 * A quantised model does not meet the fp32 parity bound (1e-4) by construction: DESIGN.md's clarification
 * says it is checked by its change in task metrics instead (docs/models/quantization.md records that check
 * for the speech model). Pure: bytes in, bytes out.
 */
import onnxProto from 'onnx-proto';
import {
  decodeOnnxModel,
  encodeOnnxModel,
  float32LE,
  floatInitializerValues,
  OnnxDataType,
} from './onnx-writer.ts';
import {
  attributeInt,
  graphOf,
  graphReaders,
  initializerNamed,
  soleReader,
  sweepGraph,
} from './onnx-graph.ts';
import type { GraphProto, Readers } from './onnx-graph.ts';

const { onnx } = onnxProto;
type NodeProto = NonNullable<Parameters<typeof onnx.NodeProto.create>[0]>;
type TensorProto = NonNullable<Parameters<typeof onnx.TensorProto.create>[0]>;

/** What the `quantization` record of a sidecar names the scheme. */
export const QUANTIZATION_SCHEME =
  'dynamic int8: MatMul weights int8 symmetric per output column, activations uint8 per run (DynamicQuantizeLinear + MatMulInteger)';

/** Where the int8 variant of a model goes by default: `model.onnx` → `model.int8.onnx`. */
export function quantizedPathFor(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, '.int8.onnx');
}

/** One quantised matrix product. */
export interface QuantizedMatMul {
  /** The MatMul node's name. */
  readonly node: string;
  /** The float weight it replaced. */
  readonly weight: string;
  readonly k: number;
  readonly n: number;
  /** Largest |W − dequantised W| over the matrix (≤ max scale / 2). */
  readonly maxWeightError: number;
}

export interface QuantizeResult {
  readonly bytes: Uint8Array;
  readonly layers: readonly QuantizedMatMul[];
  /** Bytes of the float weights replaced, and of what replaced them (int8 weights + float scales). */
  readonly floatWeightBytes: number;
  readonly quantizedWeightBytes: number;
}

export interface QuantizeOptions {
  /** Matrices with fewer elements stay float32 (default 4096: a small product gains nothing). */
  readonly minElements?: number;
}

/** A column's int8 values and scale: symmetric, per output column (see the file comment). */
export function quantizeColumns(
  w: Float32Array,
  k: number,
  n: number,
): { q: Int8Array; scale: Float32Array; maxError: number } {
  if (!(Number.isInteger(k) && Number.isInteger(n) && k > 0 && n > 0) || w.length !== k * n)
    throw new RangeError(`quantizeColumns: ${w.length} values are not a ${k} × ${n} matrix`);
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(w[i * n + j]!));
    if (!Number.isFinite(max)) throw new RangeError(`quantizeColumns: column ${j} holds a non-finite weight`);
    // An all-zero column quantises to zeros with any scale; 1 keeps the dequantisation finite.
    scale[j] = max > 0 ? max / 127 : 1;
  }
  const q = new Int8Array(k * n);
  let maxError = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) {
      const v = w[i * n + j]!;
      const s = scale[j]!;
      const r = Math.max(-127, Math.min(127, Math.round(v / s)));
      q[i * n + j] = r;
      maxError = Math.max(maxError, Math.abs(v - r * s));
    }
  return { q, scale, maxError };
}

/** See the file comment. Throws when the bytes are not an ONNX model or its default opset is below 11. */
export function quantizeOnnxMatMuls(bytes: Uint8Array, options: QuantizeOptions = {}): QuantizeResult {
  const minElements = options.minElements ?? 4096;
  const model = decodeOnnxModel(bytes);
  const graph = graphOf(model);
  const opset = (model.opsetImport ?? []).find((o) => (o.domain ?? '') === '');
  if (opset === undefined || Number(opset.version) < 11)
    throw new Error(
      `quantisation needs the default ONNX opset ≥ 11 (DynamicQuantizeLinear), got ${String(opset?.version)}`,
    );
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // A weight shared by another node (or a graph output) stays as it is.
  const uses = new Map<string, number>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of graph.output ?? []) uses.set(o.name ?? '', (uses.get(o.name ?? '') ?? 0) + 1);
  const taken = new Set<string>([
    ...initializers.keys(),
    ...(graph.node ?? []).flatMap((n) => [...(n.output ?? []), n.name ?? '']),
    ...(graph.input ?? []).map((i) => i.name ?? ''),
  ]);
  const fresh = (hint: string): string => {
    let name = hint;
    for (let i = 1; taken.has(name); i++) name = `${hint}_${i}`;
    taken.add(name);
    return name;
  };

  const layers: QuantizedMatMul[] = [];
  const removed = new Set<string>();
  const added: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let floatWeightBytes = 0;
  let quantizedWeightBytes = 0;
  for (const node of graph.node ?? []) {
    const [a, b] = node.input ?? [];
    const w = b !== undefined ? initializers.get(b) : undefined;
    const dims = (w?.dims ?? []).map(Number);
    const eligible =
      node.opType === 'MatMul' &&
      (node.domain ?? '') === '' &&
      a !== undefined &&
      w !== undefined &&
      w.dataType === OnnxDataType.FLOAT &&
      dims.length === 2 &&
      dims[0]! * dims[1]! >= minElements &&
      uses.get(b!) === 1 &&
      (node.output ?? []).length === 1;
    if (!eligible) {
      nodes.push(node);
      continue;
    }
    const [k, n] = dims as [number, number];
    const { q, scale, maxError } = quantizeColumns(floatInitializerValues(w), k, n);
    const p = node.name || fresh('matmul');
    const qName = fresh(`${b}/int8`);
    const sName = fresh(`${b}/scale`);
    added.push(
      onnx.TensorProto.create({
        name: qName,
        dims: [k, n],
        dataType: OnnxDataType.INT8,
        rawData: new Uint8Array(q.buffer),
      }),
      onnx.TensorProto.create({
        name: sName,
        dims: [n],
        dataType: OnnxDataType.FLOAT,
        rawData: float32LE(scale),
      }),
    );
    removed.add(b!);
    const aq = fresh(`${p}/a_int8`);
    const as = fresh(`${p}/a_scale`);
    const az = fresh(`${p}/a_zero`);
    const yi = fresh(`${p}/int32`);
    const yf = fresh(`${p}/float`);
    const s = fresh(`${p}/scale`);
    nodes.push(
      onnx.NodeProto.create({
        opType: 'DynamicQuantizeLinear',
        name: fresh(`${p}/quantize`),
        input: [a!],
        output: [aq, as, az],
      }),
      onnx.NodeProto.create({
        opType: 'MatMulInteger',
        name: fresh(`${p}/int8`),
        input: [aq, qName, az],
        output: [yi],
      }),
      onnx.NodeProto.create({
        opType: 'Cast',
        name: fresh(`${p}/cast`),
        input: [yi],
        output: [yf],
        attribute: [
          onnx.AttributeProto.create({
            name: 'to',
            type: onnx.AttributeProto.AttributeType.INT,
            i: OnnxDataType.FLOAT,
          }),
        ],
      }),
      onnx.NodeProto.create({ opType: 'Mul', name: fresh(`${p}/scales`), input: [as, sName], output: [s] }),
      onnx.NodeProto.create({
        opType: 'Mul',
        name: fresh(`${p}/dequantize`),
        input: [yf, s],
        output: [node.output![0]!],
      }),
    );
    layers.push({ node: p, weight: b!, k, n, maxWeightError: maxError });
    floatWeightBytes += k * n * 4;
    quantizedWeightBytes += k * n + n * 4;
  }
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !removed.has(t.name ?? '')), ...added];
  return { bytes: encodeOnnxModel(model), layers, floatWeightBytes, quantizedWeightBytes };
}

/** A product in the quantised form above, found from its DynamicQuantizeLinear (`quantizedProductAt`). */
export interface QuantizedProduct {
  /** A, the float activations quantised per run. */
  readonly input: string;
  /** Y ≈ A·W, the form's output (read by the bias `Add` or whatever read the MatMul). */
  readonly output: string;
  /** The form's five nodes: DynamicQuantizeLinear, MatMulInteger, Cast, the scales' Mul, the dequantising Mul. */
  readonly nodes: readonly NodeProto[];
  /** W_q [k, n] int8 and w_scale [n]. */
  readonly weight: TensorProto;
  readonly scale: TensorProto;
  readonly k: number;
  readonly n: number;
  /** Rows [from, from + count) of W_q · w_scale (all by default): the weights the product stands for. */
  readonly dequantized: (from?: number, count?: number) => Float32Array;
}

/**
 * The quantised product that `quantize` (a DynamicQuantizeLinear) starts, as `quantizeOnnxMatMuls` writes it:
 * MatMulInteger(a_q, W_q, a_zero) with W_q int8 [k, n] in raw_data and no weight zero point, Cast to float,
 * Mul(a_scale, w_scale [n]), Mul of the two. Throws with the first thing that differs.
 */
export function quantizedProductAt(graph: GraphProto, r: Readers, quantize: NodeProto): QuantizedProduct {
  const [aq, as, az] = quantize.output ?? [];
  const input = quantize.input?.[0];
  if (quantize.opType !== 'DynamicQuantizeLinear' || input === undefined || aq === undefined)
    throw new Error(`node ${quantize.name}: a DynamicQuantizeLinear expected`);
  const mm = soleReader(r, aq, ['MatMulInteger']);
  const [a, b, zero, bZero] = mm.input ?? [];
  if (a !== aq || zero !== az || (bZero !== undefined && bZero !== ''))
    throw new Error(
      `MatMulInteger ${mm.name}: the form of onnx-quantize.ts expected (symmetric int8 weight)`,
    );
  const weight = initializerNamed(graph, b);
  const dims = (weight?.dims ?? []).map(Number);
  if (weight === undefined || dims.length !== 2)
    throw new Error(`MatMulInteger ${mm.name}: a 2-D weight expected`);
  const [k, n] = dims as [number, number];
  if (weight.dataType !== OnnxDataType.INT8 || (weight.rawData?.length ?? 0) !== k * n)
    throw new Error(`MatMulInteger ${mm.name}: an int8 weight in raw_data expected`);
  const cast = soleReader(r, mm.output![0]!, ['Cast']);
  if (attributeInt(cast, 'to') !== OnnxDataType.FLOAT)
    throw new Error(`Cast ${cast.name}: to float expected`);
  const dequantize = soleReader(r, cast.output![0]!, ['Mul']);
  const scales = soleReader(r, as!, ['Mul']);
  const scale = initializerNamed(
    graph,
    (scales.input ?? []).find((x) => x !== as),
  );
  if (scale === undefined || (scale.dims ?? []).map(Number).join() !== String(n))
    throw new Error(`Mul ${scales.name}: the weight's ${n} column scales expected`);
  if (!(dequantize.input ?? []).includes(scales.output![0]!))
    throw new Error(`Mul ${dequantize.name}: does not apply the scales of ${scales.name}`);
  const raw = weight.rawData!;
  return {
    input,
    output: dequantize.output![0]!,
    nodes: [quantize, mm, cast, scales, dequantize],
    weight,
    scale,
    k,
    n,
    dequantized: (from = 0, count = k - from) => {
      if (!(from >= 0 && count >= 0 && from + count <= k))
        throw new RangeError(`rows ${from}+${count} of ${k}`);
      const q = new Int8Array(raw.buffer, raw.byteOffset + from * n, count * n);
      const s = floatInitializerValues(scale);
      const out = new Float32Array(count * n);
      for (let i = 0, at = 0; i < count; i++) for (let j = 0; j < n; j++, at++) out[at] = q[at]! * s[j]!;
      return out;
    },
  };
}

/**
 * The float twin of a quantised model: each product of the form above replaced by MatMul(A, W_q · w_scale),
 * the same weights without the activations' quantisation. For checks of a transform of the int8 graph to
 * float rounding (enhancer-onnx.ts); not a model to serve (four times the weight bytes). Pure.
 */
export function dequantizeOnnxMatMuls(bytes: Uint8Array): Uint8Array {
  const model = decodeOnnxModel(bytes);
  const graph = graphOf(model);
  const r = graphReaders(graph);
  const replaced = new Map<NodeProto, NodeProto | null>();
  const added: TensorProto[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'DynamicQuantizeLinear') continue;
    const p = quantizedProductAt(graph, r, node);
    const name = `${p.weight.name ?? 'weight'}/dequantized`;
    added.push(
      onnx.TensorProto.create({
        name,
        dims: [p.k, p.n],
        dataType: OnnxDataType.FLOAT,
        rawData: float32LE(p.dequantized()),
      }),
    );
    p.nodes.forEach((x, i) =>
      replaced.set(
        x,
        i === 0
          ? onnx.NodeProto.create({
              opType: 'MatMul',
              name: `${name}/matmul`,
              input: [p.input, name],
              output: [p.output],
            })
          : null,
      ),
    );
  }
  graph.node = (graph.node ?? []).flatMap((x) => {
    const y = replaced.get(x);
    return y === undefined ? [x] : y === null ? [] : [y];
  });
  graph.initializer = [...(graph.initializer ?? []), ...added];
  sweepGraph(
    graph,
    (graph.output ?? []).map((o) => o.name ?? ''),
  );
  return encodeOnnxModel(model);
}
