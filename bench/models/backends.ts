/**
 * Model infrastructure benchmark: TF.js training-step cost on the wasm backend (with the kernels of
 * src/models/common/wasm-kernels.ts) against the cpu backend, for the stress model's Conv1D layers, the
 * AVDCNN's 2-D convolutions, dense layers and a whole stress-sized model; and ONNX Runtime inference latency
 * of the stress-sized model (CPU EP, 1 intra-op thread) next to TF.js wasm `predict`.
 *
 * Method. Each figure is a forward + backward pass (input and filter gradients, as for a hidden layer) of
 * batch 32, after warm-up. Times are CPU time of this process (process.cpuUsage: user + system) per step,
 * because this 2-core machine is shared and wall time measures the neighbours too; wall medians are
 * reported beside them with the load average. Both backends are single-threaded here (Node runs the
 * single-thread wasm build), so CPU time ≈ compute time. Ratios are cpu-backend time / wasm time.
 *
 * Run alone: `node --import tsx bench/models/backends.ts [--quick] [--out FILE]` prints the JSON.
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg, cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import type { TrainingBackendName } from '../../src/models/common/backend.ts';
import { exportToOnnx } from '../../src/models/common/onnx-export.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { median, nearestRank } from '../stats.ts';

type Backend = Extract<TrainingBackendName, 'cpu' | 'wasm'>;

interface Timing {
  /** CPU ms per step (user + system of this process). */
  cpuMs: number;
  /** Median wall ms per step. */
  wallMedianMs: number;
  steps: number;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Runs `step` `warmup` times, then `steps` times, timing each; `step` must block until done. */
function time(step: () => void, steps: number, warmup = 1): Timing {
  for (let i = 0; i < warmup; i++) step();
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    walls.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: round((c.user + c.system) / 1000 / steps), wallMedianMs: round(median(walls)), steps };
}

function normal(shape: readonly number[], rng: SeededRandom): tf.Tensor {
  return tf.tensor(
    rng.floats(
      shape.reduce((a, b) => a * b, 1),
      () => rng.normal(),
    ),
    [...shape],
  );
}

interface OpCase {
  name: string;
  x: number[];
  w: number[];
  f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;
}

const conv1d =
  (pad: 'valid' | 'same') =>
  (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
    tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, pad);
const conv2d =
  (pad: 'valid' | 'same') =>
  (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
    tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad);

/** Batch 32. Stress: a 60 s window at 4 Hz (240 samples). AVDCNN: 257×5 spectra, 16×24 RGB mouths. */
const OPS: OpCase[] = [
  { name: 'stress Conv1D 3→20 k10 (240 samples)', x: [32, 240, 3], w: [10, 3, 20], f: conv1d('same') },
  { name: 'stress Conv1D 20→40 k5 (120 samples)', x: [32, 120, 20], w: [5, 20, 40], f: conv1d('same') },
  { name: 'stress Conv1D 40→80 k3 (60 samples)', x: [32, 60, 40], w: [3, 40, 80], f: conv1d('same') },
  {
    name: 'AVDCNN Conv2D 1→10 12×2 valid (257×5)',
    x: [32, 257, 5, 1],
    w: [12, 2, 1, 10],
    f: conv2d('valid'),
  },
  { name: 'AVDCNN Conv2D 3→12 15×2 same (16×24)', x: [32, 16, 24, 3], w: [15, 2, 3, 12], f: conv2d('same') },
  { name: 'AVDCNN Conv2D 12→10 7×2 same (16×24)', x: [32, 16, 24, 12], w: [7, 2, 12, 10], f: conv2d('same') },
  {
    name: 'Dense 2804→1000 (AVDCNN FC1)',
    x: [32, 2804],
    w: [2804, 1000],
    f: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
  },
  {
    name: 'MatMul 256×512 · 512×512',
    x: [256, 512],
    w: [512, 512],
    f: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
  },
];

async function opStep(backend: Backend, c: OpCase, steps: number): Promise<Timing> {
  await forceTrainingBackend(backend);
  const rng = new SeededRandom(1);
  const x = normal(c.x, rng);
  const w = normal(c.w, rng);
  const grad = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(c.f(a, b)));
  const t = time(
    () =>
      tf.tidy(() => {
        const [dx, dw] = grad([x, w]);
        dx?.dataSync();
        dw?.dataSync();
      }),
    steps,
  );
  tf.dispose([x, w]);
  return t;
}

/** Stress-sized model: three Conv1D branches (20/40/80, k10/5/3, ELU, pool, dropout) → concat → LSTM(64) → 3. */
export function stressSizedModel(windowSamples = 240): tf.LayersModel {
  const inputs = [
    tf.input({ shape: [windowSamples, 3], name: 'cardiac' }),
    tf.input({ shape: [windowSamples, 8], name: 'vehicle' }),
    tf.input({ shape: [windowSamples, 4], name: 'context' }),
  ];
  const branches = inputs.map((x) => {
    let h = x;
    for (const [filters, kernelSize] of [
      [20, 10],
      [40, 5],
      [80, 3],
    ] as const) {
      h = tf.layers
        .conv1d({ filters, kernelSize, padding: 'same', activation: 'elu' })
        .apply(h) as tf.SymbolicTensor;
      h = tf.layers.maxPooling1d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
    }
    return tf.layers.dropout({ rate: 0.3 }).apply(h) as tf.SymbolicTensor;
  });
  const merged = tf.layers.concatenate().apply(branches) as tf.SymbolicTensor;
  const h = tf.layers.lstm({ units: 64 }).apply(merged) as tf.SymbolicTensor;
  const probs = tf.layers
    .dense({ units: 3, activation: 'softmax', name: 'probs' })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: probs, name: 'stress_sized' });
}

