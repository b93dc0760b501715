/**
 * A small, typed builder for ONNX models on top of the `onnx-proto` protobuf definitions (ONNX 1.10 schema,
 * IR version 8). It knows nothing about TF.js: onnx-export.ts maps layers onto it.
 *
 * Conventions:
 * - Opset: the default ONNX domain at {@link ONNX_OPSET} (13: per-axis Softmax, Squeeze/Unsqueeze/Split take
 *   axes as inputs, Clip takes min/max as inputs). IR version {@link ONNX_IR_VERSION}.
 * - Initializers are stored as little-endian `raw_data` (float32 and int64), independent of host order.
 * - Every value name is unique in the graph (SSA); {@link OnnxGraphBuilder.uniqueName} makes names from hints.
 * - Symbolic dimensions (the batch, a variable time axis) are written as `dim_param` strings.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type OnnxModelProto = InstanceType<typeof onnx.ModelProto>;
type INodeProto = NonNullable<Parameters<typeof onnx.NodeProto.create>[0]>;
type IAttributeProto = NonNullable<Parameters<typeof onnx.AttributeProto.create>[0]>;
type ITensorProto = NonNullable<Parameters<typeof onnx.TensorProto.create>[0]>;
type IValueInfoProto = NonNullable<Parameters<typeof onnx.ValueInfoProto.create>[0]>;

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;

/** ONNX TensorProto.DataType codes used here. */
export const OnnxDataType = { FLOAT: 1, INT8: 3, INT64: 7 } as const;

/** A node attribute, tagged by its ONNX type. */
export type OnnxAttribute =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { strings: readonly string[] };

/** A node output: a name hint, an exact (reserved) name, or '' for an omitted optional output. */
export type OutputSpec = string | { exact: string };

/** A dimension: a size, or a symbolic name (`dim_param`) for sizes known only at run time. */
export type OnnxDim = number | string;

const encoder = new TextEncoder();

