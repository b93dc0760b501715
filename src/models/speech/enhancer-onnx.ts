/**
 * The speech enhancer on ONNX Runtime: loads `<name>.onnx` with its sidecar (`metadata.speech`,
 * speech-model-meta.ts), checks the graph against it and wraps the session as the enhancer's model runner.
 * Shared by the pipeline operator and `drivesense enhance`, so both run exactly the same thing.
 *
 * Lifecycle: `loadSpeechEnhancerModel` → `createEnhancer()` per audio stream (each its own state; they share
 * the session) → `release()`. The path may also name an ensemble manifest (`*.ensemble.json`, ensemble.ts):
 * its members are loaded and served together, their outputs averaged (by one enhancer sharing their front end
 * when they have the same one, enhancer.ts `SpeechEnhancer.ensemble`; else by ensemble.ts `EnsembleEnhancer`).
 *
 * Without the camera: each model is also loaded with its visual branch folded into FC1 for the zero visual
 * input (onnx-fold-input.ts), and a run whose visual input is all zeros (the camera absent, or a member served
 * without it) goes to that graph, at about half the work; any other run goes to the full graph.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { exposeTensor, foldConstantInput } from '../common/onnx-fold-input.ts';
import { pruneOnnxOutputs } from '../common/onnx-prune.ts';
import { dequantizeOnnxMatMuls, quantizedPathFor } from '../common/onnx-quantize.ts';
import { maxAbsDifference, OnnxSession } from '../common/onnx-session.ts';
import type { OnnxSessionConfig } from '../common/onnx-session.ts';
import { SeededRandom } from '../common/rng.ts';
import { AVDCNN_INPUT_NAMES, AVDCNN_OUTPUT_NAMES } from './avdcnn.ts';
import { SpeechEnhancer } from './enhancer.ts';
import { sharesFrontEnd } from './front-end.ts';
import type { SpeechEnhancerOptions, StreamingSpeechEnhancer } from './enhancer.ts';
import type { SpeechModelRunner } from './head.ts';
import type { SpeechServingSettings } from './mask/settings.ts';
import { EnsembleEnhancer, isEnsembleManifest, parseEnsembleManifest } from './ensemble.ts';
import type { EnsembleManifest } from './ensemble.ts';
import { enhanceSamples, mouthFramesFromAligned, mouthFramesFromTrack } from './enhance-samples.ts';
import type { AlignedMouth, MouthTrack } from './corpus.ts';
import { AVDCNN_STFT } from '../../streams/features/audio/stft.ts';
import { audioChannelsOf, readSpeechModelMeta } from './speech-model-meta.ts';
import type { SpeechModelMeta, SpeechModelShape } from './speech-model-meta.ts';

/**
 * The committed float live model (causal), relative to the project root: what `drivesense train speech`
 * writes, the parity test checks and `drivesense eval speech` scores by default.
 */
export const SPEECH_FLOAT_MODEL_PATH = 'src/models/speech/model/avdcnn-causal.onnx';

/** Its int8 CPU variant (`drivesense quantize`; docs/models/quantization.md: the same scores, half the time). */
export const SPEECH_INT8_MODEL_PATH = quantizedPathFor(SPEECH_FLOAT_MODEL_PATH);

/**
 * The committed ensembles (ensemble.ts; docs/models/speech.md: seeds of one command, their outputs averaged).
 * The car profile (trained with car noise in 3 of 7 mixtures, judged on the in-car noises; members whose
 * noise estimate is the speech-presence tracker, spp-noise.ts, served with the low-gain expansion) comes as a
 * pair and as four members. The pair is the default, within the compute budget with headroom on the
 * machines measured (docs/models/speech-history.md, "Rule for the default live model under the budget on a slower
 * machine"); its float manifest is what `drivesense eval speech` scores by default.
 */
