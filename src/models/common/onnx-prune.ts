/**
 * Keeps only the part of an ONNX graph that the wanted outputs need: the other graph outputs, the nodes that
 * feed nothing but them, and the initializers and value infos only those nodes used are removed.
 *
 * Why: a head nobody reads still costs time and its weights' place in the cache. Measured here (four int8
 * AVDCNN members in turn, one core, docs/performance.md): fetching only `clean` saved about 4 % of the run
 * time, removing the lip head 13–16 %. That head (FC visual and the lip output, about a quarter of the dense
 * weights at the paper's sizes) is a training target only; the live path reads `clean`.
 *
 * The kept outputs come from the same nodes with the same weights in the same order, so they are the
 * unpruned graph's values exactly (test/models/onnx-prune.test.ts). Graph inputs are kept even when no kept
 * node reads them, so the caller's feeds stay valid, except those that name a removed initializer (how
 * models before IR version 4 list their weights). A graph with subgraphs (If, Loop, Scan) is returned
 * unchanged: their bodies may read outer names. Pure: bytes in, bytes out.
 */
import { sweepGraph } from './onnx-graph.ts';
import { decodeOnnxModel, encodeOnnxModel } from './onnx-writer.ts';

export interface PruneResult {
  /** The pruned model (the input itself when nothing was removed). */
  readonly bytes: Uint8Array;
  readonly removedOutputs: readonly string[];
  readonly removedNodes: number;
  readonly removedInitializers: number;
}

/** See the file comment. Throws when `keep` is empty or names an output the graph does not have. */
export function pruneOnnxOutputs(bytes: Uint8Array, keep: readonly string[]): PruneResult {
  if (keep.length === 0) throw new Error('pruning: keep at least one output');
  const model = decodeOnnxModel(bytes);
  const graph = model.graph;
  if (graph === null || graph === undefined) throw new Error('not an ONNX model: no graph');
  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  for (const name of keep)
    if (!outputs.includes(name))
      throw new Error(`pruning: the graph has no output '${name}' (outputs: ${outputs.join(', ')})`);
  const removedOutputs = outputs.filter((o) => !keep.includes(o));
  const nodes = graph.node ?? [];
  const hasSubgraph = nodes.some((n) =>
    (n.attribute ?? []).some((a) => (a.g !== null && a.g !== undefined) || (a.graphs ?? []).length > 0),
  );
  if (removedOutputs.length === 0 || hasSubgraph)
    return { bytes, removedOutputs: [], removedNodes: 0, removedInitializers: 0 };

  const { removedNodes, removedInitializers } = sweepGraph(graph, keep);
  graph.output = (graph.output ?? []).filter((o) => keep.includes(o.name ?? ''));
  return {
    bytes: encodeOnnxModel(model),
    removedOutputs,
    removedNodes,
    removedInitializers,
  };
}
