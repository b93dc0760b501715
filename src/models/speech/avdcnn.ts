/**
 * AVDCNN, the audio-visual deep convolutional speech enhancer of Hou et al. (IEEE TETCI 2(2), 2018, Table I),
 * as a TF.js functional LayersModel for training and ONNX export (docs/models/speech.md, section "Model").
 *
 * Inputs (channels-last, so every BatchNormalization normalises the last axis and the project's ONNX exporter
 * takes the model as is):
 * - `audio` [batch, F, 257, C]: F = 5 context frames (time) × 257 log-power bins (frequency), oldest frame
 *   first; C = 1 (the paper), 2 with the noise-aware input (`audioChannels`: the a posteriori SNR as a
 *   second channel, values interleaved per bin) or 3 with its a priori SNR as a third. This is exactly the frame-major order of `stackContext`/`speechFeatures` (row r = frame t − past + r),
 *   so the front end's Float32Array is the tensor's data with no transpose. The paper writes its kernels as
 *   frequency × time (12×2, pool 2×1, 5×1); here they are applied as time × frequency ([2, 12], [1, 2], [1, 5]),
 *   which is the same convolution on the transposed map.
 * - `visual` [batch, 16, 24, F]: the mouth crops (height 16 × width 24, gray, [0, 1]) of the same F frames,
 *   stacked as channels, oldest first. The camera side concatenates frames ([F][16][24]); `visualInputFromFrames`
 *   moves the frame axis last.
 * - `context` in the config only records how the caller stacked the frames: 'symmetric' (the paper: t−2…t+2,
 *   40 ms look-ahead) or 'causal' (live: t−4…t). The tensors have the same shapes; the targets are the
 *   "current" frame: the centre (index 2) or the newest (index 4), see `currentFrameIndex`.
 *
 * Layers (paper defaults; linear activations, stride 1, batch norm after every convolution):
 * - audio: Conv [2 time × 12 freq] (10) → BN → MaxPool [1 × 2 freq] → Conv [1 × 5 freq] (4) → BN, unpadded:
 *   5×257 → 4×246 → 4×123 → 4×119 × 4 channels = 1904 values (the paper's audio part).
 * - visual: Conv 15×2 (12) → BN → Conv 7×2 (10) → BN → Conv 3×2 (6) → BN, kernels height × width over the
 *   16×24 mouth with the frames as input channels, 'same' padding: 16×24×6 = 2304 values. Why: unpadded
 *   15 + 7 + 3-tall kernels need a mouth at least 23 pixels tall (16 cannot take them); 'same' keeps the
 *   paper's kernel sizes and the full 16×24 resolution the lip output has to reconstruct; stacking frames as
 *   channels keeps the model 2-D (no Conv3D, which neither the exporter nor TF.js wasm training covers well).
 *   `visualPadding: 'valid'` with kernels that fit (e.g. transposed, 2×15 / 2×7 / 2×3 → 13×2×6 = 156) is
 *   available for smaller models.
 * - merged: flatten both, concatenate: 1904 + 2304 = 4208 with the defaults (the paper states 2804, which its
 *   stated shapes do not reproduce; DESIGN.md).
 * - FC1 1000 sigmoid → dropout 0.1 → FC2 800 sigmoid → dropout 0.1, then two heads from FC2:
 *   FC_a3 600 linear → `clean` 257 (clean log power of the current frame, linear) and
 *   FC_v3 1500 linear → `lip` 384 (the current mouth frame, 16×24 row-major = the camera's gray layout).
 *
 * Loss: MSE(audio) + μ·MSE(video), μ = 1 (`videoLossWeight`); the video term can be weighted per example
 * (0 where the visual input was zeroed, see `zeroVisual`). Optimiser: RMSprop, learning rate 1e-4
 * (`createAvdcnnOptimizer`).
 *
 * Visual-absent training: the trainer zeroes the whole visual input of a fraction of the examples
 * (`visualAbsentProbability`, default 0.25, fixed in advance) with `zeroVisual`, which is exactly what the
 * camera side feeds the model when there is no camera (frame-align.ts: missing frames are zeros), and drops
 * those examples' lip term (their lips cannot be known from zeros). The same model then serves audio-only.
 *
 * Threading/lifecycle: pure functions over typed arrays plus TF.js calls on the current backend (see
 * backend.ts); tensors created here are disposed here unless returned.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../common/rng.ts';

export type AvdcnnContext = 'symmetric' | 'causal';

export interface AudioConvSpec {
  readonly filters: number;
  /** Kernel extent along time (context frames). */
  readonly time: number;
  /** Kernel extent along frequency (bins). */
  readonly freq: number;
}

