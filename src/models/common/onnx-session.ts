/**
 * A thin adapter around onnxruntime-node for the models' inference: execution providers from config with an
 * explicit fallback, thread counts, warm-up, and typed float32 run(inputs) → outputs.
 *
 * Providers. The config lists providers in order of preference (`tensorrt`, `cuda`, `cpu`); the first one
 * that loads runs the whole model (ORT would otherwise place unsupported nodes on CPU silently; here the
 * choice is one provider and it is reported). ORT throws when a GPU provider's libraries are missing
 * (`OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library`), also when CPU is listed
 * after it, so each provider is tried in its own session creation: a failure is caught, recorded in
 * `attempts` with its reason, and the next provider is tried. The npm package ships the CUDA/TensorRT
 * provider libraries only when installed with `onnxruntime-node-install=cuda12` (the project's .npmrc skips
 * them), so their presence next to the binding is checked first: that gives a clear reason and spares the
 * native error log. `cpu` is appended as the last resort unless `fallbackToCpu` is false.
 *
 * Threads. `intraOpThreads` defaults to 1: the budgets are stated per core and the pipeline runs other
 * stages beside the model. `interOpThreads` defaults to 1 (sequential execution).
 *
 * Lifecycle: create → (warmUp) → run… → release. `run` may be called concurrently; ORT serialises per
 * session as needed. Tensors are float32 in the TF.js layouts recorded in the model's sidecar.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type ExecutionProvider = 'tensorrt' | 'cuda' | 'cpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['tensorrt', 'cuda', 'cpu'];

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface OnnxSessionConfig {
  /** Providers in order of preference (default ['cpu']). */
  executionProviders?: readonly ExecutionProvider[];
  /** Try CPU when every listed provider failed (default true); false makes that an error. */
  fallbackToCpu?: boolean;
  /** Threads inside one operator (default 1). */
  intraOpThreads?: number;
  /** Threads across independent operators (default 1). */
  interOpThreads?: number;
  /** ORT graph optimisations (default 'all'). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** GPU device for cuda/tensorrt (default 0). */
  deviceId?: number;
  /** Warm-up runs done by create() (default 0; call warmUp() to choose shapes). */
  warmupRuns?: number;
  /** Progress and fallback messages (default: none). */
  log?: (message: string) => void;
}

/** A float32 tensor: row-major data and its dimensions. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

/**
 * Largest |a[i] − b[i]| of two runs' values (a parity or fold check); NaN when either holds a NaN, so that a
 * check `diff <= tolerance` fails on it. Throws when the lengths differ.
 */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface ProviderAttempt {
  provider: ExecutionProvider;
  error: string;
}

export interface TensorInfo {
  name: string;
  /** Dimensions; strings are symbolic (e.g. 'batch'). */
  dims: readonly (number | string)[];
}

const require = createRequire(import.meta.url);

/** Directory of the onnxruntime-node native binding for this platform (where provider libraries live). */
export function ortBindingDirectory(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const PROVIDER_LIBRARIES: Record<Exclude<ExecutionProvider, 'cpu'>, string[]> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'],
};

/** Why `provider` cannot load here, or null when it may (its libraries are present, or it is cpu). */
export function providerUnavailableReason(provider: ExecutionProvider): string | null {
  if (provider === 'cpu') return null;
  if (process.platform !== 'linux') return null; // let ORT decide (Windows DLL names differ)
  const dir = ortBindingDirectory();
  const missing = PROVIDER_LIBRARIES[provider].filter((lib) => !existsSync(path.join(dir, lib)));
  if (missing.length === 0) return null;
  return (
    `${missing.join(', ')} not found in ${dir} (onnxruntime-node installed without GPU providers; ` +
    `reinstall with onnxruntime-node-install=cuda12 on a CUDA host)`
  );
}

