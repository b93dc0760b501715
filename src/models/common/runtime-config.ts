/**
 * Config schema fragments for the model runtime, in the style of src/config/schema.ts (zod, defaults,
 * descriptions for the generated docs), ready to be mounted there (e.g. under `models`): the schema file
 * stays the single source of truth, these only define the shape. Parsed values are accepted as they are by
 * OnnxSession.create and selectTrainingBackend.
 */
import { z } from 'zod';
import type { SelectBackendOptions, TrainingBackendName } from './backend.ts';
import type { ExecutionProvider, GraphOptimizationLevel, OnnxSessionConfig } from './onnx-session.ts';

const PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const satisfies readonly ExecutionProvider[];
const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const satisfies readonly (
  TrainingBackendName | 'auto'
)[];
const OPTIMIZATION = [
  'disabled',
  'basic',
  'extended',
  'all',
] as const satisfies readonly GraphOptimizationLevel[];

export const inferenceRuntimeSchema = z
  .object({
    executionProviders: z
      .array(z.enum(PROVIDERS))
      .min(1)
      .default(['cpu'])
      .describe(
        'ONNX Runtime execution providers in order of preference (tensorrt, cuda, cpu); the first that loads runs the model',
      ),
    fallbackToCpu: z
      .boolean()
      .default(true)
      .describe('Run on CPU when no listed provider can load (its reason is logged); false: fail instead'),
    intraOpThreads: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('Threads inside one ONNX Runtime operator (budgets are per core)'),
    interOpThreads: z.number().int().min(1).default(1).describe('Threads across independent operators'),
    graphOptimizationLevel: z.enum(OPTIMIZATION).default('all').describe('ONNX Runtime graph optimisations'),
    deviceId: z.number().int().min(0).default(0).describe('GPU for cuda/tensorrt'),
    warmupRuns: z.number().int().min(0).default(1).describe('Inference runs on zeros at start-up'),
  })
  .strict()
  .prefault({});

export const trainingBackendSchema = z
  .object({
    backend: z
      .enum(BACKENDS)
      .default('auto')
      .describe(
        'TF.js backend for training: auto = tensorflow (tfjs-node[-gpu]) if installed, else wasm, else cpu',
      ),
    wasmThreads: z.number().int().min(1).default(1).describe('XNNPACK threads for the wasm backend'),
  })
  .strict()
  .prefault({});

export type InferenceRuntimeConfig = z.infer<typeof inferenceRuntimeSchema>;
export type TrainingBackendConfig = z.infer<typeof trainingBackendSchema>;

/** Session options from the parsed config (plus a logger). */
export function onnxSessionOptions(
  config: InferenceRuntimeConfig,
  log?: (message: string) => void,
): OnnxSessionConfig {
  return { ...config, ...(log !== undefined ? { log } : {}) };
}

/** Backend-selection options from the parsed config (plus a logger). */
export function trainingBackendOptions(
  config: TrainingBackendConfig,
  log?: (message: string) => void,
): SelectBackendOptions {
  return { prefer: config.backend, wasmThreads: config.wasmThreads, ...(log !== undefined ? { log } : {}) };
}