export interface VisualConvSpec {
  readonly filters: number;
  /** Kernel extent along the mouth's height (16 pixels by default). */
  readonly height: number;
  /** Kernel extent along the mouth's width (24 pixels by default). */
  readonly width: number;
}

export interface AvdcnnConfig {
  /** How the caller stacked the context frames (recorded; the shapes do not depend on it). */
  readonly context: AvdcnnContext;
  /** Context frames per input (paper: 5). */
  readonly contextFrames: number;
  /** Log-power bins per frame (257 for a 512-point FFT). */
  readonly bins: number;
  /**
   * Audio input channels per bin: 1 (the paper: normalised noisy ln power), 2 (noise-aware: the same and
   * the normalised a posteriori SNR over the tracked noise floor, noise-floor.ts) or 3 (+ the normalised
   * ln a priori SNR, prior-snr.ts).
   */
  readonly audioChannels: number;
  /** Mouth crop size (camera features: 16 × 24 gray). */
  readonly mouthHeight: number;
  readonly mouthWidth: number;
  /** Audio branch: conv1 → max-pool → conv2, unpadded. */
  readonly audioConv1: AudioConvSpec;
  readonly audioPool: { readonly time: number; readonly freq: number };
  readonly audioConv2: AudioConvSpec;
  /** Visual branch: convolutions in order, frames as input channels. */
  readonly visualConv: readonly VisualConvSpec[];
  readonly visualPadding: 'same' | 'valid';
  readonly fc1Units: number;
  readonly fc2Units: number;
  readonly fcAudioUnits: number;
  readonly fcVisualUnits: number;
  /** Dropout after FC1 and after FC2. */
  readonly dropout: number;
  /** BatchNormalization epsilon (TF.js/Keras default 1e-3) and momentum (0.99). */
  readonly batchNormEpsilon: number;
  readonly batchNormMomentum: number;
  /** μ in MSE(audio) + μ·MSE(video). */
  readonly videoLossWeight: number;
  /** RMSprop learning rate. */
  readonly learningRate: number;
  /** Training: probability that an example's whole visual input is zeroed (camera absent). */
  readonly visualAbsentProbability: number;
}

/** The paper's set-up (Table I) with the layout and padding choices of the file comment. */
export const AVDCNN_DEFAULTS: AvdcnnConfig = {
  context: 'symmetric',
  contextFrames: 5,
  bins: 257,
  audioChannels: 1,
  mouthHeight: 16,
  mouthWidth: 24,
  audioConv1: { filters: 10, time: 2, freq: 12 },
  audioPool: { time: 1, freq: 2 },
  audioConv2: { filters: 4, time: 1, freq: 5 },
  visualConv: [
    { filters: 12, height: 15, width: 2 },
    { filters: 10, height: 7, width: 2 },
    { filters: 6, height: 3, width: 2 },
  ],
  visualPadding: 'same',
  fc1Units: 1000,
  fc2Units: 800,
  fcAudioUnits: 600,
  fcVisualUnits: 1500,
  dropout: 0.1,
  batchNormEpsilon: 1e-3,
  batchNormMomentum: 0.99,
  videoLossWeight: 1,
  learningRate: 1e-4,
  visualAbsentProbability: 0.25,
};

/** The live variant: the same network on past-and-current frames t−4…t. */
export const AVDCNN_CAUSAL_DEFAULTS: AvdcnnConfig = { ...AVDCNN_DEFAULTS, context: 'causal' };

export const AVDCNN_INPUT_NAMES = { audio: 'audio', visual: 'visual' } as const;
export const AVDCNN_OUTPUT_NAMES = { clean: 'clean', lip: 'lip' } as const;

/** Sizes along the branches, from the config (no TF.js). */
export interface AvdcnnShapes {
  /** [frames, bins, audio channels]. */
  readonly audioInput: readonly [number, number, number];
  /** [height, width, frames]. */
  readonly visualInput: readonly [number, number, number];
  /** [time, freq, channels] after conv1, pool, conv2. */
  readonly audioLayers: readonly (readonly [number, number, number])[];
  /** [height, width, channels] after each visual convolution. */
  readonly visualLayers: readonly (readonly [number, number, number])[];
  readonly audioFlat: number;
  readonly visualFlat: number;
  readonly merged: number;
  /** Output sizes: clean log power (bins) and lip frame (height × width). */
  readonly clean: number;
  readonly lip: number;
}

const isPositiveInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;

/**
 * Defaults overridden by `overrides`, validated: every size a positive integer, every kernel fitting its input
 * (unpadded layers), rates in range. Throws a RangeError naming the field and the rule.
 */
export function resolveAvdcnnConfig(overrides: Partial<AvdcnnConfig> = {}): AvdcnnConfig {
  const base = overrides.context === 'causal' ? AVDCNN_CAUSAL_DEFAULTS : AVDCNN_DEFAULTS;
  const c: AvdcnnConfig = { ...base, ...overrides };
  const fail = (message: string): never => {
    throw new RangeError(`AVDCNN config: ${message}`);
  };
  if (c.context !== 'symmetric' && c.context !== 'causal')
    fail(`context must be 'symmetric' or 'causal', got ${JSON.stringify(c.context)}`);
  if (c.visualPadding !== 'same' && c.visualPadding !== 'valid')
    fail(`visualPadding must be 'same' or 'valid', got ${JSON.stringify(c.visualPadding)}`);
  for (const key of [
    'contextFrames',
    'bins',
    'audioChannels',
    'mouthHeight',
    'mouthWidth',
    'fc1Units',
    'fc2Units',
    'fcAudioUnits',
    'fcVisualUnits',
  ] as const) {
    if (!isPositiveInt(c[key])) fail(`${key} must be a positive integer, got ${String(c[key])}`);
  }
  // The context stacker keeps at most 64 frames on either side of the current one (context.ts).
  if (c.contextFrames > 65) fail(`contextFrames must be at most 65, got ${c.contextFrames}`);
  const specCheck = (where: string, spec: object, fields: readonly string[]): void => {
    for (const f of fields) {
      const v = (spec as Record<string, unknown>)[f];
      if (!isPositiveInt(v)) fail(`${where}.${f} must be a positive integer, got ${String(v)}`);
    }
  };
  specCheck('audioConv1', c.audioConv1, ['filters', 'time', 'freq']);
  specCheck('audioPool', c.audioPool, ['time', 'freq']);
  specCheck('audioConv2', c.audioConv2, ['filters', 'time', 'freq']);
  if (!Array.isArray(c.visualConv) || c.visualConv.length === 0)
    fail('visualConv must list at least one convolution');
  c.visualConv.forEach((v, i) => specCheck(`visualConv[${i}]`, v, ['filters', 'height', 'width']));
  const rate = (key: 'dropout' | 'visualAbsentProbability', max: number): void => {
    const v = c[key];
    if (typeof v !== 'number' || !(v >= 0 && v < max)) fail(`${key} must be in [0, ${max}), got ${v}`);
  };
  rate('dropout', 1);
  rate('visualAbsentProbability', 1);
  if (!(c.batchNormEpsilon > 0)) fail(`batchNormEpsilon must be > 0, got ${c.batchNormEpsilon}`);
  if (!(c.batchNormMomentum >= 0 && c.batchNormMomentum < 1))
    fail(`batchNormMomentum must be in [0, 1), got ${c.batchNormMomentum}`);
  if (!(c.videoLossWeight >= 0 && Number.isFinite(c.videoLossWeight)))
    fail(`videoLossWeight (μ) must be a finite number ≥ 0, got ${c.videoLossWeight}`);
  if (!(c.learningRate > 0 && Number.isFinite(c.learningRate)))
    fail(`learningRate must be > 0, got ${c.learningRate}`);
  avdcnnShapes(c, fail); // kernels must fit
  return c;
}