export const SPEECH_CAR_PAIR_ENSEMBLE_PATH = 'src/models/speech/model/avdcnn-causal-car-pair.ensemble.json';
export const SPEECH_CAR_PAIR_INT8_ENSEMBLE_PATH =
  'src/models/speech/model/avdcnn-causal-car-pair.int8.ensemble.json';
export const SPEECH_ENSEMBLE_PATH = SPEECH_CAR_PAIR_ENSEMBLE_PATH;

/**
 * What the live path serves by default (the pipeline, `drivesense enhance`, the demo): the car pair's int8
 * variants.
 */
export const DEFAULT_SPEECH_MODEL_PATH = SPEECH_CAR_PAIR_INT8_ENSEMBLE_PATH;

/**
 * The car profile's four members, float and int8 (the pair and two more seeds: better SI-SDR and segSNR for
 * twice the compute, for a core with the headroom; `features.speech.model`, `--model`).
 */
export const SPEECH_CAR_FOUR_ENSEMBLE_PATH = 'src/models/speech/model/avdcnn-causal-car.ensemble.json';
export const SPEECH_CAR_FOUR_INT8_ENSEMBLE_PATH =
  'src/models/speech/model/avdcnn-causal-car.int8.ensemble.json';

/**
 * The car profile before the speech-presence tracker, float and int8: two members of the same sizes and
 * training whose noise estimate is the minimum-statistics floor (the same compute as the car pair; kept as the
 * reference the speech-presence tracker was judged against, docs/models/speech-history.md; `features.speech.model`,
 * `--model`).
 */
export const SPEECH_CAR_MINSTAT_ENSEMBLE_PATH =
  'src/models/speech/model/avdcnn-causal-car-minstat.ensemble.json';
export const SPEECH_CAR_MINSTAT_INT8_ENSEMBLE_PATH =
  'src/models/speech/model/avdcnn-causal-car-minstat.int8.ensemble.json';

/**
 * The general ensemble (trained on the five noise categories drawn alike), float and as served in int8: for
 * cabins or rooms whose noise is not a car's (`features.speech.model`, `--model`).
 */
export const SPEECH_GENERAL_ENSEMBLE_PATH = 'src/models/speech/model/avdcnn-causal.ensemble.json';
export const SPEECH_GENERAL_INT8_ENSEMBLE_PATH = 'src/models/speech/model/avdcnn-causal.int8.ensemble.json';

/**
 * An int8 variant must come from the float model beside it: when its sidecar's `quantization.source` names a
 * file that exists (relative to the variant's directory) with another SHA-256 — the float model was trained
 * again and not quantised since —, loading it is refused with the command that mends it.
 */
export async function checkQuantizedSource(
  onnxPath: string,
  quantization: Readonly<Record<string, unknown>> | undefined,
): Promise<void> {
  const source = quantization?.['source'] as { file?: unknown; sha256?: unknown } | undefined;
  if (typeof source?.file !== 'string' || typeof source.sha256 !== 'string') return;
  const file = resolve(dirname(onnxPath), source.file);
  if (!existsSync(file)) return;
  const sha = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  if (sha !== source.sha256)
    throw new Error(
      `${onnxPath} is the int8 variant of another ${file} (SHA-256 ${source.sha256.slice(0, 12)}…, the file ` +
        `now has ${sha.slice(0, 12)}…): run \`drivesense quantize ${file}\` after choosing its serving strength`,
    );
}

/** Whether every value is 0 (a batch's visual input with no camera in it). */
function allZero(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) return false;
  return true;
}

/**
 * The ONNX session as a `SpeechModelRunner` (inputs `audio` [n, F, bins, C], `visual` [n, H, W, F]; C = 2 or 3
 * for a noise-aware model, see speech-model-meta.ts). With `cameraAbsent` (the graph with the visual branch
 * folded for the zero input, input `audio` alone), a batch whose visual input is all zeros runs on it.
 */