function attributeProto(name: string, value: OnnxAttribute): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) {
    if (!Number.isSafeInteger(value.int))
      throw new Error(`attribute ${name}: ${value.int} is not an integer`);
    return { name, type: T.INT, i: value.int };
  }
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('string' in value) return { name, type: T.STRING, s: encoder.encode(value.string) };
  if ('ints' in value) {
    for (const v of value.ints) {
      if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer`);
    }
    return { name, type: T.INTS, ints: [...value.ints] };
  }
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRINGS, strings: value.strings.map((s) => encoder.encode(s)) };
}

/** float32 values as little-endian bytes (an initializer's `raw_data`), independent of host order. */
export function float32LE(data: Float32Array): Uint8Array {
  // A copy of the memory on a little-endian host (all the targets); value by value otherwise.
  if (LITTLE_ENDIAN_HOST)
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  return out;
}

/** Whether this host stores numbers little-endian (typed arrays use the host's order). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The float32 values of an initializer (raw_data little-endian or float_data). */
export function floatInitializerValues(t: ITensorProto): Float32Array {
  const count = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
  const raw = t.rawData;
  if (raw !== undefined && raw !== null && raw.length > 0) {
    if (raw.length !== count * 4)
      throw new Error(`initializer ${t.name}: ${raw.length} bytes for ${count} float32 values`);
    if (LITTLE_ENDIAN_HOST) {
      const copy = new Uint8Array(raw.length); // aligned, and not a view of the model's bytes
      copy.set(raw);
      return new Float32Array(copy.buffer);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  }
  const data = t.floatData ?? [];
  if (data.length !== count) throw new Error(`initializer ${t.name}: ${data.length} values for ${count}`);
  return Float32Array.from(data);
}

function int64LE(data: readonly number[]): Uint8Array {
  const out = new Uint8Array(data.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isSafeInteger(v)) throw new Error(`int64 initializer: ${v} is not an integer`);
    view.setBigInt64(i * 8, BigInt(v), true);
  }
  return out;
}

function valueInfo(name: string, dims: readonly OnnxDim[], elemType: number): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface OnnxModelInfo {
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Integer model version (ModelProto.model_version). */
  modelVersion?: number;
  /** Free-form string metadata (ModelProto.metadata_props). */
  metadata?: Readonly<Record<string, string>>;
}

/** Accumulates nodes, initializers, inputs and outputs of one graph; {@link build} makes the ModelProto. */
export class OnnxGraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly used = new Set<string>();

  constructor(readonly graphName: string) {}

  /** A graph-unique name from a hint (characters outside [A-Za-z0-9_./:-] become '_'). */
  uniqueName(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (graph inputs/outputs); throws if taken. */
  reserveName(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX value name '${name}' is used twice`);
    this.used.add(name);
    return name;
  }

  /** A float32 initializer [dims] in row-major order; returns its name. */
  addFloatInitializer(hint: string, dims: readonly number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length)
      throw new Error(`initializer ${hint}: ${data.length} values for dims [${dims}]`);
    const name = this.uniqueName(hint);
    this.initializers.push({ name, dims: [...dims], dataType: OnnxDataType.FLOAT, rawData: float32LE(data) });
    return name;
  }

  /** An int64 initializer (shapes, axes, perms); returns its name. */
  addInt64Initializer(hint: string, dims: readonly number[], data: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length)
      throw new Error(`initializer ${hint}: ${data.length} values for dims [${dims}]`);
    const name = this.uniqueName(hint);
    this.initializers.push({ name, dims: [...dims], dataType: OnnxDataType.INT64, rawData: int64LE(data) });
    return name;
  }

  /**
   * Adds a node. Each output is a name hint made unique here, `{ exact }` for a reserved exact name (graph
   * outputs), or '' for an omitted optional output. Pass '' as an input for an omitted optional input.
   * Returns the output names ('' for omitted ones).
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly OutputSpec[],
    attributes: Readonly<Record<string, OnnxAttribute>> = {},
    docString?: string,
  ): string[] {
    const names = outputs.map((o) =>
      typeof o === 'string' ? (o === '' ? '' : this.uniqueName(o)) : o.exact,
    );
    const first = names.find((n) => n !== '') ?? opType;
    this.nodes.push({
      opType,
      name: this.uniqueName(`${first}/${opType}`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
      ...(docString !== undefined ? { docString } : {}),
    });
    return names;
  }

  /** Like {@link addNode} with exactly one output; returns its name. */
  addNode1(
    opType: string,
    inputs: readonly string[],
    output: OutputSpec,
    attributes: Readonly<Record<string, OnnxAttribute>> = {},
    docString?: string,
  ): string {
    return this.addNode(opType, inputs, [output], attributes, docString)[0] as string;
  }

  /** Declares a float32 graph input with an exact name. */
  addInput(name: string, dims: readonly OnnxDim[]): string {
    this.reserveName(name);
    this.inputs.push(valueInfo(name, dims, OnnxDataType.FLOAT));
    return name;
  }

  /** Declares a float32 graph output; `name` must be produced by a node (or be an input). */
  addOutput(name: string, dims: readonly OnnxDim[]): void {
    this.outputs.push(valueInfo(name, dims, OnnxDataType.FLOAT));
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  build(info: OnnxModelInfo): OnnxModelProto {
    return onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: info.producerName,
      producerVersion: info.producerVersion,
      modelVersion: info.modelVersion ?? 1,
      docString: info.docString ?? '',
      metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

/** Serialises a ModelProto to the bytes of a .onnx file. */
export function encodeOnnxModel(model: OnnxModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Parses the bytes of a .onnx file; bytes that are not one get "not an ONNX model (…why)". */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model (${(e as Error).message})`, { cause: e });
  }
}

export interface OnnxModelSummary {
  irVersion: number;
  opset: number;
  producer: string;
  /** Node count per op type. */
  ops: Record<string, number>;
  inputs: string[];
  outputs: string[];
  initializers: number;
  metadata: Record<string, string>;
}

/** What a .onnx file contains, for tests and tooling. */
export function summarizeOnnxModel(bytes: Uint8Array): OnnxModelSummary {
  const m = decodeOnnxModel(bytes);
  const ops: Record<string, number> = {};
  for (const n of m.graph?.node ?? []) ops[n.opType ?? '?'] = (ops[n.opType ?? '?'] ?? 0) + 1;
  const opset = (m.opsetImport ?? []).find((o) => (o.domain ?? '') === '');
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    irVersion: Number(m.irVersion),
    opset: Number(opset?.version ?? 0),
    producer: `${m.producerName ?? ''} ${m.producerVersion ?? ''}`.trim(),
    ops,
    inputs: (m.graph?.input ?? []).map((i) => i.name ?? ''),
    outputs: (m.graph?.output ?? []).map((o) => o.name ?? ''),
    initializers: (m.graph?.initializer ?? []).length,
    metadata,
  };
}