function providerOption(
  provider: ExecutionProvider,
  deviceId: number,
): ort.InferenceSession.ExecutionProviderConfig {
  if (provider === 'cpu') return 'cpu';
  return { name: provider, deviceId };
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${what} must be an integer ≥ 1, got ${value}`);
  return value;
}

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The provider that runs the model. */
    readonly provider: ExecutionProvider,
    /** Providers tried before it and why each failed. */
    readonly attempts: readonly ProviderAttempt[],
    readonly intraOpThreads: number,
    readonly inputs: readonly TensorInfo[],
    readonly outputs: readonly TensorInfo[],
  ) {}

  /** Loads a model (path to .onnx or its bytes) on the first provider that works. */
  static async create(model: string | Uint8Array, config: OnnxSessionConfig = {}): Promise<OnnxSession> {
    const log = config.log ?? (() => undefined);
    const wanted = config.executionProviders ?? ['cpu'];
    if (wanted.length === 0) throw new Error('executionProviders is empty');
    for (const p of wanted) {
      if (!EXECUTION_PROVIDERS.includes(p)) throw new Error(`unknown execution provider '${String(p)}'`);
    }
    const order = [...wanted];
    if (config.fallbackToCpu !== false && !order.includes('cpu')) order.push('cpu');
    const intraOpThreads = positiveInt(config.intraOpThreads ?? 1, 'intraOpThreads');
    const interOpThreads = positiveInt(config.interOpThreads ?? 1, 'interOpThreads');
    const attempts: ProviderAttempt[] = [];

    for (const provider of order) {
      const unavailable = providerUnavailableReason(provider);
      if (unavailable !== null) {
        attempts.push({ provider, error: unavailable });
        log(`onnx: ${provider} unavailable: ${unavailable}`);
        continue;
      }
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [providerOption(provider, config.deviceId ?? 0)],
        intraOpNumThreads: intraOpThreads,
        interOpNumThreads: interOpThreads,
        executionMode: 'sequential',
        graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
      };
      let session: ort.InferenceSession;
      try {
        // Two calls because ORT's overloads take a path or bytes, not their union.
        session =
          typeof model === 'string'
            ? await ort.InferenceSession.create(model, options)
            : await ort.InferenceSession.create(model, options);
      } catch (err) {
        const error = (err as Error).message.split('\n')[0] ?? String(err);
        attempts.push({ provider, error });
        log(`onnx: ${provider} failed: ${error}`);
        continue;
      }
      const describe = (m: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] =>
        m.map((v) => ({ name: v.name, dims: v.isTensor ? [...v.shape] : [] }));
      const s = new OnnxSession(
        session,
        provider,
        attempts,
        intraOpThreads,
        describe(session.inputMetadata),
        describe(session.outputMetadata),
      );
      log(`onnx: ${s.describe()}`);
      if ((config.warmupRuns ?? 0) > 0) await s.warmUp(config.warmupRuns);
      return s;
    }
    throw new Error(
      `no execution provider could load the model: ${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')}`,
    );
  }

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /** One line: which provider runs, with how many threads, and what failed before it. */
  describe(): string {
    const fallbacks = this.attempts.map((a) => `${a.provider} unavailable: ${a.error}`).join('; ');
    return (
      `ONNX Runtime ${ort.env.versions.common ?? '?'} on ${this.provider}, ${this.intraOpThreads} intra-op ` +
      `thread(s)${fallbacks ? ` (${fallbacks})` : ''}`
    );
  }

  /**
   * Runs the model `runs` times on zeros, symbolic dimensions set from `dims` by name (default 1), to
   * allocate buffers and let providers build their plans before the first real input.
   */
  async warmUp(runs = 1, dims: Readonly<Record<string, number>> = {}): Promise<void> {
    const feeds: Record<string, FloatTensor> = {};
    for (const input of this.inputs) {
      const shape = input.dims.map((d) => (typeof d === 'number' ? d : (dims[d] ?? 1)));
      feeds[input.name] = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), dims: shape };
    }
    for (let i = 0; i < runs; i++) await this.run(feeds);
  }

  /** Runs the model. Every input must be given; outputs are returned by name (all of them). */
  async run(inputs: Readonly<Record<string, FloatTensor>>): Promise<Record<string, FloatTensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const info of this.inputs) {
      const t = inputs[info.name];
      if (t === undefined)
        throw new Error(`missing input '${info.name}' (inputs: ${this.inputNames.join(', ')})`);
      if (t.dims.length !== info.dims.length) {
        throw new Error(`input '${info.name}': rank ${t.dims.length}, the model wants [${info.dims}]`);
      }
      info.dims.forEach((d, k) => {
        if (typeof d === 'number' && d !== t.dims[k]) {
          throw new Error(`input '${info.name}': dims [${t.dims}], the model wants [${info.dims}]`);
        }
      });
      const size = t.dims.reduce((a, b) => a * b, 1);
      if (size !== t.data.length) {
        throw new Error(`input '${info.name}': ${t.data.length} values for dims [${t.dims}]`);
      }
      feeds[info.name] = new ort.Tensor('float32', t.data, t.dims);
    }
    for (const name of Object.keys(inputs)) {
      if (!this.inputNames.includes(name)) throw new Error(`unknown input '${name}'`);
    }
    const results = await this.session.run(feeds);
    const out: Record<string, FloatTensor> = {};
    for (const name of this.outputNames) {
      const r = results[name];
      if (r === undefined) throw new Error(`output '${name}' missing from the run`);
      if (r.type !== 'float32' || !(r.data instanceof Float32Array)) {
        throw new Error(`output '${name}' is ${r.type}, expected float32`);
      }
      out[name] = { data: r.data, dims: [...r.dims] };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