export function onnxSpeechRunner(
  session: OnnxSession,
  model: SpeechModelShape,
  audioChannels: 1 | 2 | 3 = 1,
  cameraAbsent?: OnnxSession,
): SpeechModelRunner {
  return async (batch) => {
    const n = batch.size;
    const audio = { data: batch.audio, dims: [n, model.contextFrames, model.bins, audioChannels] };
    const out =
      cameraAbsent !== undefined && allZero(batch.visual)
        ? await cameraAbsent.run({ [AVDCNN_INPUT_NAMES.audio]: audio })
        : await session.run({
            [AVDCNN_INPUT_NAMES.audio]: audio,
            [AVDCNN_INPUT_NAMES.visual]: {
              data: batch.visual,
              dims: [n, model.mouthHeight, model.mouthWidth, model.contextFrames],
            },
          });
    const clean = out[AVDCNN_OUTPUT_NAMES.clean];
    if (clean === undefined) throw new Error(`the model has no '${AVDCNN_OUTPUT_NAMES.clean}' output`);
    return { clean: clean.data };
  };
}

/** Seed of the load-time check of a folded graph's values (`foldedGraphDifference`). */
const FOLD_CHECK_SEED = 0x5eed;
/**
 * Largest difference allowed between the folded and the full graph's float twins in that check. A correct
 * fold differs by float rounding (≤ 1e-6 on the committed members); a visual constant off by 1 % gives
 * 5e-4 on the float member, dropping it altogether 0.05 (test/models/onnx-fold-input.test.ts). The int8
 * graphs themselves are not compared: their activation quantisation differs by up to 0.008 between the two,
 * as much as a constant off by 3 % (measured 2026-11-25 on runs 46 and 47).
 */
export const FOLD_CHECK_TOLERANCE = 1e-4;

/**
 * Largest |folded − full| of the `clean` output on seeded inputs with zero crops, over the graphs' float
 * twins (`dequantizeOnnxMatMuls`: an int8 product as the float product of its dequantised weights, so that
 * only the fold differs), on the CPU (`maxAbsDifference`: NaN when a value is NaN; Infinity without a
 * `clean` output; throws when the two differ in length).
 */
