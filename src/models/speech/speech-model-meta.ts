/**
 * The serving description of a speech enhancement model, stored in its ONNX sidecar (`<name>.onnx.json`,
 * `metadata.speech`, written by `saveOnnxModel(model, path, { metadata: { speech } })`): everything the
 * streaming enhancer (enhancer.ts) needs besides the graph — the STFT, how the context frames were stacked,
 * how the noisy log power was normalised and what the `clean` output means. Loading checks it against the
 * graph's input and output shapes recorded in the same sidecar, so a model cannot be fed a layout it was not
 * trained on.
 *
 * - `model`: the AVDCNN sizes the enhancer reads (context, contextFrames, bins, mouth size); a full
 *   `AvdcnnConfig` may be stored (extra fields are kept, not read).
 * - `stft`: sample rate, window, hop, FFT size (bins must equal `model.bins`).
 * - `normalization` of the model's audio input, per bin over ln power:
 *   'running' (the live path's causal statistics, normalize.ts; time constant and σ floor given),
 *   'global' (fixed per-bin mean and σ from training), or 'none' (raw ln power).
 * - `target`: what `clean` is — 'raw' ln power of the current frame (examples.ts, the default), 'global'
 *   (normalised with fixed per-bin mean and σ, which the enhancer undoes), or 'log-gain' (the bounded
 *   input-relative log power gain g = clamp(lnC − lnX, 2·ln G_min, 0) divided by `scale`; G_min is
 *   `gainFloorDb`, an amplitude gain in dB; the enhancer applies it as a mask: lnŜ = lnX + clamp(ŷ·scale, …)).
 *   Models without `target` or with 'raw'/'global' (ln-power targets) load as before.
 * - `noiseAware` (optional): the model takes a second audio channel, the a posteriori SNR over a causal
 *   noise floor (noise-floor.ts, with these tracker parameters), normalised per bin with this mean and σ and
 *   interleaved with the first channel per bin (`audio` [n, F, bins, 2]); with `prior`, a third channel, the
 *   decision-directed ln a priori SNR (prior-snr.ts) normalised with its own mean and σ ([n, F, bins, 3]);
 *   `startHoldFrames` frames at a stream's start are held (noise-aware.ts; absent: 0, as models before it);
 *   with `spp`, the noise is tracked by speech presence probability (spp-noise.ts, these parameters) in place
 *   of the floor (absent: the floor, as models before it).
 *   Absent: one channel (the paper).
 * - `output`: the default way of using the prediction, 'spectrum' (the paper: the predicted magnitude with
 *   the noisy phase) or 'mask' (the prediction bounded by the noisy magnitude; see enhancer.ts).
 */
import { readFile } from 'node:fs/promises';
import { sidecarPathFor } from '../common/onnx-export.ts';
import type { OnnxSidecar, TensorSpec } from '../common/onnx-export.ts';
import type { ContextSpec } from '../../streams/features/audio/context.ts';
import { LIVE_STFT_512_128, resolveStft } from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';
import { checkNoiseAwareParams } from '../../streams/features/audio/noise-aware.ts';
import type { NoiseFloorParams } from '../../streams/features/audio/noise-floor.ts';
import type { SppNoiseParams } from '../../streams/features/audio/spp-noise.ts';
import type { PriorSnrParams } from '../../streams/features/audio/prior-snr.ts';
import { isJsonObject, numberListError, shown } from '../common/json.ts';
import { AVDCNN_INPUT_NAMES, AVDCNN_OUTPUT_NAMES } from './avdcnn.ts';
import type { AvdcnnConfig } from './avdcnn.ts';
import { centringError } from './mouth-centring.ts';
import { SPEECH_SERVING_KEYS, servingSettingError } from './mask/settings.ts';
import type { SpeechServingKey, SpeechServingValues } from './mask/settings.ts';
import type { CentredVisualInput } from './mouth-centring.ts';

export type SpeechNormalization =
  | { readonly kind: 'running'; readonly timeConstantS: number; readonly stdFloor: number }
  | { readonly kind: 'global'; readonly mean: readonly number[]; readonly std: readonly number[] }
  | { readonly kind: 'none' };

