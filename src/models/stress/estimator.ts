/**
 * Stress estimates from the committed ONNX model: the adapter between the input builder and ONNX Runtime,
 * shared by the pipeline operator and `eval stress` (so evaluation runs exactly what the car runs).
 *
 * The model file is `<name>.onnx` with its sidecar `<name>.onnx.json`, whose `metadata.stress` holds the
 * window set-up, the statistics normaliser and the training record (StressModelMeta). Loading checks that
 * the graph's inputs match the window set-up.
 *
 * Confidence (heuristic, fixed in advance): (1 − H(p) / ln 3) × coverage, where H is the entropy of the
 * probabilities and coverage the SOURCE_WEIGHTS-weighted share of sources in use over the sequence
 * (inputs.ts). A dropped sensor lowers the coverage, so it lowers the confidence, never the pipeline's health.
 */
import { readFile } from 'node:fs/promises';
import type { OnnxSessionConfig } from '../common/onnx-session.ts';
import { OnnxSession } from '../common/onnx-session.ts';
import { sidecarPathFor } from '../common/onnx-export.ts';
import { isJsonObject, numberListError, shown } from '../common/json.ts';
import type { StatsNormaliser } from './dataset.ts';
import { prepareStats } from './dataset.ts';
import type { FaultReason, SourceUse, StressInput, StressSource, StressWindowConfig } from './inputs.ts';
import {
  DEFAULT_STRESS_WINDOWS,
  N_STATS,
  STRESS_SOURCES,
  inputShapes,
  validateWindowConfig,
} from './inputs.ts';
import { STRESS_INPUT_NAMES } from './model.ts';
import type { StressHyperparameters } from './model.ts';
import { STRESS_LEVELS } from './records.ts';
import type { StressLevel } from './records.ts';

export interface StressModelMeta {
  readonly format: 'drivesense.stress-model';
  readonly version: 1;
  readonly id: string;
  readonly windows: StressWindowConfig;
  readonly hyper: StressHyperparameters;
  readonly normaliser: StatsNormaliser;
  /** Sources the model was trained without (never fed). */
  readonly disabled: readonly StressSource[];
  readonly training: Readonly<Record<string, unknown>>;
  readonly scores: Readonly<Record<string, unknown>>;
}

export interface StressResult {
  /** Event time of the estimate (s, the builder's time base). */
  readonly tS: number;
  readonly level: StressLevel;
  readonly probabilities: readonly [number, number, number];
  readonly confidence: number;
  readonly sources: Readonly<Record<StressSource, SourceUse>>;
  readonly faults: readonly { readonly source: StressSource; readonly reason: FaultReason }[];
}

export function confidenceOf(p: readonly number[], coverage: number): number {
  let h = 0;
  for (const v of p) if (v > 0) h -= v * Math.log(v);
  const c = (1 - h / Math.log(3)) * coverage;
  return Math.max(0, Math.min(1, c));
}

export function resultOf(input: StressInput, p: ArrayLike<number>): StressResult {
  const probabilities: [number, number, number] = [p[0]!, p[1]!, p[2]!];
  let best = 0;
  for (let k = 1; k < 3; k++) if (probabilities[k]! > probabilities[best]!) best = k;
  return {
    tS: input.tS,
    level: STRESS_LEVELS[best]!,
    probabilities,
    confidence: confidenceOf(probabilities, input.coverage),
    sources: input.sources,
    faults: input.faults,
  };
}

/**
 * Checks a parsed sidecar of the stress model `onnxPath` and returns its metadata. Any JSON value may come in:
 * the errors name the sidecar and the field. The window set-up (bounded), the statistics normaliser (one finite
 * mean and a positive sd per statistic), the disabled sources and the records (`id`, `hyper`, `training`,
 * `scores`) are what the estimator, the operator and `eval stress` read.
 */