export async function foldedGraphDifference(
  full: Uint8Array,
  folded: Uint8Array,
  meta: SpeechModelMeta,
  config: OnnxSessionConfig = {},
): Promise<number> {
  const m = meta.model;
  const n = 8;
  const rng = new SeededRandom(FOLD_CHECK_SEED);
  const audio = zeroTensor([n, m.contextFrames, m.bins, audioChannelsOf(meta)]);
  for (let i = 0; i < audio.data.length; i++) audio.data[i] = rng.normal();
  const visual = zeroTensor([n, m.mouthHeight, m.mouthWidth, m.contextFrames]);
  const cpu: OnnxSessionConfig = { ...config, executionProviders: ['cpu'], warmupRuns: 0 };
  const sessions: OnnxSession[] = [];
  try {
    sessions.push(await OnnxSession.create(dequantizeOnnxMatMuls(full), cpu));
    sessions.push(await OnnxSession.create(dequantizeOnnxMatMuls(folded), cpu));
    const want = (await sessions[0]!.run({ audio, visual }))[AVDCNN_OUTPUT_NAMES.clean]?.data;
    const got = (await sessions[1]!.run({ audio }))[AVDCNN_OUTPUT_NAMES.clean]?.data;
    if (want === undefined || got === undefined) return Infinity;
    return maxAbsDifference(want, got);
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

function zeroTensor(dims: number[]): { data: Float32Array; dims: number[] } {
  return { data: new Float32Array(dims.reduce((a, d) => a * d, 1)), dims };
}

/** How a model runs without the camera: on its folded graph, or on the full one and why. */
export type CameraAbsentGraph =
  | { readonly folded: true; readonly removedNodes: number; readonly foldedRows: number }
  | { readonly folded: false; readonly reason: string };

/** How the models run without the camera, in a line: "camera-absent graph for k of n model(s) (…why not)". */
export function describeCameraAbsent(graphs: readonly CameraAbsentGraph[]): string {
  const folded = graphs.filter((g) => g.folded).length;
  const reasons = [...new Set(graphs.flatMap((g) => (g.folded ? [] : [g.reason])))];
  return (
    `camera-absent graph for ${folded} of ${graphs.length} model(s)` +
    (reasons.length > 0 ? ` (the others on the full graph: ${reasons.join('; ')})` : '')
  );
}

/** Loading options beyond the ONNX Runtime session's. */
export interface SpeechModelLoadOptions {
  /**
   * Load each model's camera-absent graph too (default true); false runs every batch on the full graph (a
   * comparison: `npm run bench` times both).
   */
  readonly foldAbsentCamera?: boolean;
}

/**
 * The served graph's camera-absent variant (see the file comment): the visual branch's value for the zero
 * input evaluated once on a probe session, folded into FC1 (onnx-fold-input.ts), and checked against the
 * full graph (`foldedGraphDifference` ≤ `FOLD_CHECK_TOLERANCE`). A graph it cannot fold or that fails the
 * check (another architecture) runs on the full graph, with the reason.
 */
export async function loadCameraAbsentGraph(
  bytes: Uint8Array,
  meta: SpeechModelMeta,
  config: OnnxSessionConfig = {},
): Promise<{ session?: OnnxSession; graph: CameraAbsentGraph }> {
  let probe: OnnxSession | undefined;
  let session: OnnxSession | undefined;
  try {
    const exposed = exposeTensor(bytes, AVDCNN_INPUT_NAMES.visual);
    probe = await OnnxSession.create(exposed.bytes, { ...config, warmupRuns: 0 });
    const m = meta.model;
    const out = await probe.run({
      [AVDCNN_INPUT_NAMES.audio]: zeroTensor([1, m.contextFrames, m.bins, audioChannelsOf(meta)]),
      [AVDCNN_INPUT_NAMES.visual]: zeroTensor([1, m.mouthHeight, m.mouthWidth, m.contextFrames]),
    });
    const v = out[exposed.name];
    if (v === undefined) throw new Error(`the probe gave no '${exposed.name}'`);
    const folded = foldConstantInput(bytes, AVDCNN_INPUT_NAMES.visual, v);
    const diff = await foldedGraphDifference(bytes, folded.bytes, meta, config);
    if (!(diff <= FOLD_CHECK_TOLERANCE))
      throw new Error(`the folded graph differs from the full one by ${diff} (> ${FOLD_CHECK_TOLERANCE})`);
    session = await OnnxSession.create(folded.bytes, config);
    return { session, graph: { folded: true, removedNodes: folded.removedNodes, foldedRows: folded.rows } };
  } catch (e) {
    await session?.release();
    return { graph: { folded: false, reason: (e as Error).message } };
  } finally {
    await probe?.release();
  }
}

export interface SpeechEnhancerModel {
  readonly path: string;
  /** The model's metadata; of an ensemble, its first member's (the members share the STFT and context). */
  readonly meta: SpeechModelMeta;
  /** The ONNX session; of an ensemble, its first member's (all on the same execution providers). */
  readonly session: OnnxSession;
  /** The model runner; of an ensemble, its first member's (the ensemble averages outputs, not runners). */
  readonly runner: SpeechModelRunner;
  /** The model files served: this one, or an ensemble's members. */
  readonly members: readonly string[];
  /** Per member, how it runs without the camera (`loadCameraAbsentGraph`). */
  readonly cameraAbsent: readonly CameraAbsentGraph[];
  /** A new enhancer (one per audio stream) on this model. */
  createEnhancer(options?: SpeechEnhancerOptions): StreamingSpeechEnhancer;
  release(): Promise<void>;
}

/** Reads and checks an ensemble manifest file (ensemble.ts); errors name the file. */
export async function readEnsembleManifest(path: string): Promise<EnsembleManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`ensemble manifest ${path}: ${(e as Error).message}`);
  }
  return parseEnsembleManifest(raw, path);
}