export type SpeechTarget =
  | { readonly kind: 'raw' }
  | { readonly kind: 'global'; readonly mean: readonly number[]; readonly std: readonly number[] }
  | {
      readonly kind: 'log-gain';
      /** G_min, amplitude gain in dB (< 0): the lowest gain, 2·ln(10^(dB/20)) in ln-power units. */
      readonly gainFloorDb: number;
      /** The model's output times `scale` is the ln-power gain (> 0; 1 = unscaled). */
      readonly scale: number;
    }
  | {
      /** The model's output is the amplitude gain itself, used clamped to [G_min, 1]. */
      readonly kind: 'gain';
      /** G_min, amplitude gain in dB (< 0). */
      readonly gainFloorDb: number;
    };

/** The lower bound of a log-gain target in ln-power units: 2·ln(10^(dB/20)) = dB·ln(10)/10. */
export function logGainFloor(gainFloorDb: number): number {
  return (gainFloorDb * Math.LN10) / 10;
}

export type EnhancementMode = 'spectrum' | 'mask';

/**
 * The noise-aware input's parameters (noise-aware.ts) and the SNR channel's per-bin statistics; with `prior`,
 * the prior SNR's parameters and its channel's statistics.
 */
export type SpeechNoiseAware = NoiseFloorParams & {
  readonly startHoldFrames?: number;
  readonly spp?: SppNoiseParams;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly prior?: PriorSnrParams & { readonly mean: readonly number[]; readonly std: readonly number[] };
};

export type SpeechModelShape = Pick<
  AvdcnnConfig,
  'context' | 'contextFrames' | 'bins' | 'mouthHeight' | 'mouthWidth'
>;

/**
 * A speech model's metadata (its sidecar's `metadata.speech`). The mask's serving settings it may hold
 * (`SpeechServingValues`, mask/settings.ts) apply when the caller gives none: chosen on the validation split
 * (never the test split) and recorded with the model; absent ones are "none".
 */
export interface SpeechModelMeta extends SpeechServingValues {
  readonly format: 'drivesense.speech-model';
  readonly version: 1;
  readonly model: SpeechModelShape & Readonly<Record<string, unknown>>;
  readonly stft: {
    readonly sampleRateHz: number;
    readonly windowLength: number;
    readonly hop: number;
    readonly fftSize?: number;
  };
  readonly normalization: SpeechNormalization;
  /** Default { kind: 'raw' }. */
  readonly target?: SpeechTarget;
  /**
   * Present: the model takes the a posteriori SNR as a second audio channel, and with `prior` the ln a priori
   * SNR as a third (see the file comment).
   */
  readonly noiseAware?: SpeechNoiseAware;
  /**
   * Present: the model was trained on centred mouth crops, each minus a causal running mean of the crops
   * before it (mouth-centring.ts); the enhancer centres the camera's crops the same way. Absent: raw crops.
   */
  readonly visualInput?: CentredVisualInput;
  /**
   * 'off': the model is served audio-only (the audio-only input and strength) even when the camera is on, as
   * a member of an ensemble whose other members use it (docs/models/speech-history.md, "Rule for a member without
   * the camera"). Absent: the camera is used when there is one.
   */
  readonly cameraMode?: 'off';
  /** Default 'spectrum' ('mask' for a 'log-gain' target). */
  readonly output?: EnhancementMode;
  /** Training record and scores (free-form, for the docs; not read by the enhancer). */
  readonly training?: Readonly<Record<string, unknown>>;
  readonly scores?: Readonly<Record<string, unknown>>;
}

/** The meta for a model config, STFT and normalisation (what `train speech` stores). */
export function speechModelMeta(
  model: AvdcnnConfig | SpeechModelShape,
  stft: StftConfig,
  normalization: SpeechNormalization,
  extra: Pick<
    SpeechModelMeta,
    'target' | 'noiseAware' | 'visualInput' | 'output' | SpeechServingKey | 'training' | 'scores'
  > = {},
): SpeechModelMeta {
  const meta: SpeechModelMeta = {
    format: 'drivesense.speech-model',
    version: 1,
    model: { ...model },
    stft: {
      sampleRateHz: stft.sampleRateHz,
      windowLength: stft.windowLength,
      hop: stft.hop,
      ...(stft.fftSize !== undefined ? { fftSize: stft.fftSize } : {}),
    },
    normalization,
    ...extra,
  };
  validateSpeechModelMeta(meta);
  return meta;
}

