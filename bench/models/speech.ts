/**
 * Speech enhancement real-time factor on one core (issue 5): the causal AVDCNN through the live path on ONNX
 * Runtime beside the project's logMMSE and the peers RNNoise and DeepFilterNet3, on the same clip in the same
 * run, with each system's algorithmic delay.
 *
 * Clip: 10 s of the committed sample drive's cabin audio (devices/sample-drive/audio.wav, 16 kHz mono,
 * corpus speech over Berlin street noise at 5 dB SNR), from 30 s: it holds the utterance the GRID face clip
 * speaks and one CMU ARCTIC utterance.
 *
 * Systems, each on the whole clip from a fresh state per run, as `drivesense eval speech` runs them:
 * - AVDCNN causal, the live path: a fresh `SpeechEnhancer` (the class the pipeline and `drivesense enhance`
 *   run) fed 20 ms chunks with their event times, then flushed (`enhanceSamples`), on ONNX Runtime (CPU EP,
 *   one intra-op and one inter-op thread), each model file timed in a fresh Node process (same affinity). The committed float model (SPEECH_FLOAT_MODEL_PATH) when present,
 *   and beside it its int8 variant (SPEECH_INT8_MODEL_PATH) and the live path's default, the ensemble of
 *   int8 models (DEFAULT_SPEECH_MODEL_PATH; every member runs on every chunk), when committed;
 *   otherwise an untrained model of the intended committed size (FC 500/400/300/500, seeded Glorot weights,
 *   the trained models' serving settings: 512/128 STFT, global normalisation, log-gain target, mask output)
 *   is exported to a temp dir and timed instead, and the result says so: the cost depends on the
 *   architecture, not on the weights. Audio-only (the camera-absent zero visual input) and audio-visual:
 *   constant mid-gray 16×24 mouth crops at 25 fps over the clip, handed over with the chunk containing
 *   their time (the crops' content does not change the cost). A run whose visual input is all zeros goes to
 *   the model's camera-absent graph (the visual branch folded into FC1, enhancer-onnx.ts): every run of the
 *   audio-only mode, and in the audio-visual mode every run of a member served without the camera (run 46 of
 *   the served pair) and of frames before the first crop; the other runs take the full graph. (A model
 *   trained on centred crops would centre constant crops to zeros, so its audio-visual rows would time the
 *   folded graph too; no committed model is.) The served ensemble is timed a second time with every run on
 *   the full graph (`-full-graph` rows), so that both are timed in one run.
 * - logMMSE (project baseline, src/models/speech/logmmse.ts), whole signal.
 * - RNNoise (npm peer @echogarden/rnnoise-wasm, bench/speech/rnnoise.ts): frame by frame in WebAssembly,
 *   with the wrapper's 16 → 48 → 16 kHz resampling included.
 * - DeepFilterNet3 (bench/speech/deepfilternet3.ts) from ../shared/peers/deepfilternet3 when its ONNX files
 *   are there (ONNX Runtime, one thread), its offline path: the graphs run once over the whole clip (not
 *   frame by frame), which favours it against a streaming system; resampling included.
 *
 * RTF = wall time of one pass / audio duration: the median of `REPETITIONS` passes after one warm-up pass
 * (the bench runs pinned to one core, alone); CPU time of the process (user + system) per pass beside it.
 * Ratios are system RTF / AVDCNN audio-visual RTF (> 1: slower than AVDCNN).
 * Algorithmic delay as the DNS Challenge counts it: window + hop + look-ahead, each system's figure with its
 * source. Budgets (issue 5): RTF ≤ 0.1, delay ≤ 40 ms for the causal AVDCNN.
 *
 * Run alone: `taskset -c 0 node --import tsx bench/models/speech.ts` prints the JSON.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { saveOnnxModel } from '../../src/models/common/onnx-export.ts';
import { avdcnnParameterCount, buildAvdcnn, resolveAvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import type { AvdcnnConfig } from '../../src/models/speech/avdcnn.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import type { MouthFrame } from '../../src/models/speech/camera-input.ts';
import {
  DEFAULT_SPEECH_MODEL_PATH,
  describeCameraAbsent,
  SPEECH_FLOAT_MODEL_PATH,
  SPEECH_INT8_MODEL_PATH,
  WHOLE_SIGNAL_CHUNK_SAMPLES,
  loadSpeechEnhancerModel,
  readEnsembleManifest,
} from '../../src/models/speech/enhancer-onnx.ts';
import { isEnsembleManifest } from '../../src/models/speech/ensemble.ts';
import type { CameraAbsentGraph, SpeechEnhancerModel } from '../../src/models/speech/enhancer-onnx.ts';
import { LOG_GAIN_FLOOR_DB } from '../../src/models/speech/examples.ts';
import { LOGMMSE_STFT, logMmse } from '../../src/models/speech/logmmse.ts';
import { logGainFloor, speechModelMeta } from '../../src/models/speech/speech-model-meta.ts';
import { designResampler } from '../../src/streams/features/audio/resample.ts';
import { LIVE_STFT_512_128, algorithmicDelay } from '../../src/streams/features/audio/stft.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { DFN3_DIR_DEFAULT, DeepFilterNet3Peer } from '../speech/deepfilternet3.ts';
import { RNNOISE_FRAME, RNNOISE_PACKAGE, RNNOISE_RATE_HZ, RnnoisePeer } from '../speech/rnnoise.ts';
import { median } from '../stats.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AUDIO = 'devices/sample-drive/audio.wav';
const CLIP_START_S = 30;
const CLIP_S = 10;
const RATE_HZ = 16_000;
const REPETITIONS = 7;
const RTF_BUDGET = 0.1;
const DELAY_BUDGET_MS = 40;
/** The intended committed size (docs/models/speech.md): FC1, FC2, FC audio, FC visual. */
const COMMITTED_FC = { fc1Units: 500, fc2Units: 400, fcAudioUnits: 300, fcVisualUnits: 500 } as const;
const MOUTH_FPS = 25;
const MOUTH_GRAY = 0.5;