/** Layer sizes for a config (throws when an unpadded kernel or pool does not fit its input). */
export function avdcnnShapes(
  c: AvdcnnConfig,
  fail: (message: string) => never = (m) => {
    throw new RangeError(`AVDCNN config: ${m}`);
  },
): AvdcnnShapes {
  const valid = (n: number, k: number, what: string): number => {
    if (k > n) fail(`${what}: kernel ${k} does not fit an input of ${n} (unpadded)`);
    return n - k + 1;
  };
  let t = valid(c.contextFrames, c.audioConv1.time, 'audioConv1.time (context frames)');
  let f = valid(c.bins, c.audioConv1.freq, 'audioConv1.freq (bins)');
  const a1 = [t, f, c.audioConv1.filters] as const;
  if (c.audioPool.time > t || c.audioPool.freq > f)
    fail(`audioPool ${c.audioPool.time}×${c.audioPool.freq} does not fit ${t}×${f}`);
  t = Math.floor(t / c.audioPool.time);
  f = Math.floor(f / c.audioPool.freq);
  const a2 = [t, f, c.audioConv1.filters] as const;
  t = valid(t, c.audioConv2.time, 'audioConv2.time (after pooling)');
  f = valid(f, c.audioConv2.freq, 'audioConv2.freq (after pooling)');
  const a3 = [t, f, c.audioConv2.filters] as const;
  let h = c.mouthHeight;
  let w = c.mouthWidth;
  const visualLayers = c.visualConv.map((v, i) => {
    if (c.visualPadding === 'valid') {
      h = valid(h, v.height, `visualConv[${i}].height`);
      w = valid(w, v.width, `visualConv[${i}].width`);
    }
    return [h, w, v.filters] as const;
  });
  const lastV = visualLayers[visualLayers.length - 1] as readonly [number, number, number];
  const audioFlat = a3[0] * a3[1] * a3[2];
  const visualFlat = lastV[0] * lastV[1] * lastV[2];
  return {
    audioInput: [c.contextFrames, c.bins, c.audioChannels],
    visualInput: [c.mouthHeight, c.mouthWidth, c.contextFrames],
    audioLayers: [a1, a2, a3],
    visualLayers,
    audioFlat,
    visualFlat,
    merged: audioFlat + visualFlat,
    clean: c.bins,
    lip: c.mouthHeight * c.mouthWidth,
  };
}

/**
 * Parameters of the model (TF.js `countParams`: trainable and BN moving statistics), by formula:
 * conv k·in·out + out, BN 4·channels (γ, β, moving mean, moving variance), dense in·out + out.
 */
export function avdcnnParameterCount(config: AvdcnnConfig): { total: number; trainable: number } {
  const s = avdcnnShapes(config);
  let total = 0;
  let bnStats = 0;
  const conv = (k: number, cin: number, cout: number): void => {
    total += k * cin * cout + cout + 4 * cout; // + its batch norm
    bnStats += 2 * cout;
  };
  const dense = (cin: number, cout: number): void => {
    total += cin * cout + cout;
  };
  const { audioConv1: a1, audioConv2: a2 } = config;
  conv(a1.time * a1.freq, config.audioChannels, a1.filters);
  conv(a2.time * a2.freq, a1.filters, a2.filters);
  let cin = config.contextFrames;
  for (const v of config.visualConv) {
    conv(v.height * v.width, cin, v.filters);
    cin = v.filters;
  }
  dense(s.merged, config.fc1Units);
  dense(config.fc1Units, config.fc2Units);
  dense(config.fc2Units, config.fcAudioUnits);
  dense(config.fcAudioUnits, s.clean);
  dense(config.fc2Units, config.fcVisualUnits);
  dense(config.fcVisualUnits, s.lip);
  return { total, trainable: total - bnStats };
}

/** Index (0-based, oldest first) of the frame the outputs describe: the centre, or the newest (causal). */
export function currentFrameIndex(config: Pick<AvdcnnConfig, 'context' | 'contextFrames'>): number {
  return config.context === 'causal' ? config.contextFrames - 1 : Math.floor(config.contextFrames / 2);
}

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/**
 * Builds the model (see the file comment). `seed` makes the initial weights reproducible (Glorot uniform
 * kernels, zero biases; each layer its own seed).
 */