export function parseStressSidecar(raw: unknown, onnxPath: string): StressModelMeta {
  const where = sidecarPathFor(onnxPath);
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  const metadata = isJsonObject(raw) ? raw['metadata'] : undefined;
  const m = isJsonObject(metadata) ? metadata['stress'] : undefined;
  if (!isJsonObject(m) || m['format'] !== 'drivesense.stress-model')
    return fail('the sidecar has no stress model metadata (metadata.stress)');
  if (m['version'] !== 1) fail(`version ${shown(m['version'])} is not 1`);
  if (typeof m['id'] !== 'string' || m['id'] === '') fail(`id ${shown(m['id'])} must be a non-empty string`);
  const w = m['windows'];
  if (!isJsonObject(w)) return fail(`windows ${shown(w)} must be an object`);
  for (const k of Object.keys(DEFAULT_STRESS_WINDOWS))
    if (typeof w[k] !== 'number' || !Number.isFinite(w[k]))
      fail(`windows.${k} ${shown(w[k])} must be a finite number`);
  try {
    validateWindowConfig(w as unknown as StressWindowConfig);
  } catch (e) {
    fail(`windows: ${(e as Error).message}`);
  }
  const n = m['normaliser'];
  if (!isJsonObject(n)) return fail(`normaliser ${shown(n)} must be an object`);
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const why =
    numberListError('normaliser.mean', n['mean'], N_STATS, finite, 'a finite number') ??
    numberListError(
      'normaliser.sd',
      n['sd'],
      N_STATS,
      (x) => finite(x) && (x as number) > 0,
      'a finite number > 0',
    );
  if (why !== undefined) fail(why);
  const d = m['disabled'];
  if (!(Array.isArray(d) && d.every((x) => (STRESS_SOURCES as readonly unknown[]).includes(x))))
    fail(`disabled ${shown(d)} must be a list of sources (${STRESS_SOURCES.join(', ')}), [] for none`);
  for (const k of ['hyper', 'training', 'scores'] as const)
    if (!isJsonObject(m[k])) fail(`${k} ${shown(m[k])} must be an object`);
  return m as unknown as StressModelMeta;
}

/** Reads and checks the stress model's sidecar (`parseStressSidecar`). */
export async function readStressModelMeta(onnxPath: string): Promise<StressModelMeta> {
  const where = sidecarPathFor(onnxPath);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(where, 'utf8'));
  } catch (e) {
    throw new Error(`${where}: cannot read the model's sidecar (${(e as Error).message})`, { cause: e });
  }
  return parseStressSidecar(raw, onnxPath);
}

export class StressEstimator {
  private constructor(
    readonly session: OnnxSession,
    readonly meta: StressModelMeta,
  ) {}

  static async load(onnxPath: string, config: OnnxSessionConfig = {}): Promise<StressEstimator> {
    const meta = await readStressModelMeta(onnxPath);
    const session = await OnnxSession.create(onnxPath, config);
    const shapes = inputShapes(meta.windows);
    for (const name of STRESS_INPUT_NAMES) {
      const info = session.inputs.find((i) => i.name === name);
      const want = shapes[name];
      if (!info || info.dims.length !== want.length + 1 || want.some((d, k) => info.dims[k + 1] !== d))
        throw new Error(`${onnxPath}: input '${name}' does not match the window set-up [${want}]`);
    }
    return new StressEstimator(session, meta);
  }

  /** Estimates for a batch of inputs (one ONNX run). Inputs are not modified. */
  async estimateBatch(inputs: readonly StressInput[]): Promise<StressResult[]> {
    if (inputs.length === 0) return [];
    const shapes = inputShapes(this.meta.windows);
    const n = inputs.length;
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const name of STRESS_INPUT_NAMES) {
      const size = shapes[name].reduce((a, b) => a * b, 1);
      const data = new Float32Array(n * size);
      inputs.forEach((x, i) => {
        if (name === 'stats') {
          const stats = Float32Array.from(x.stats);
          prepareStats({ stats, flags: x.flags }, this.meta.normaliser, this.meta.windows.sequenceLength);
          data.set(stats, i * size);
        } else data.set(x[name], i * size);
      });
      feeds[name] = { data, dims: [n, ...shapes[name]] };
    }
    const out = await this.session.run(feeds);
    const y = Object.values(out)[0]!.data;
    return inputs.map((x, i) => resultOf(x, y.subarray(i * 3, i * 3 + 3)));
  }

  async estimate(input: StressInput): Promise<StressResult> {
    return (await this.estimateBatch([input]))[0]!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