const round = (v: number, d = 4): number => Math.round(v * 10 ** d) / 10 ** d;

interface Timing {
  repetitions: number;
  /** Median wall time per pass / audio duration. */
  rtf: number;
  rtfMin: number;
  rtfMax: number;
  xRealTime: number;
  wallMsMedian: number;
  cpuMsPerPass: number;
  /** CPU time per pass / audio duration. */
  cpuRtf: number;
}

/** One warm-up pass, then `REPETITIONS` timed passes (see the file comment). */
async function timePasses(pass: () => Promise<unknown>, durationS: number): Promise<Timing> {
  await pass();
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let r = 0; r < REPETITIONS; r++) {
    const t0 = performance.now();
    await pass();
    walls.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / REPETITIONS;
  const wall = median(walls);
  return {
    repetitions: REPETITIONS,
    rtf: round(wall / 1000 / durationS),
    rtfMin: round(Math.min(...walls) / 1000 / durationS),
    rtfMax: round(Math.max(...walls) / 1000 / durationS),
    xRealTime: round((durationS * 1000) / wall, 1),
    wallMsMedian: round(wall, 1),
    cpuMsPerPass: round(cpuMs, 1),
    cpuRtf: round(cpuMs / 1000 / durationS),
  };
}

interface Delay {
  algorithmicDelayMs: number;
  /** How the figure is made up and where it comes from. */
  delaySource: string;
}

interface SystemRow extends Timing, Delay {
  system: string;
  label: string;
  runtime: string;
  rtfRatioToAvdcnn?: number;
  meetsRtfBudget: boolean;
  meetsDelayBudget: boolean;
  notes?: string;
}