export function buildAvdcnn(overrides: Partial<AvdcnnConfig> = {}, seed = 1): tf.LayersModel {
  const c = resolveAvdcnnConfig(overrides);
  const s = avdcnnShapes(c);
  let k = seed * 1000;
  const init = (): ReturnType<typeof tf.initializers.glorotUniform> =>
    tf.initializers.glorotUniform({ seed: k++ });
  const bn = (name: string): tf.layers.Layer =>
    tf.layers.batchNormalization({
      name,
      axis: -1,
      epsilon: c.batchNormEpsilon,
      momentum: c.batchNormMomentum,
    });

  const audio = tf.input({ name: AVDCNN_INPUT_NAMES.audio, shape: [...s.audioInput] });
  const visual = tf.input({ name: AVDCNN_INPUT_NAMES.visual, shape: [...s.visualInput] });

  let a = apply(
    tf.layers.conv2d({
      name: 'a_conv1',
      filters: c.audioConv1.filters,
      kernelSize: [c.audioConv1.time, c.audioConv1.freq],
      padding: 'valid',
      activation: 'linear',
      kernelInitializer: init(),
    }),
    audio,
  );
  a = apply(bn('a_bn1'), a);
  a = apply(tf.layers.maxPooling2d({ name: 'a_pool', poolSize: [c.audioPool.time, c.audioPool.freq] }), a);
  a = apply(
    tf.layers.conv2d({
      name: 'a_conv2',
      filters: c.audioConv2.filters,
      kernelSize: [c.audioConv2.time, c.audioConv2.freq],
      padding: 'valid',
      activation: 'linear',
      kernelInitializer: init(),
    }),
    a,
  );
  a = apply(bn('a_bn2'), a);

  let v: Sym = visual;
  c.visualConv.forEach((spec, i) => {
    v = apply(
      tf.layers.conv2d({
        name: `v_conv${i + 1}`,
        filters: spec.filters,
        kernelSize: [spec.height, spec.width],
        padding: c.visualPadding,
        activation: 'linear',
        kernelInitializer: init(),
      }),
      v,
    );
    v = apply(bn(`v_bn${i + 1}`), v);
  });

  const merged = apply(tf.layers.concatenate({ name: 'merged' }), [
    apply(tf.layers.flatten({ name: 'a_flat' }), a),
    apply(tf.layers.flatten({ name: 'v_flat' }), v),
  ]);
  const dense = (name: string, units: number, activation: 'sigmoid' | 'linear', x: Sym): Sym =>
    apply(tf.layers.dense({ name, units, activation, kernelInitializer: init() }), x);
  let h = dense('fc1', c.fc1Units, 'sigmoid', merged);
  h = apply(tf.layers.dropout({ name: 'drop1', rate: c.dropout }), h);
  h = dense('fc2', c.fc2Units, 'sigmoid', h);
  h = apply(tf.layers.dropout({ name: 'drop2', rate: c.dropout }), h);
  const clean = dense(
    AVDCNN_OUTPUT_NAMES.clean,
    s.clean,
    'linear',
    dense('fc_a3', c.fcAudioUnits, 'linear', h),
  );
  const lip = dense(AVDCNN_OUTPUT_NAMES.lip, s.lip, 'linear', dense('fc_v3', c.fcVisualUnits, 'linear', h));
  return tf.model({
    name: c.context === 'causal' ? 'avdcnn_causal' : 'avdcnn',
    inputs: [audio, visual],
    outputs: [clean, lip],
  });
}

/**
 * One example's visual input from the camera side's context stack (`stackContext` in frame-align.ts):
 * [frames][height][width] (oldest first) → [height][width][frames], the `visual` input's layout.
 */
export function visualInputFromFrames(
  stacked: Float32Array,
  config: Pick<AvdcnnConfig, 'contextFrames' | 'mouthHeight' | 'mouthWidth'>,
  out: Float32Array = new Float32Array(stacked.length),
): Float32Array {
  const frames = config.contextFrames;
  const pixels = config.mouthHeight * config.mouthWidth;
  if (stacked.length !== frames * pixels)
    throw new RangeError(
      `visual input: ${stacked.length} values, expected ${frames} frames × ${config.mouthHeight}×${config.mouthWidth}`,
    );
  if (out.length !== stacked.length) throw new RangeError('visual input: output buffer of the wrong size');
  for (let f = 0; f < frames; f++) {
    for (let p = 0; p < pixels; p++) out[p * frames + f] = stacked[f * pixels + p] as number;
  }
  return out;
}

/** A training batch as flat row-major arrays (the trainer fills them; see the file comment for layouts). */
export interface AvdcnnBatch {
  readonly size: number;
  /** size × frames × bins × channels (noisy, normalised log power [, SNR], oldest frame first). */
  readonly audio: Float32Array;
  /** size × height × width × frames. */
  readonly visual: Float32Array;
  /** size × bins: clean log power of the current frame (target). */
  readonly clean: Float32Array;
  /** size × height × width: the current mouth frame (target). */
  readonly lip: Float32Array;
  /** size: weight of each example's video loss term (default all 1). */
  readonly videoWeight?: Float32Array;
  /** size × bins: weight of each clean target value in the audio loss (default all 1). */
  readonly cleanWeight?: Float32Array;
}