/** Audio input channels of a meta: 1, + 1 with the noise-aware input, + 1 with its prior SNR. */
export function audioChannelsOf(meta: SpeechModelMeta): 1 | 2 | 3 {
  const na = meta.noiseAware;
  return na === undefined ? 1 : na.prior !== undefined ? 3 : 2;
}

/** The STFT config of a meta (the FFT implementation is the project default). */
export function stftOf(meta: SpeechModelMeta): StftConfig {
  return { ...meta.stft };
}

/** Context frames as the stacker takes them: causal t−(F−1)…t, symmetric t−⌊F/2⌋…t+(F−1−⌊F/2⌋). */
export function contextSpecOf(model: Pick<AvdcnnConfig, 'context' | 'contextFrames'>): ContextSpec {
  const f = model.contextFrames;
  if (model.context === 'causal') return { past: f - 1, future: 0 };
  const past = Math.floor(f / 2);
  return { past, future: f - 1 - past };
}

function fail(message: string): never {
  throw new Error(`speech model metadata: ${message}`);
}

/** The range of a per-bin statistic in a sidecar: |mean| and std within it (the model's input is float32). */
export const SPEECH_STATS_LIMITS = { meanAbs: 1e4, stdMin: 1e-6, stdMax: 1e4 } as const;

function checkStats(what: string, s: { readonly mean: unknown; readonly std: unknown }, bins: number): void {
  const L = SPEECH_STATS_LIMITS;
  const why =
    numberListError(
      `${what}.mean`,
      s.mean,
      bins,
      (x) => typeof x === 'number' && Math.abs(x) <= L.meanAbs,
      `a number within ±${L.meanAbs}`,
    ) ??
    numberListError(
      `${what}.std`,
      s.std,
      bins,
      (x) => typeof x === 'number' && x >= L.stdMin && x <= L.stdMax,
      `a number in [${L.stdMin}, ${L.stdMax}]`,
    );
  if (why !== undefined) fail(why);
}

/**
 * The largest model shape a sidecar may describe (bounded memory for the enhancer's buffers): far above the
 * paper's (5 frames, 257 bins, a 16×24 mouth); 65 frames is the most `train speech` makes and the context
 * stacker takes (64 past frames), 4,097 bins an 8,192-point FFT.
 */
export const SPEECH_SHAPE_LIMITS = {
  contextFrames: 65,
  bins: 4097,
  mouthHeight: 128,
  mouthWidth: 128,
} as const;

/** The live path's rate (every speech model is served at it) and the longest STFT window or FFT, samples. */
const SPEECH_RATE = LIVE_STFT_512_128.sampleRateHz;
const SPEECH_MAX_WINDOW = 2 * (SPEECH_SHAPE_LIMITS.bins - 1);

