/**
 * Queries and in-place edits of a decoded ONNX graph shared by the graph transforms (onnx-prune.ts,
 * onnx-quantize.ts, onnx-fold-input.ts): who reads a value, the one reader a pattern needs, an initializer
 * by name, and the sweep of what no kept value needs.
 */
import type { decodeOnnxModel } from './onnx-writer.ts';

export type GraphProto = NonNullable<ReturnType<typeof decodeOnnxModel>['graph']>;
export type NodeProto = NonNullable<GraphProto['node']>[number];
export type TensorProto = NonNullable<GraphProto['initializer']>[number];

/** The model's graph; throws when it has none or no nodes. */
export function graphOf(model: ReturnType<typeof decodeOnnxModel>): GraphProto {
  const graph = model.graph;
  if (graph === null || graph === undefined || (graph.node ?? []).length === 0)
    throw new Error('not an ONNX model: no graph nodes');
  return graph;
}

/** Readers of each value in the graph: nodes, once per input that names it, and graph outputs as `null`. */
export type Readers = ReadonlyMap<string, readonly (NodeProto | null)[]>;

export function graphReaders(graph: GraphProto): Readers {
  const r = new Map<string, (NodeProto | null)[]>();
  const add = (name: string, n: NodeProto | null): void => {
    const list = r.get(name);
    if (list === undefined) r.set(name, [n]);
    else list.push(n);
  };
  for (const n of graph.node ?? []) for (const x of n.input ?? []) if (x !== '') add(x, n);
  for (const o of graph.output ?? []) add(o.name ?? '', null);
  return r;
}

/**
 * The one node of the default domain reading `name` (once, and nothing else reading it), of one of the op
 * types `ops`; throws with what reads it otherwise.
 */
export function soleReader(r: Readers, name: string, ops: readonly string[]): NodeProto {
  const list = r.get(name) ?? [];
  const n = list[0];
  if (list.length !== 1 || n === null || n === undefined || !ops.includes(n.opType ?? ''))
    throw new Error(
      `'${name}' must feed one ${ops.join(' or ')} alone; it feeds ` +
        (list.map((x) => x?.opType ?? 'a graph output').join(', ') || 'nothing'),
    );
  if ((n.domain ?? '') !== '') throw new Error(`node ${n.name ?? n.opType}: not in the default ONNX domain`);
  return n;
}

/** An integer attribute of a node (undefined when absent). */
export function attributeInt(n: NodeProto, name: string): number | undefined {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a === undefined ? undefined : Number(a.i);
}

/** The initializer named `name`, if any. */
export function initializerNamed(graph: GraphProto, name: string | undefined): TensorProto | undefined {
  return name === undefined ? undefined : (graph.initializer ?? []).find((t) => t.name === name);
}

/**
 * Removes, in place, the nodes that feed none of the tensors `keep` names, the initializers and value infos
 * no kept node reads, and (IR < 4) the graph inputs that name a removed initializer. Counts what went.
 */
export function sweepGraph(
  graph: GraphProto,
  keep: readonly string[],
): { removedNodes: number; removedInitializers: number } {
  const nodes = graph.node ?? [];
  // ONNX nodes are in topological order: walking back from the kept tensors finds every producer needed.
  const needed = new Set<string>(keep);
  const kept = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    kept[i] = true;
    for (const x of n.input ?? []) if (x !== '') needed.add(x);
  }
  const initializers = graph.initializer ?? [];
  graph.node = nodes.filter((_, i) => kept[i]);
  graph.initializer = initializers.filter((t) => needed.has(t.name ?? ''));
  // Before IR version 4 every initializer was also a graph input: a removed one goes from both.
  const dropped = new Set(initializers.filter((t) => !needed.has(t.name ?? '')).map((t) => t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name ?? ''));
  return {
    removedNodes: nodes.length - graph.node.length,
    removedInitializers: initializers.length - graph.initializer.length,
  };
}