/** The committed model, or an untrained one of the committed size exported to a temp dir. */
async function avdcnnModel(): Promise<{
  model: SpeechEnhancerModel;
  weights: string;
  cleanup: () => Promise<void>;
}> {
  const committed = resolve(ROOT, SPEECH_FLOAT_MODEL_PATH);
  const session = { intraOpThreads: 1, interOpThreads: 1 };
  if (existsSync(committed))
    return {
      model: await loadSpeechEnhancerModel(committed, session),
      weights: 'committed',
      cleanup: () => Promise.resolve(),
    };
  await forceTrainingBackend('cpu');
  const dir = await mkdtemp(join(tmpdir(), 'bench-speech-'));
  const path = join(dir, 'avdcnn-causal-untrained.onnx');
  const config = resolveAvdcnnConfig({ context: 'causal', ...COMMITTED_FC });
  const tfModel = buildAvdcnn(config, 1);
  const bins = config.bins;
  try {
    await saveOnnxModel(tfModel, path, {
      metadata: {
        speech: speechModelMeta(
          config,
          { ...LIVE_STFT_512_128, fftSize: 512 },
          { kind: 'global', mean: new Array<number>(bins).fill(0), std: new Array<number>(bins).fill(1) },
          {
            target: {
              kind: 'log-gain',
              gainFloorDb: LOG_GAIN_FLOOR_DB,
              scale: Math.abs(logGainFloor(LOG_GAIN_FLOOR_DB)),
            },
            output: 'mask',
            training: {
              id: `avdcnn-causal-${Object.values(COMMITTED_FC).join('-')}-untrained`,
              note: 'untrained (seeded Glorot weights), for timing only',
            },
          },
        ),
      },
    });
  } finally {
    tfModel.dispose();
  }
  return {
    model: await loadSpeechEnhancerModel(path, session),
    weights: 'untrained (same architecture)',
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The full AVDCNN config of a model's metadata when it records one (the trained models do). */
function fullConfig(model: Readonly<Record<string, unknown>>): AvdcnnConfig | undefined {
  try {
    return resolveAvdcnnConfig(model as Partial<AvdcnnConfig>);
  } catch {
    return undefined;
  }
}

export interface BenchClip {
  readonly clip: Float32Array;
  readonly durationS: number;
  readonly mouth: MouthFrame[];
}

/** The bench clip and the audio-visual run's mouth crops (see the file comment); null without the audio. */
export async function loadBenchClip(): Promise<BenchClip | null> {
  const wavPath = resolve(ROOT, AUDIO);
  if (!existsSync(wavPath)) return null;
  const wav = await readWavFile(wavPath);
  if (wav.sampleRateHz !== RATE_HZ || wav.channels !== 1)
    throw new Error(`${AUDIO}: ${wav.sampleRateHz} Hz × ${wav.channels}, 16 kHz mono expected`);
  const start = CLIP_START_S * RATE_HZ;
  const clip = wav.samples.slice(start, start + CLIP_S * RATE_HZ);
  const durationS = clip.length / RATE_HZ;
  if (durationS < CLIP_S) throw new Error(`${AUDIO}: only ${durationS} s from ${CLIP_START_S} s`);
  const mouth: MouthFrame[] = Array.from({ length: Math.floor(durationS * MOUTH_FPS) }, (_, i) => ({
    tUs: Math.round((i * 1e6) / MOUTH_FPS),
    data: new Float32Array(16 * 24).fill(MOUTH_GRAY),
  }));
  return { clip, durationS, mouth };
}

/** One AVDCNN model file's timing, audio-only and audio-visual, with the last pass's statistics. */
interface ModelTiming {
  readonly provider: string;
  /** Per member, how it ran without the camera (enhancer-onnx.ts `CameraAbsentGraph`). */
  readonly cameraAbsent: readonly CameraAbsentGraph[];
  readonly modes: {
    readonly mode: 'audio' | 'av';
    readonly timing: Timing;
    readonly frames: number;
    readonly modelRuns: number;
    readonly withVisual: number;
    readonly withoutVisual: number;
  }[];
}

/** Times one model file through the live path in this process (the child side of `timeInFreshProcess`). */
async function timeModel(path: string, b: BenchClip, fold: boolean): Promise<ModelTiming> {
  const model = await loadSpeechEnhancerModel(
    path,
    { intraOpThreads: 1, interOpThreads: 1 },
    { foldAbsentCamera: fold },
  );
  try {
    const modes: ModelTiming['modes'][number][] = [];
    for (const [mode, frames] of [
      ['audio', []],
      ['av', b.mouth],
    ] as const) {
      let last = model.createEnhancer().stats();
      const timing = await timePasses(async () => {
        const enhancer = model.createEnhancer();
        await enhanceSamples(enhancer, b.clip, WHOLE_SIGNAL_CHUNK_SAMPLES, frames);
        last = enhancer.stats();
        if (last.modelErrors > 0) throw new Error(`AVDCNN failed: ${last.lastModelError ?? '?'}`);
      }, b.durationS);
      modes.push({
        mode,
        timing,
        frames: last.frames,
        modelRuns: last.modelRuns,
        withVisual: last.camera.audioFramesWithVisual,
        withoutVisual: last.camera.audioFramesWithoutVisual,
      });
    }
    return { provider: model.session.describe(), cameraAbsent: model.cameraAbsent, modes };
  } finally {
    await model.release();
  }
}

/**
 * Times a model file in a fresh Node process (this file with `--time-model PATH`; the CPU affinity is
 * inherited), so that no variant's figure depends on what ran before it in the same process: the ensemble
 * measured about 0.06 after the float and int8 models had run in the process and about 0.04 alone: after a
 * full garbage collection V8 marks almost without pause (docs/performance.md, scripts/speech-gc-probe.ts).
 */
async function timeInFreshProcess(path: string, fold = true): Promise<ModelTiming> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--time-model',
      path,
      ...(fold ? [] : ['--no-fold']),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as ModelTiming;
}

export async function benchSpeech(): Promise<Record<string, unknown>> {
  const b = await loadBenchClip();
  if (b === null) return { skipped: `no audio at ${AUDIO}` };
  const { clip, durationS, mouth } = b;

  const rows: SystemRow[] = [];
  const unavailable: { system: string; reason: string }[] = [];
  const row = (r: Omit<SystemRow, 'meetsRtfBudget' | 'meetsDelayBudget'>): SystemRow => ({
    ...r,
    meetsRtfBudget: r.rtf <= RTF_BUDGET,
    meetsDelayBudget: r.algorithmicDelayMs <= DELAY_BUDGET_MS,
  });

  // The live path's rows of one AVDCNN model file, audio-only and audio-visual (see the file comment),
  // timed in a fresh process.
  const avdcnnRows = async (
    path: string,
    suffix: string,
    labelSuffix: string,
    delay: Delay,
    fold = true,
  ): Promise<SystemRow[]> => {
    const t = await timeInFreshProcess(path, fold);
    return t.modes.map((m) =>
      row({
        system: `avdcnn${suffix}-${m.mode}`,
        label: `AVDCNN causal, ${m.mode === 'av' ? 'audio-visual' : 'audio-only'}${labelSuffix}`,
        runtime: `live path (SpeechEnhancer, 20 ms chunks), ${t.provider}, a fresh process`,
        ...m.timing,
        ...delay,
        notes:
          `${m.frames} STFT frames in ${m.modelRuns} model runs per pass; audio frames with a mouth ` +
          `crop ${m.withVisual}, without ${m.withoutVisual}; ${describeCameraAbsent(t.cameraAbsent)}`,
      }),
    );
  };

  // AVDCNN, the live path.
  const { model, weights, cleanup } = await avdcnnModel();
  let modelInfo: Record<string, unknown>;
  try {
    const meta = model.meta;
    const m = meta.model;
    if (m.context !== 'causal')
      throw new Error(`${model.path}: context ${m.context}, the causal model expected`);
    if (m.mouthHeight !== 16 || m.mouthWidth !== 24)
      throw new Error(`${model.path}: mouth ${m.mouthHeight}×${m.mouthWidth}, 16×24 expected`);
    const cfg = fullConfig(m);
    const provider = model.session.describe();
    const probe = model.createEnhancer();
    const d = probe.delay;
    const delay: Delay = {
      algorithmicDelayMs: round(d.ms, 2),
      delaySource:
        `window ${round(d.windowMs, 2)} + hop ${round(d.hopMs, 2)} + look-ahead ${round(d.lookaheadMs, 2)} ms ` +
        `(the model's STFT ${meta.stft.windowLength}/${meta.stft.hop} at ${meta.stft.sampleRateHz} Hz, causal ` +
        'context; SpeechEnhancer.delay = algorithmicDelay, stft.ts)',
    };
    const trainingId = meta.training?.['id'];
    modelInfo = {
      path: weights === 'committed' ? SPEECH_FLOAT_MODEL_PATH : null,
      weights,
      id: typeof trainingId === 'string' ? trainingId : null,
      context: m.context,
      contextFrames: m.contextFrames,
      fcUnits: cfg
        ? { fc1: cfg.fc1Units, fc2: cfg.fc2Units, fcAudio: cfg.fcAudioUnits, fcVisual: cfg.fcVisualUnits }
        : null,
      parameters: cfg ? avdcnnParameterCount(cfg).total : null,
      stft: meta.stft,
      normalization: meta.normalization.kind,
      target: meta.target?.kind ?? 'raw',
      mode: probe.mode,
      provider,
      chunkMs: (WHOLE_SIGNAL_CHUNK_SAMPLES / RATE_HZ) * 1000,
      algorithmicDelay: {
        ms: round(d.ms, 2),
        windowMs: round(d.windowMs, 2),
        hopMs: round(d.hopMs, 2),
        lookaheadMs: round(d.lookaheadMs, 2),
        withinBudget: d.ms <= DELAY_BUDGET_MS,
      },
    };
    rows.push(
      ...(await avdcnnRows(
        model.path,
        '',
        weights === 'committed' ? ', float32' : ' (untrained weights)',
        delay,
      )),
    );
    // The int8 CPU variant of the committed model (`drivesense quantize`), when committed beside it, and
    // the ensemble served by default (each member's int8 variant, outputs averaged), when committed.
    for (const [path, suffix, label] of [
      [SPEECH_INT8_MODEL_PATH, '-int8', ', int8 dense layers'],
      [DEFAULT_SPEECH_MODEL_PATH, '-ensemble-int8', ', ensemble of int8 models (served by default)'],
    ] as const) {
      const full = resolve(ROOT, path);
      if (weights !== 'committed' || !existsSync(full)) {
        unavailable.push({ system: `avdcnn${suffix}`, reason: `no ${path}` });
        continue;
      }
      const n = isEnsembleManifest(full) ? (await readEnsembleManifest(full)).members.length : 1;
      rows.push(...(await avdcnnRows(full, suffix, n > 1 ? `${label}, ${n} members` : label, delay)));
      // The served ensemble again with every run on the full graph: what the camera-absent graph saves.
      if (path === DEFAULT_SPEECH_MODEL_PATH)
        rows.push(
          ...(await avdcnnRows(
            full,
            `${suffix}-full-graph`,
            `${n > 1 ? `${label}, ${n} members` : label}, every run on the full graph`,
            delay,
            false,
          )),
        );
    }
  } finally {
    await model.release();
    await cleanup();
  }

  // logMMSE (project baseline).
  const lm = algorithmicDelay(LOGMMSE_STFT);
  rows.push(
    row({
      system: 'logmmse',
      label: 'logMMSE (project baseline)',
      runtime: 'TypeScript, whole signal (src/models/speech/logmmse.ts)',
      ...(await timePasses(() => Promise.resolve(logMmse(clip, RATE_HZ)), durationS)),
      algorithmicDelayMs: round(lm.ms, 2),
      delaySource:
        `window ${lm.windowMs} + hop ${lm.hopMs} ms, no look-ahead (LOGMMSE_STFT 320/160, logmmse.ts; its ` +
        '70 ms initial noise estimate holds output at start-up only)',
    }),
  );

  // Resampler look-ahead of the peers' wrappers (16 → 48 → 16 kHz), outside their algorithmic delay.
  const resampleLookaheadMs = round(
    (designResampler({ inputRateHz: RATE_HZ, outputRateHz: 48_000 }).latencySeconds +
      designResampler({ inputRateHz: 48_000, outputRateHz: RATE_HZ }).latencySeconds) *
      1000,
    2,
  );

  // RNNoise (npm peer).
  const rnnoise = await RnnoisePeer.create();
  const frameMs = (RNNOISE_FRAME / RNNOISE_RATE_HZ) * 1000;
  rows.push(
    row({
      system: 'rnnoise',
      label: 'RNNoise (peer)',
      runtime: `${RNNOISE_PACKAGE} (WebAssembly), 16 → 48 → 16 kHz (bench/speech/rnnoise.ts)`,
      ...(await timePasses(() => Promise.resolve(rnnoise.process(clip)), durationS)),
      algorithmicDelayMs: 3 * frameMs,
      delaySource:
        `window ${2 * frameMs} (two ${frameMs} ms frames) + hop ${frameMs} ms, no look-ahead (Valin 2018; ` +
        `bench/speech/rnnoise.ts); the wrapper's resamplers add ${resampleLookaheadMs} ms of look-ahead`,
    }),
  );

  // DeepFilterNet3 (peer ONNX graphs), when present.
  if (!DeepFilterNet3Peer.available(DFN3_DIR_DEFAULT)) {
    unavailable.push({
      system: 'dfn3',
      reason: `DeepFilterNet3 ONNX files (enc.onnx, erb_dec.onnx, df_dec.onnx, config.ini) not found in ${DFN3_DIR_DEFAULT}`,
    });
  } else {
    const dfn3 = await DeepFilterNet3Peer.create(DFN3_DIR_DEFAULT, { intraOpThreads: 1, interOpThreads: 1 });
    try {
      const c = dfn3.config;
      const hopMs = (c.hopSize / c.sr) * 1000;
      const windowMs = (c.fftSize / c.sr) * 1000;
      const lookahead = Math.max(c.convLookahead, c.dfLookahead);
      rows.push(
        row({
          system: 'dfn3',
          label: 'DeepFilterNet3 (peer)',
          runtime:
            'official ONNX graphs, ONNX Runtime (1 thread), offline path over the whole clip, ' +
            '16 → 48 → 16 kHz (bench/speech/deepfilternet3.ts)',
          ...(await timePasses(() => dfn3.process(clip), durationS)),
          algorithmicDelayMs: round(windowMs + hopMs + lookahead * hopMs, 2),
          delaySource:
            `window ${windowMs} + hop ${hopMs} + look-ahead ${lookahead} × ${hopMs} ms (config.ini fft_size ` +
            `${c.fftSize}, hop_size ${c.hopSize}, conv_lookahead ${c.convLookahead}, df_lookahead ` +
            `${c.dfLookahead} at ${c.sr} Hz; bench/speech/deepfilternet3.ts); the resamplers add ` +
            `${resampleLookaheadMs} ms of look-ahead`,
          notes: 'offline: the graphs see all frames at once, cheaper per frame than a streaming run',
        }),
      );
    } finally {
      await dfn3.release();
    }
  }

  const reference = rows.find((r) => r.system === 'avdcnn-av');
  if (reference !== undefined && reference.rtf > 0)
    for (const r of rows) r.rtfRatioToAvdcnn = round(r.rtf / reference.rtf, 3);

  return {
    clip: {
      file: AUDIO,
      startS: CLIP_START_S,
      durationS,
      sampleRateHz: RATE_HZ,
      mouthFrames: `${mouth.length} constant mid-gray 16×24 crops at ${MOUTH_FPS} fps (audio-visual run only; timing only)`,
    },
    method:
      `RTF = wall time of one pass over the clip / its duration, median of ${REPETITIONS} passes after one ` +
      'warm-up pass, each pass from a fresh state; CPU time (user + system) per pass beside it; one core ' +
      '(taskset), ONNX Runtime with one intra-op thread. Ratio = system RTF / AVDCNN audio-visual RTF.',
    cpusAvailable: availableParallelism(),
    budget: { rtf: RTF_BUDGET, algorithmicDelayMs: DELAY_BUDGET_MS },
    avdcnn: modelInfo,
    ratioReference: reference !== undefined ? 'avdcnn-av' : null,
    systems: rows,
    unavailable,
    resamplerLookaheadMs: resampleLookaheadMs,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--time-model');
  const path = i > 0 ? process.argv[i + 1] : undefined;
  if (path !== undefined) {
    const b = await loadBenchClip();
    if (b === null) throw new Error(`no audio at ${AUDIO}`);
    console.log(JSON.stringify(await timeModel(path, b, !process.argv.includes('--no-fold'))));
  } else console.log(JSON.stringify(await benchSpeech(), null, 2));
}