/** Throws an Error naming the field when the meta is not usable. */
export function validateSpeechModelMeta(meta: SpeechModelMeta): void {
  if (!isJsonObject(meta)) fail(`${shown(meta)} is not an object`);
  if (meta.format !== 'drivesense.speech-model' || meta.version !== 1)
    fail(`format ${shown(meta.format)} version ${shown(meta.version)} is not drivesense.speech-model 1`);
  // The objects the checks below read fields of (a sidecar is any JSON a user may hand over).
  for (const key of ['model', 'stft', 'normalization'] as const)
    if (!isJsonObject(meta[key])) fail(`${key} ${shown(meta[key])} (an object)`);
  for (const key of ['noiseAware', 'target', 'visualInput'] as const)
    if (meta[key] !== undefined && !isJsonObject(meta[key]))
      fail(`${key} ${shown(meta[key])} (an object, or absent)`);
  if (meta.noiseAware?.prior !== undefined && !isJsonObject(meta.noiseAware.prior))
    fail(`noiseAware.prior ${shown(meta.noiseAware.prior)} (an object, or absent)`);
  const m = meta.model;
  if (m.context !== 'causal' && m.context !== 'symmetric') fail(`model.context ${shown(m.context)}`);
  for (const k of ['contextFrames', 'bins', 'mouthHeight', 'mouthWidth'] as const)
    if (!Number.isInteger(m[k]) || m[k] < 1 || m[k] > SPEECH_SHAPE_LIMITS[k])
      fail(`model.${k} ${shown(m[k])} must be an integer in [1, ${SPEECH_SHAPE_LIMITS[k]}]`);
  // The STFT's fields, typed and bounded before the window is built.
  const st = meta.stft as unknown as Record<string, unknown>;
  if (st['sampleRateHz'] !== SPEECH_RATE)
    fail(`stft.sampleRateHz ${shown(st['sampleRateHz'])} (the live path runs at ${SPEECH_RATE} Hz)`);
  for (const k of ['windowLength', 'hop', 'fftSize'] as const) {
    const v = st[k];
    if (k === 'fftSize' && v === undefined) continue;
    if (!(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= SPEECH_MAX_WINDOW))
      fail(`stft.${k} ${shown(v)} must be an integer in [1, ${SPEECH_MAX_WINDOW}]`);
  }
  let bins: number;
  try {
    bins = resolveStft(stftOf(meta)).bins;
  } catch (e) {
    fail(`stft: ${(e as Error).message.replace(/^STFT: /, '')}`);
  }
  if (bins !== m.bins) fail(`model.bins ${m.bins}, but the STFT (FFT size / 2 + 1) gives ${bins}`);
  const n = meta.normalization;
  if (n.kind === 'running') {
    for (const k of ['timeConstantS', 'stdFloor'] as const) {
      const v: unknown = n[k];
      if (!(typeof v === 'number' && Number.isFinite(v) && v > 0))
        fail(`normalization.${k} ${shown(v)} must be a finite number > 0`);
    }
  } else if (n.kind === 'global') checkStats('normalization', n, bins);
  else if (n.kind !== 'none') fail(`normalization.kind ${shown((n as { kind: unknown }).kind)}`);
  const na = meta.noiseAware;
  if (na !== undefined) {
    checkStats('noiseAware', na, bins);
    if (na.prior !== undefined) checkStats('noiseAware.prior', na.prior, bins);
    try {
      checkNoiseAwareParams(na);
    } catch (e) {
      fail(`noiseAware: ${(e as Error).message}`);
    }
  }
  const channels = (m as { audioChannels?: unknown }).audioChannels ?? 1;
  if (channels !== audioChannelsOf(meta))
    fail(
      `model.audioChannels ${shown(channels)} but ${na !== undefined ? `a noise-aware input (${audioChannelsOf(meta)})` : 'one input channel'}`,
    );
  const t = meta.target ?? { kind: 'raw' };
  if (t.kind === 'global') checkStats('target', t, bins);
  else if (t.kind === 'log-gain') {
    if (!(Number.isFinite(t.gainFloorDb) && t.gainFloorDb < 0))
      fail(`target.gainFloorDb ${String(t.gainFloorDb)} must be finite and < 0`);
    if (!(Number.isFinite(t.scale) && t.scale > 0))
      fail(`target.scale ${String(t.scale)} must be finite and > 0`);
  } else if (t.kind === 'gain') {
    if (!(Number.isFinite(t.gainFloorDb) && t.gainFloorDb < 0))
      fail(`target.gainFloorDb ${String(t.gainFloorDb)} must be finite and < 0`);
  } else if (t.kind !== 'raw') fail(`target.kind ${JSON.stringify((t as { kind: unknown }).kind)}`);
  if (meta.cameraMode !== undefined && meta.cameraMode !== 'off')
    fail(`cameraMode ${JSON.stringify(meta.cameraMode)} (off, or absent)`);
  const vi = meta.visualInput;
  if (vi !== undefined) {
    if (vi.kind !== 'centred') fail(`visualInput.kind ${JSON.stringify(vi.kind)} (centred)`);
    const why = centringError(vi.timeConstantS);
    if (why !== undefined) fail(`visualInput: ${why}`);
  }
  if (meta.output !== undefined && meta.output !== 'spectrum' && meta.output !== 'mask')
    fail(`output ${JSON.stringify(meta.output)} (spectrum or mask)`);
  for (const key of SPEECH_SERVING_KEYS) {
    const why = meta[key] === undefined ? undefined : servingSettingError(key, meta[key]);
    if (why !== undefined) fail(why);
  }
}