/**
 * Loads an ensemble manifest (ensemble.ts) and its members. The members must share the STFT (rate, window,
 * hop), the context (causal or symmetric, frames) and the mouth crop size, so their outputs line up and the
 * camera path prepares one crop for all; each keeps its own normalisation, input channels and serving
 * strengths. Options given to `createEnhancer` apply to every member.
 */
async function loadSpeechEnsemble(
  path: string,
  session: OnnxSessionConfig,
  options: SpeechModelLoadOptions,
): Promise<SpeechEnhancerModel> {
  const manifest = await readEnsembleManifest(path);
  const models: SpeechEnhancerModel[] = [];
  try {
    for (const m of manifest.members)
      models.push(await loadSpeechEnhancerModel(resolve(dirname(path), m), session, options));
    const first = models[0]!;
    const shape = (x: SpeechEnhancerModel): string =>
      JSON.stringify({
        stft: x.meta.stft,
        context: x.meta.model.context,
        frames: x.meta.model.contextFrames,
        mouth: [x.meta.model.mouthHeight, x.meta.model.mouthWidth],
      });
    for (const x of models)
      if (shape(x) !== shape(first))
        throw new Error(
          `ensemble manifest ${path}: ${x.path} (${shape(x)}) does not line up with ${first.path} (${shape(first)})`,
        );
    return {
      path,
      meta: first.meta,
      session: first.session,
      runner: first.runner,
      members: models.map((x) => x.path),
      cameraAbsent: models.flatMap((x) => x.cameraAbsent),
      createEnhancer: (options = {}) =>
        sharesFrontEnd(
          models.map((x) => x.meta),
          options,
        )
          ? SpeechEnhancer.ensemble(
              models.map((x) => ({ meta: x.meta, runModel: x.runner })),
              options,
            )
          : new EnsembleEnhancer(models.map((x) => x.createEnhancer(options))),
      release: async () => {
        await Promise.all(models.map((x) => x.release()));
      },
    };
  } catch (e) {
    await Promise.all(models.map((x) => x.release()));
    throw e;
  }
}

/**
 * The model's bytes with only the `clean` output and what it needs (onnx-prune.ts): the enhancer never reads
 * the lip output, which is a training target, and its head would run on every chunk. A graph
 * without a `clean` output is loaded as it is, so the input and output checks name what is missing.
 */
async function servedGraph(onnxPath: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(onnxPath));
  try {
    return pruneOnnxOutputs(bytes, [AVDCNN_OUTPUT_NAMES.clean]).bytes;
  } catch {
    return bytes;
  }
}