function checkBatch(batch: AvdcnnBatch, c: AvdcnnConfig): AvdcnnShapes {
  const s = avdcnnShapes(c);
  const n = batch.size;
  const want: [string, Float32Array, number][] = [
    ['audio', batch.audio, n * s.audioInput[0] * s.audioInput[1] * s.audioInput[2]],
    ['visual', batch.visual, n * s.visualInput[0] * s.visualInput[1] * s.visualInput[2]],
    ['clean', batch.clean, n * s.clean],
    ['lip', batch.lip, n * s.lip],
  ];
  if (batch.videoWeight !== undefined) want.push(['videoWeight', batch.videoWeight, n]);
  if (batch.cleanWeight !== undefined) want.push(['cleanWeight', batch.cleanWeight, n * s.clean]);
  if (!isPositiveInt(n)) throw new RangeError(`AVDCNN batch: size ${n}`);
  for (const [name, data, len] of want) {
    if (data.length !== len)
      throw new RangeError(
        `AVDCNN batch: ${name} has ${data.length} values, expected ${len} for ${n} examples`,
      );
  }
  return s;
}

/**
 * Camera-absent augmentation: each example's whole visual input is zeroed with probability `p` (draws from
 * `rng`, so a resumed run repeats them), and its video loss weight set to 0. Returns a new batch (the visual
 * and weight arrays are copies; the others are shared) and how many examples were zeroed.
 */
export function zeroVisual(
  batch: AvdcnnBatch,
  p: number,
  rng: SeededRandom,
): { batch: AvdcnnBatch; zeroed: number } {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`zeroVisual: p must be in [0, 1], got ${p}`);
  const per = batch.visual.length / batch.size;
  if (!Number.isInteger(per)) throw new RangeError('zeroVisual: visual length is not a multiple of size');
  const visual = batch.visual.slice();
  const videoWeight = batch.videoWeight?.slice() ?? new Float32Array(batch.size).fill(1);
  let zeroed = 0;
  for (let i = 0; i < batch.size; i++) {
    if (rng.next() < p) {
      visual.fill(0, i * per, (i + 1) * per);
      videoWeight[i] = 0;
      zeroed++;
    }
  }
  return { batch: { ...batch, visual, videoWeight }, zeroed };
}

/** The batch as tensors: [audio, visual] inputs and clean/lip targets (caller disposes). */
export function batchTensors(
  batch: AvdcnnBatch,
  config: AvdcnnConfig,
): {
  inputs: [tf.Tensor4D, tf.Tensor4D];
  clean: tf.Tensor2D;
  lip: tf.Tensor2D;
  videoWeight: tf.Tensor1D;
  cleanWeight?: tf.Tensor2D;
} {
  const s = checkBatch(batch, config);
  const n = batch.size;
  return {
    inputs: [
      tf.tensor4d(batch.audio, [n, ...s.audioInput]),
      tf.tensor4d(batch.visual, [n, ...s.visualInput]),
    ],
    clean: tf.tensor2d(batch.clean, [n, s.clean]),
    lip: tf.tensor2d(batch.lip, [n, s.lip]),
    videoWeight: tf.tensor1d(batch.videoWeight ?? new Float32Array(n).fill(1)),
    ...(batch.cleanWeight !== undefined ? { cleanWeight: tf.tensor2d(batch.cleanWeight, [n, s.clean]) } : {}),
  };
}

/**
 * MSE(clean) + μ·MSE(lip): each MSE is the mean over the output's values; the lip term is averaged over the
 * batch with per-example weights (sum_b w_b·mse_b / B, Keras's sample-weight reduction), so weight-0 examples
 * (visual zeroed) add nothing. Returns the scalar total and its two terms.
 *
 * `underWeight` β ≥ 0 (default 0, the plain MSE) makes the clean term asymmetric: a value predicted below its
 * target costs (1 + β) times its squared error, one above it the squared error, i.e. (p − t)² + β·relu(t − p)².
 * For a gain target this is the price of over-suppression (speech removed) against under-suppression (noise
 * left).
 */