async function modelStep(backend: Backend, steps: number): Promise<Timing & { parameters: number }> {
  await forceTrainingBackend(backend);
  const model = stressSizedModel();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const rng = new SeededRandom(2);
  const xs = model.inputs.map((t) => normal([32, ...(t.shape.slice(1) as number[])], rng));
  const ys = tf
    .oneHot(
      tf.tensor1d(
        Array.from({ length: 32 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    )
    .toFloat();
  await model.trainOnBatch(xs, ys); // warm-up (trainOnBatch is async: timed inline, not with time())
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(xs, ys);
    walls.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  const parameters = model.countParams();
  tf.dispose([...xs, ys]);
  model.dispose();
  return {
    cpuMs: round((c.user + c.system) / 1000 / steps),
    wallMedianMs: round(median(walls)),
    steps,
    parameters,
  };
}

async function inferenceLatency(runs: number): Promise<Record<string, unknown>> {
  await forceTrainingBackend('wasm');
  const model = stressSizedModel();
  const { bytes } = exportToOnnx(model);
  const session = await OnnxSession.create(bytes, { executionProviders: ['cpu'], intraOpThreads: 1 });
  const rng = new SeededRandom(3);
  const feeds = Object.fromEntries(
    model.inputs.map((t) => {
      const dims = [1, ...(t.shape.slice(1) as number[])];
      return [
        t.sourceLayer.name,
        {
          data: rng.floats(
            dims.reduce((a, b) => a * b, 1),
            () => rng.normal(),
          ),
          dims,
        },
      ];
    }),
  );
  await session.warmUp(5);
  const onnx: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    onnx.push(performance.now() - t0);
  }
  const onnxCpu = process.cpuUsage(c0);
  await session.release();

  const xs = model.inputs.map((t) => {
    const f = feeds[t.sourceLayer.name] as { data: Float32Array; dims: number[] };
    return tf.tensor(f.data, f.dims);
  });
  const predict = (): void => tf.tidy(() => void (model.predict(xs) as tf.Tensor).dataSync());
  for (let i = 0; i < 5; i++) predict();
  const tfjs: number[] = [];
  const c1 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    predict();
    tfjs.push(performance.now() - t0);
  }
  const tfjsCpu = process.cpuUsage(c1);
  tf.dispose(xs);
  model.dispose();
  const summary = (walls: number[], cpu: NodeJS.CpuUsage): Record<string, number> => {
    const sorted = [...walls].sort((a, b) => a - b);
    return {
      p50Ms: round(nearestRank(sorted, 50) ?? NaN, 3),
      p95Ms: round(nearestRank(sorted, 95) ?? NaN, 3),
      cpuMsPerRun: round((cpu.user + cpu.system) / 1000 / runs, 3),
    };
  };
  return {
    model: 'stress-sized (3 × Conv1D 20/40/80 branches over 240 samples, LSTM 64, 3 classes), batch 1',
    runs,
    onnxRuntimeCpu1Thread: summary(onnx, onnxCpu),
    tfjsWasmPredict: summary(tfjs, tfjsCpu),
  };
}

/** The benchmark: wasm vs cpu training-step timings and ONNX Runtime inference latency. */
export async function benchBackends(options: { quick?: boolean } = {}): Promise<Record<string, unknown>> {
  const quick = options.quick === true;
  const load = loadavg();
  const ops: Record<string, unknown>[] = [];
  for (const c of OPS) {
    const cpu = await opStep('cpu', c, quick ? 1 : 3);
    const wasm = await opStep('wasm', c, quick ? 3 : 15);
    ops.push({ op: c.name, cpu, wasm, speedup: round(cpu.cpuMs / wasm.cpuMs, 1) });
  }
  const modelCpu = await modelStep('cpu', 1);
  const modelWasm = await modelStep('wasm', quick ? 2 : 8);
  const inference = await inferenceLatency(quick ? 50 : 500);
  return {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadAverage1m: round(load[0] ?? 0) },
    method:
      'forward + backward (dx and dW), batch 32, CPU ms per step of this process; ratio = cpu backend / wasm',
    trainingSteps: ops,
    stressSizedModelTrainStep: {
      parameters: modelWasm.parameters,
      cpu: modelCpu,
      wasm: modelWasm,
      speedup: round(modelCpu.cpuMs / modelWasm.cpuMs, 1),
    },
    inference,
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outAt = process.argv.indexOf('--out');
  const result = await benchBackends({ quick: process.argv.includes('--quick') });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (outAt > 0 && process.argv[outAt + 1] !== undefined)
    await writeFile(process.argv[outAt + 1] as string, json);
  process.stdout.write(json);
}
