/**
 * TensorFlow.js backend selection for training (inference runs on ONNX Runtime, see onnx-session.ts).
 *
 * Order of preference, each tried only if the previous one is unavailable:
 *
 * 1. `tensorflow` — libtensorflow through `@tensorflow/tfjs-node-gpu` (CUDA) or `@tensorflow/tfjs-node`.
 *    Neither is a dependency (both download libtensorflow at install); they are detected by dynamic import,
 *    so a workstation that installed one gets it with no code change.
 * 2. `wasm` — `@tensorflow/tfjs-backend-wasm` with XNNPACK. The .wasm binary is read from the package
 *    directory inside node_modules (nothing is fetched at run time). In Node, TF.js 4.22 does not enable
 *    wasm threads (its WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node), so it loads the single-thread
 *    SIMD binary; the thread count is still set explicitly and the count actually in use is reported.
 *    On selection, the kernels wasm lacks (Conv2DBackpropFilter, …) or gets wrong (MaxPoolGrad) are
 *    registered, with faster paths for the convolution input gradient and transposed products; see
 *    wasm-kernels.ts.
 * 3. `cpu` — the plain-JavaScript reference backend: always there, slow.
 *
 * Lifecycle: one backend per process at a time (TF.js's engine is global). `selectTrainingBackend` may be
 * called again (tests switch between wasm and cpu); tensors created on one backend move lazily to another.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';

export type TrainingBackendName = 'tensorflow' | 'wasm' | 'cpu';
export const TRAINING_BACKENDS: readonly TrainingBackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The npm packages that provide the `tensorflow` backend, most capable first. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface BackendAttempt {
  backend: TrainingBackendName;
  /** Why this backend was not used. */
  reason: string;
}

export interface BackendSelection {
  /** The backend TF.js now runs on. */
  backend: TrainingBackendName;
  /** One sentence: which backend runs and why. */
  reason: string;
  /** Backends tried before it, with the reason each was skipped. */
  skipped: BackendAttempt[];
  /** `tensorflow` only: the package that provided it. */
  package?: string;
  /**
   * `wasm` only: XNNPACK threads in use and as configured (fixed by the first initialisation in the
   * process), the binary loaded, and its directory.
   */
  wasm?: { threads: number; requestedThreads: number; simd: boolean; binary: string; directory: string };
  /** `wasm` only: kernels this selection registered or replaced (empty when already done). */
  registeredKernels?: string[];
}

export interface SelectBackendOptions {
  /** `auto` (the default) tries tensorflow, wasm, cpu in that order; a name forces that backend or throws. */
  prefer?: TrainingBackendName | 'auto';
  /** XNNPACK thread count for wasm (default 1: see the module comment; Node runs wasm single-threaded). */
  wasmThreads?: number;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /**
   * Module loader for the tfjs-node packages (default: dynamic `import`). Tests inject one to simulate a
   * machine with or without libtensorflow.
   */
  importModule?: (specifier: string) => Promise<unknown>;
}

const require = createRequire(import.meta.url);

/** Directory holding the wasm binaries of @tensorflow/tfjs-backend-wasm, with a trailing separator. */
export function wasmBinaryDirectory(): string {
  const simd = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm');
  return path.dirname(simd) + path.sep;
}

/** The wasm configuration of this process (set once, before the backend's first initialisation). */
let wasmConfigured: { threads: number } | undefined;

function configureWasm(threads: number): void {
  // setWasmPaths/setThreadsCount only take effect before the backend's first initialisation; TF.js throws
  // from setWasmPaths after a failed one, so configure exactly once per process.
  if (wasmConfigured !== undefined) return;
  const dir = wasmBinaryDirectory();
  for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
    if (!existsSync(dir + file)) throw new Error(`wasm binary missing: ${dir + file}`);
  }
  tfWasm.setWasmPaths(dir);
  tfWasm.setThreadsCount(threads);
  wasmConfigured = { threads };
}

async function tryTensorflow(
  importModule: (specifier: string) => Promise<unknown>,
): Promise<{ ok: true; package: string; notes: string[] } | { ok: false; reason: string }> {
  const failures: string[] = [];
  for (const pkg of TFJS_NODE_PACKAGES) {
    try {
      await importModule(pkg);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      failures.push(
        code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
          ? `${pkg} not installed`
          : `${pkg} failed to load: ${(err as Error).message.split('\n')[0]}`,
      );
      continue;
    }
    // Importing the package registers the `tensorflow` backend with the engine it shares with
    // @tensorflow/tfjs (same tfjs-core). A version mismatch gives it a separate engine: say so.
    if (tf.findBackendFactory('tensorflow') === null) {
      failures.push(`${pkg} loaded but did not register a 'tensorflow' backend with this @tensorflow/tfjs`);
      continue;
    }
    if (await tf.setBackend('tensorflow')) return { ok: true, package: pkg, notes: failures };
    failures.push(`${pkg}: the 'tensorflow' backend failed to initialise`);
  }
  return { ok: false, reason: failures.join('; ') };
}