export function avdcnnLoss(
  predicted: { clean: tf.Tensor; lip: tf.Tensor },
  target: { clean: tf.Tensor; lip: tf.Tensor; videoWeight?: tf.Tensor1D; cleanWeight?: tf.Tensor },
  videoLossWeight: number,
  underWeight = 0,
): { total: tf.Scalar; audio: tf.Scalar; video: tf.Scalar } {
  return tf.tidy(() => {
    const plain = tf.squaredDifference(predicted.clean, target.clean);
    const sq =
      underWeight > 0
        ? tf.add(plain, tf.mul(tf.square(tf.relu(tf.sub(target.clean, predicted.clean))), underWeight))
        : plain;
    const audio = tf.mean(
      target.cleanWeight !== undefined ? tf.mul(sq, target.cleanWeight) : sq,
    ) as tf.Scalar;
    const perExample = tf.mean(tf.squaredDifference(predicted.lip, target.lip), -1);
    const weighted = target.videoWeight !== undefined ? tf.mul(perExample, target.videoWeight) : perExample;
    const video = tf.mean(weighted) as tf.Scalar;
    const total = tf.add(audio, tf.mul(video, videoLossWeight)) as tf.Scalar;
    return { total, audio, video };
  });
}

/** RMSprop at the config's learning rate (TF.js defaults otherwise: decay 0.9, no momentum, ε 1e-7). */
export function createAvdcnnOptimizer(
  config: Pick<AvdcnnConfig, 'learningRate'> = AVDCNN_DEFAULTS,
): tf.Optimizer {
  return tf.train.rmsprop(config.learningRate);
}

export interface AvdcnnLossValues {
  total: number;
  audio: number;
  video: number;
}

function splitOutputs(ys: tf.Tensor | tf.Tensor[]): { clean: tf.Tensor; lip: tf.Tensor } {
  if (!Array.isArray(ys) || ys.length !== 2) throw new Error('AVDCNN: expected two outputs (clean, lip)');
  return { clean: ys[0] as tf.Tensor, lip: ys[1] as tf.Tensor };
}

/**
 * One optimisation step on `batch` (training mode: dropout on, batch norm on batch statistics and updating
 * its moving averages). Returns the training loss before the update.
 */
export async function avdcnnTrainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: AvdcnnBatch,
  config: AvdcnnConfig,
  underWeight = 0,
): Promise<AvdcnnLossValues> {
  const t = batchTensors(batch, config);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let parts: { audio: tf.Scalar; video: tf.Scalar } | undefined;
  try {
    const total = optimizer.minimize(
      () => {
        const p = splitOutputs(model.apply(t.inputs, { training: true }) as tf.Tensor[]);
        const l = avdcnnLoss(p, t, config.videoLossWeight, underWeight);
        tf.dispose(parts ? [parts.audio, parts.video] : []);
        parts = { audio: tf.keep(l.audio), video: tf.keep(l.video) };
        return l.total;
      },
      true,
      vars,
    );
    if (total === null || parts === undefined) throw new Error('AVDCNN: the optimiser returned no loss');
    const [tv, av, vv] = await Promise.all([total.data(), parts.audio.data(), parts.video.data()]);
    total.dispose();
    return { total: tv[0] as number, audio: av[0] as number, video: vv[0] as number };
  } finally {
    tf.dispose([...t.inputs, t.clean, t.lip, t.videoWeight, ...(t.cleanWeight ? [t.cleanWeight] : [])]);
    if (parts) tf.dispose([parts.audio, parts.video]);
  }
}

/** The loss of `batch` in inference mode (no dropout, batch norm on its moving statistics); `underWeight` as the loss. */
export async function avdcnnEvaluate(
  model: tf.LayersModel,
  batch: AvdcnnBatch,
  config: AvdcnnConfig,
  underWeight = 0,
): Promise<AvdcnnLossValues> {
  const t = batchTensors(batch, config);
  try {
    const l = tf.tidy(() => {
      const p = splitOutputs(model.predict(t.inputs) as tf.Tensor[]);
      return avdcnnLoss(p, t, config.videoLossWeight, underWeight);
    });
    const [tv, av, vv] = await Promise.all([l.total.data(), l.audio.data(), l.video.data()]);
    tf.dispose([l.total, l.audio, l.video]);
    return { total: tv[0] as number, audio: av[0] as number, video: vv[0] as number };
  } finally {
    tf.dispose([...t.inputs, t.clean, t.lip, t.videoWeight, ...(t.cleanWeight ? [t.cleanWeight] : [])]);
  }
}