/** Loads a speech model; a missing file gets an error that names it and how to make one. */
export async function loadSpeechEnhancerModel(
  onnxPath: string = DEFAULT_SPEECH_MODEL_PATH,
  session: OnnxSessionConfig = {},
  options: SpeechModelLoadOptions = {},
): Promise<SpeechEnhancerModel> {
  if (existsSync(onnxPath) && isEnsembleManifest(onnxPath))
    return loadSpeechEnsemble(onnxPath, session, options);
  if (!existsSync(onnxPath))
    throw new Error(
      `speech model ${onnxPath} not found: train one with \`drivesense train speech\` ` +
        `(it writes ${SPEECH_FLOAT_MODEL_PATH}) and \`drivesense quantize\` it (${SPEECH_INT8_MODEL_PATH}), ` +
        'or pass --model FILE.onnx',
    );
  const { meta, sidecar } = await readSpeechModelMeta(onnxPath);
  await checkQuantizedSource(onnxPath, sidecar.quantization);
  let s: OnnxSession;
  let graph: Uint8Array;
  try {
    graph = await servedGraph(onnxPath);
    s = await OnnxSession.create(graph, session);
  } catch (e) {
    throw new Error(`speech model ${onnxPath}: ${(e as Error).message}`, { cause: e });
  }
  // The graph's own input shapes must be the ones the metadata describes (the sidecar may not match the file).
  const m = meta.model;
  const want: Record<string, readonly number[]> = {
    [AVDCNN_INPUT_NAMES.audio]: [m.contextFrames, m.bins, audioChannelsOf(meta)],
    [AVDCNN_INPUT_NAMES.visual]: [m.mouthHeight, m.mouthWidth, m.contextFrames],
  };
  for (const [name, dims] of Object.entries(want)) {
    const info = s.inputs.find((i) => i.name === name);
    const why =
      info === undefined
        ? `the graph has no input '${name}' (inputs: ${s.inputNames.join(', ')})`
        : info.dims.length !== dims.length + 1 || dims.some((d, k) => info.dims[k + 1] !== d)
          ? `the graph's input '${name}' is [${info.dims.join(', ')}], the sidecar describes [batch, ${dims.join(', ')}]`
          : undefined;
    if (why !== undefined) {
      await s.release();
      throw new Error(`${onnxPath}: ${why}`);
    }
  }
  const absent: Awaited<ReturnType<typeof loadCameraAbsentGraph>> =
    options.foldAbsentCamera === false
      ? { graph: { folded: false, reason: 'not asked for (foldAbsentCamera: false)' } }
      : await loadCameraAbsentGraph(graph, meta, session);
  const runner = onnxSpeechRunner(s, meta.model, audioChannelsOf(meta), absent.session);
  return {
    path: onnxPath,
    meta,
    session: s,
    runner,
    members: [onnxPath],
    cameraAbsent: [absent.graph],
    createEnhancer: (o = {}) => new SpeechEnhancer(meta, runner, o),
    release: async () => {
      await Promise.all([s.release(), absent.session?.release()]);
    },
  };
}

/** Mouth crops as the evaluation holds them (evaluate.ts `MouthFrames`). */
export interface EvalMouthFrames {
  readonly aligned: AlignedMouth;
  readonly track?: MouthTrack;
}

/** What `drivesense eval speech` calls (eval-speech.ts `AvdcnnEnhancer`). */
export interface EvalEnhancer {
  enhance(noisy16k: Float32Array, mouth?: EvalMouthFrames): Promise<Float32Array>;
  release(): Promise<void>;
  /**
   * The serving settings every `enhance` uses (the options given, else the model's metadata): one entry,
   * or one per member of an ensemble.
   */
  readonly serving: readonly SpeechServingSettings[];
}

/** Chunk size of the whole-signal runs: 20 ms, as `drivesense enhance`. */
export const WHOLE_SIGNAL_CHUNK_SAMPLES = 320;

/**
 * The contract of `drivesense eval speech` (eval-speech.ts `AvdcnnLoader`): each call to `enhance` is one
 * utterance through a fresh enhancer (fresh state, running statistics included) in 20 ms chunks, exactly
 * as `drivesense enhance`. Mouth crops come from the per-video-frame track when known, else from the
 * crops aligned to the paper's STFT frames (AVDCNN_STFT), placed at those frames' centres.
 */
export async function loadEvalEnhancer(
  modelFile: string,
  options: SpeechEnhancerOptions = {},
  load: SpeechModelLoadOptions = {},
): Promise<EvalEnhancer> {
  const model = await loadSpeechEnhancerModel(modelFile, {}, load);
  return {
    serving: model.createEnhancer(options).memberServing,
    async enhance(noisy16k, mouth) {
      const frames =
        mouth === undefined
          ? []
          : mouth.track !== undefined
            ? mouthFramesFromTrack(mouth.track)
            : mouthFramesFromAligned(mouth.aligned, noisy16k.length, AVDCNN_STFT);
      const enhancer = model.createEnhancer(options);
      const out = await enhanceSamples(enhancer, noisy16k, WHOLE_SIGNAL_CHUNK_SAMPLES, frames);
      const s = enhancer.stats();
      if (s.modelErrors > 0) throw new Error(`${modelFile}: the model failed: ${s.lastModelError ?? '?'}`);
      return out;
    },
    release: () => model.release(),
  };
}