function sameShape(spec: TensorSpec | undefined, want: readonly (number | null)[]): boolean {
  return spec !== undefined && spec.shape.length === want.length && spec.shape.every((d, i) => d === want[i]);
}

/** Checks the graph's recorded inputs/outputs against the meta (audio, visual, clean). */
function checkSidecarShapes(sidecar: OnnxSidecar, meta: SpeechModelMeta, where: string): void {
  const m = meta.model;
  const want: [string, TensorSpec | undefined, (number | null)[]][] = [
    [
      AVDCNN_INPUT_NAMES.audio,
      sidecar.inputs.find((i) => i.name === AVDCNN_INPUT_NAMES.audio),
      [null, m.contextFrames, m.bins, audioChannelsOf(meta)],
    ],
    [
      AVDCNN_INPUT_NAMES.visual,
      sidecar.inputs.find((i) => i.name === AVDCNN_INPUT_NAMES.visual),
      [null, m.mouthHeight, m.mouthWidth, m.contextFrames],
    ],
    [
      AVDCNN_OUTPUT_NAMES.clean,
      sidecar.outputs.find((o) => o.name === AVDCNN_OUTPUT_NAMES.clean),
      [null, m.bins],
    ],
  ];
  for (const [name, spec, shape] of want) {
    if (!sameShape(spec, shape))
      throw new Error(
        `${where}: '${name}' is ${spec ? `[${spec.shape.map(shown).join(', ')}]` : 'missing'}, ` +
          `the metadata describes [${shape.map(String).join(', ')}]`,
      );
  }
}

/**
 * Checks a parsed sidecar of the model `onnxPath` (its `metadata.speech` and the graph's recorded inputs and
 * outputs) and returns its metadata. Any JSON value may come in: the errors name the sidecar and the field.
 */
export function parseSpeechSidecar(
  raw: unknown,
  onnxPath: string,
): { meta: SpeechModelMeta; sidecar: OnnxSidecar } {
  const sidecarPath = sidecarPathFor(onnxPath);
  const metadata = isJsonObject(raw) ? raw['metadata'] : undefined;
  const speech = isJsonObject(metadata) ? metadata['speech'] : undefined;
  if (!isJsonObject(speech) || speech['format'] !== 'drivesense.speech-model')
    throw new Error(`${sidecarPath}: no speech model metadata (metadata.speech)`);
  const sidecar = raw as unknown as OnnxSidecar;
  const meta = speech as unknown as SpeechModelMeta;
  try {
    validateSpeechModelMeta(meta);
  } catch (e) {
    throw new Error(`${sidecarPath}: ${(e as Error).message}`, { cause: e });
  }
  for (const key of ['inputs', 'outputs'] as const) {
    const list: unknown = sidecar[key];
    if (!Array.isArray(list) || !list.every((t) => isJsonObject(t) && Array.isArray(t['shape'])))
      throw new Error(`${sidecarPath}: ${key} must be a list of tensors with their shapes`);
  }
  checkSidecarShapes(sidecar, meta, sidecarPath);
  return { meta, sidecar };
}

/** Reads and checks `metadata.speech` of a model's sidecar (`parseSpeechSidecar`). */
export async function readSpeechModelMeta(
  onnxPath: string,
): Promise<{ meta: SpeechModelMeta; sidecar: OnnxSidecar }> {
  const sidecarPath = sidecarPathFor(onnxPath);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(sidecarPath, 'utf8'));
  } catch (e) {
    throw new Error(`${sidecarPath}: cannot read the model's sidecar (${(e as Error).message})`, {
      cause: e,
    });
  }
  return parseSpeechSidecar(raw, onnxPath);
}