async function tryWasm(
  threads: number,
): Promise<{ ok: true; registered: string[] } | { ok: false; reason: string }> {
  try {
    configureWasm(threads);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const registered = registerWasmTrainingKernels();
  try {
    if (await tf.setBackend('wasm')) return { ok: true, registered };
    return { ok: false, reason: "the 'wasm' backend failed to initialise" };
  } catch (err) {
    return { ok: false, reason: `the 'wasm' backend failed to initialise: ${(err as Error).message}` };
  }
}

async function wasmDetails(): Promise<NonNullable<BackendSelection['wasm']>> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threaded = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  const binary = simd
    ? threaded
      ? 'tfjs-backend-wasm-threaded-simd.wasm'
      : 'tfjs-backend-wasm-simd.wasm'
    : 'tfjs-backend-wasm.wasm';
  return {
    threads: tfWasm.getThreadsCount(),
    requestedThreads: wasmConfigured?.threads ?? 1,
    simd,
    binary,
    directory: wasmBinaryDirectory(),
  };
}

/**
 * Selects the TF.js training backend (see the module comment for the order) and makes it current.
 * With `prefer` set to a backend name, that backend is used or this throws with the reason.
 */
export async function selectTrainingBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const prefer = options.prefer ?? 'auto';
  const threads = options.wasmThreads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`wasmThreads must be ≥ 1, got ${threads}`);
  const importModule = options.importModule ?? ((specifier: string) => import(specifier));
  const log = options.log ?? (() => undefined);
  const order: readonly TrainingBackendName[] = prefer === 'auto' ? TRAINING_BACKENDS : [prefer];
  const skipped: BackendAttempt[] = [];

  for (const name of order) {
    const forced = prefer !== 'auto' ? ' (forced)' : '';
    if (name === 'tensorflow') {
      const r = await tryTensorflow(importModule);
      if (r.ok) {
        const selection: BackendSelection = {
          backend: 'tensorflow',
          reason:
            `tensorflow backend${forced}: ${r.package} (libtensorflow) is installed` +
            (r.notes.length > 0 ? ` (${r.notes.join('; ')})` : ''),
          skipped,
          package: r.package,
        };
        log(selection.reason);
        return selection;
      }
      skipped.push({ backend: 'tensorflow', reason: r.reason });
    } else if (name === 'wasm') {
      const r = await tryWasm(threads);
      if (r.ok) {
        const details = await wasmDetails();
        const why = skipped.length > 0 ? ` because ${skipped.map((s) => s.reason).join('; ')}` : '';
        const single =
          details.threads < details.requestedThreads
            ? '; TF.js loads the single-thread build under Node'
            : '';
        const selection: BackendSelection = {
          backend: 'wasm',
          reason:
            `wasm backend${forced} (${details.binary}, ${details.threads} XNNPACK thread(s) of ` +
            `${details.requestedThreads} requested${single})${why}`,
          skipped,
          wasm: details,
          registeredKernels: r.registered,
        };
        log(selection.reason);
        return selection;
      }
      skipped.push({ backend: 'wasm', reason: r.reason });
    } else {
      if (await tf.setBackend('cpu')) {
        const why = skipped.length > 0 ? ` because ${skipped.map((s) => s.reason).join('; ')}` : '';
        const selection: BackendSelection = {
          backend: 'cpu',
          reason: `cpu backend${forced} (pure JavaScript, slow)${why}`,
          skipped,
        };
        log(selection.reason);
        return selection;
      }
      skipped.push({ backend: 'cpu', reason: "the 'cpu' backend failed to initialise" });
    }
  }
  throw new Error(
    `no TF.js backend available: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}

/** Forces one backend (tests, benchmarks); throws if it cannot run here. */
export function forceTrainingBackend(
  backend: TrainingBackendName,
  options: Omit<SelectBackendOptions, 'prefer'> = {},
): Promise<BackendSelection> {
  return selectTrainingBackend({ ...options, prefer: backend });
}

/** The backend TF.js currently runs on, as one of the training backend names (or TF.js's own name). */
export function currentTrainingBackend(): string {
  return tf.getBackend();
}
