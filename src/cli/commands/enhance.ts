/**
 * `drivesense enhance IN OUT [--video CLIP] [--model FILE.onnx]`: speech enhancement of a file with the live
 * path. The adapter around `SpeechEnhancer` (src/models/speech/enhancer.ts): file I/O and output only.
 *
 * - Input: WAV through the project's reader (any rate, channels, PCM or float); anything else (MP3, FLAC,
 *   M4A, MPG, …) through ffmpeg (spawned without a shell, media.ts) to float samples. Channels are averaged
 *   to mono and other rates resampled to 16 kHz with the project's polyphase resampler (≥ 80 dB stop band);
 *   the command says so. Non-finite samples are replaced by 0 and counted.
 * - `--video CLIP`: the clip's frames (ffmpeg) through the camera pipeline as training saw it (CorpusLoader:
 *   face landmarks, 24:16 mouth box, 16×24 gray), each crop at its frame time on the audio timeline.
 * - The SAME enhancer the pipeline runs, fed 20 ms chunks (`--chunk-ms`) with their event times from 0 and
 *   each mouth frame with the chunk that contains its time, then flushed: the output equals the streamed
 *   output of the same audio (and does not depend on the chunk size). It has exactly the input's length, on
 *   the input's timeline (no delay to compensate).
 * - Serving settings (`--mask-floor-db`, `--pause-gate-db`, …, serving-flags.ts): the same keys as
 *   `features.speech` in the config and `drivesense eval speech`, over the model's own; the report gives the
 *   settings in force for each model.
 * - OUT: 16 kHz mono WAV, 32-bit float by default (lossless; the enhanced signal may exceed ±1 slightly),
 *   or 16-bit PCM with `--format pcm16` (rounded, clipped to ±1).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command, ParsedArgs } from '../command.ts';
import { numberOpt, stringOpt, UsageError } from '../command.ts';
import {
  SERVING_FLAGS,
  SERVING_FLAGS_HELP,
  SERVING_FLAG_OPTIONS,
  describeServing,
  servingFromArgs,
} from '../serving-flags.ts';
import { DEFAULT_SPEECH_MODEL_PATH, loadSpeechEnhancerModel } from '../../models/speech/enhancer-onnx.ts';
import type { SpeechEnhancerStats } from '../../models/speech/enhancer.ts';
import type { MouthFrame } from '../../models/speech/camera-input.ts';
import { SPEECH_SERVING_KEYS, definedServing } from '../../models/speech/mask/settings.ts';
import type { SpeechServingSettings, SpeechServingValues } from '../../models/speech/mask/settings.ts';
import { enhanceSamples, mouthFramesFromTrack } from '../../models/speech/enhance-samples.ts';
import { SPEECH_RATE_HZ, decodeAudio } from '../../models/speech/media.ts';
import type { EnhancementMode } from '../../models/speech/speech-model-meta.ts';
import { writeWavFile } from '../../streams/readers/wav.ts';
import type { WavWriteFormat } from '../../streams/readers/wav.ts';

const HELP = `Usage: drivesense enhance IN OUT [--video CLIP] [--model FILE.onnx] [--format float32|pcm16]
                          [--mode spectrum|mask] [--chunk-ms 20] [--json] [serving settings]

Cleans the speech in IN (WAV, or any format ffmpeg reads; any rate and channel count: down-mixed and
resampled to 16 kHz) with the live speech enhancer and writes OUT, a 16 kHz mono WAV of the same length.

  --video CLIP     a video of the talker's face: mouth crops feed the audio-visual model (default: audio only)
  --model FILE     the ONNX model with its FILE.json sidecar, or an ensemble manifest (*.ensemble.json: several
                   models, their outputs averaged); default ${DEFAULT_SPEECH_MODEL_PATH}
  --format F       float32 (default, lossless) or pcm16 (rounded, clipped)
  --mode M         spectrum (the predicted magnitude with the noisy phase) or mask (the prediction bounded by
                   the noisy magnitude); default: the model's metadata, else mask for a gain or log-gain
                   model, else spectrum
  --chunk-ms MS    chunk size fed to the enhancer (default 20; the output does not depend on it)
  --json           print the report as one JSON object
  -h, --help       this help

Serving settings of the mask (the keys of features.speech in the config), in mask mode:
${SERVING_FLAGS_HELP}

Exit status: 0 ok, 1 I/O, model or data error, 2 bad arguments.`;

export interface DecodedInput {
  /** 16 kHz mono. */
  readonly samples: Float32Array;
  readonly sourceRateHz: number;
  readonly sourceChannels: number;
  readonly resampled: boolean;
  /** Non-finite input samples replaced by 0. */
  readonly nonFinite: number;
}

/** IN → 16 kHz mono (see the file comment). */
export async function decodeInputAudio(path: string): Promise<DecodedInput> {
  if (!existsSync(path)) throw new Error(`${path} not found`);
  const a = await decodeAudio(path);
  return { ...a, resampled: a.sourceRateHz !== SPEECH_RATE_HZ };
}

/** Mouth crops of a video clip, as the training's camera path makes them (16×24 gray, frame times in µs). */
export async function mouthFramesFromVideo(
  clip: string,
): Promise<{ frames: MouthFrame[]; videoFrames: number; fps: number }> {
  if (!existsSync(clip)) throw new Error(`${clip} not found`);
  // Loaded only when needed: the face landmarker brings TF.js and its weights.
  const { CorpusLoader } = await import('../../models/speech/corpus.ts');
  const loader = new CorpusLoader({ root: '' }, { cacheDir: null, mouthColor: 'gray' });
  try {
    const track = await loader.mouthTrack(resolve(clip));
    return { frames: mouthFramesFromTrack(track), videoFrames: track.count, fps: track.fps };
  } finally {
    await loader.close();
  }
}

export interface EnhanceOptions {
  readonly input: string;
  readonly output: string;
  readonly video?: string;
  readonly model?: string;
  readonly format?: WavWriteFormat;
  readonly mode?: EnhancementMode;
  readonly chunkMs?: number;
  /** Serving settings over the model's own (mask/settings.ts). */
  readonly serving?: SpeechServingValues;
  /** Progress notes (resampling, video); default none. */
  readonly log?: (message: string) => void;
}

export interface EnhanceReport {
  readonly input: string;
  readonly output: string;
  readonly model: string;
  readonly provider: string;
  readonly context: 'causal' | 'symmetric';
  readonly mode: EnhancementMode;
  readonly format: WavWriteFormat;
  readonly sourceRateHz: number;
  readonly sourceChannels: number;
  readonly resampled: boolean;
  readonly inputNonFinite: number;
  readonly samples: number;
  readonly durationS: number;
  readonly algorithmicDelayMs: number;
  /**
   * The serving settings in force, per model (one entry unless an ensemble); none in spectrum mode, which has
   * no mask. In JSON a floor of −Infinity (none) is null.
   */
  readonly serving: readonly SpeechServingSettings[];
  readonly video?: { readonly clip: string; readonly frames: number; readonly mouthFrames: number };
  readonly stats: SpeechEnhancerStats;
  /** Wall time of the enhancement (model load and file I/O excluded) / audio duration. */
  readonly realTimeFactor: number;
}

/** The command without its argument parsing and printing. */
export async function enhanceFile(options: EnhanceOptions): Promise<EnhanceReport> {
  const log = options.log ?? (() => undefined);
  const modelPath = options.model ?? DEFAULT_SPEECH_MODEL_PATH;
  const model = await loadSpeechEnhancerModel(modelPath);
  try {
    const serving = definedServing(options.serving ?? {});
    const enhancer = model.createEnhancer({
      ...serving,
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    });
    const given = SPEECH_SERVING_KEYS.filter((k) => serving[k] !== undefined);
    if (enhancer.mode !== 'mask' && given.length > 0)
      throw new UsageError(
        `${given.map((k) => `--${SERVING_FLAGS[k]}`).join(', ')}: serving settings of the mask, but ` +
          `${modelPath} is served in ${enhancer.mode} mode (use --mode mask)`,
      );
    const audio = await decodeInputAudio(options.input);
    if (audio.resampled || audio.sourceChannels !== 1)
      log(
        `${options.input}: ${audio.sourceRateHz} Hz, ${audio.sourceChannels} channel(s) → ${SPEECH_RATE_HZ} Hz mono` +
          (audio.resampled ? ' (resampled, polyphase Kaiser, ≥ 80 dB stop band)' : ' (down-mixed)'),
      );
    if (audio.nonFinite > 0) log(`${options.input}: ${audio.nonFinite} non-finite samples replaced by 0`);
    let mouth: MouthFrame[] = [];
    let video: EnhanceReport['video'];
    if (options.video !== undefined) {
      const v = await mouthFramesFromVideo(options.video);
      mouth = v.frames;
      video = { clip: options.video, frames: v.videoFrames, mouthFrames: v.frames.length };
      log(
        `${options.video}: ${v.videoFrames} frames at ${v.fps.toFixed(2)} fps, ${v.frames.length} mouth crops`,
      );
    }
    const chunkMs = options.chunkMs ?? 20;
    const chunkSamples = Math.round((chunkMs * SPEECH_RATE_HZ) / 1000);
    if (chunkSamples < 1) throw new UsageError(`--chunk-ms ${chunkMs} is less than one sample`);
    const t0 = performance.now();
    const enhanced = await enhanceSamples(enhancer, audio.samples, chunkSamples, mouth);
    const elapsedS = (performance.now() - t0) / 1000;
    const stats = enhancer.stats();
    if (stats.modelErrors > 0)
      throw new Error(`the model failed on ${stats.modelErrors} run(s): ${stats.lastModelError ?? '?'}`);
    const format = options.format ?? 'float32';
    await writeWavFile(
      options.output,
      { sampleRateHz: SPEECH_RATE_HZ, channels: 1, samples: enhanced },
      format,
    );
    const durationS = audio.samples.length / SPEECH_RATE_HZ;
    return {
      input: options.input,
      output: options.output,
      model: modelPath,
      provider: model.session.provider,
      context: model.meta.model.context,
      mode: enhancer.mode,
      format,
      sourceRateHz: audio.sourceRateHz,
      sourceChannels: audio.sourceChannels,
      resampled: audio.resampled,
      inputNonFinite: audio.nonFinite,
      samples: enhanced.length,
      durationS,
      algorithmicDelayMs: enhancer.delay.ms,
      serving: enhancer.mode === 'mask' ? enhancer.memberServing : [],
      ...(video !== undefined ? { video } : {}),
      stats,
      realTimeFactor: durationS > 0 ? elapsedS / durationS : 0,
    };
  } finally {
    await model.release();
  }
}

/** The text report. */
export function formatEnhanceReport(r: EnhanceReport): string {
  const s = r.stats;
  const c = s.camera;
  return [
    `${r.input} → ${r.output}: ${r.samples} samples (${r.durationS.toFixed(2)} s) at 16 kHz, ${r.format}`,
    `model ${r.model} (${r.context}, ${r.mode}) on ${r.provider}: algorithmic delay ${r.algorithmicDelayMs.toFixed(1)} ms, ` +
      `${s.frames} frames in ${s.modelRuns} runs, RTF ${r.realTimeFactor.toFixed(3)}`,
    ...(r.mode === 'mask' ? [`serving settings: ${describeServing(r.serving)}`] : []),
    `input ${r.sourceRateHz} Hz, ${r.sourceChannels} channel(s)${r.resampled ? ', resampled' : ''}; ` +
      `non-finite ${r.inputNonFinite + s.nonFinite}, clipped ${s.clipped}`,
    r.video !== undefined
      ? `video ${r.video.clip}: ${r.video.frames} frames, ${r.video.mouthFrames} mouth crops; audio frames with a ` +
        `mouth ${c.audioFramesWithVisual}, without ${c.audioFramesWithoutVisual}; late ${c.late}, ` +
        `out of order ${c.outOfOrder}`
      : 'video: none (audio-only: zero visual input)',
  ].join('\n');
}

/** Parses command-line values (exported for tests). */
export function enhanceOptionsFrom(args: ParsedArgs): EnhanceOptions & { json: boolean } {
  const [input, output, extra] = args.positionals;
  if (input === undefined || output === undefined) throw new UsageError(`IN and OUT are required\n\n${HELP}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const format = stringOpt(args, 'format') ?? 'float32';
  if (format !== 'float32' && format !== 'pcm16')
    throw new UsageError(`--format must be float32 or pcm16, got ${JSON.stringify(format)}`);
  const mode = stringOpt(args, 'mode');
  if (mode !== undefined && mode !== 'spectrum' && mode !== 'mask')
    throw new UsageError(`--mode must be spectrum or mask, got ${JSON.stringify(mode)}`);
  const chunkMs = numberOpt(args, 'chunk-ms', 20);
  if (!(chunkMs > 0)) throw new UsageError('--chunk-ms must be > 0');
  const video = stringOpt(args, 'video');
  const model = stringOpt(args, 'model');
  const serving = servingFromArgs(args);
  return {
    input,
    output,
    format,
    chunkMs,
    ...(mode !== undefined ? { mode } : {}),
    ...(video !== undefined ? { video } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(Object.keys(serving).length > 0 ? { serving } : {}),
    json: args.values['json'] === true,
  };
}

export const enhanceCommand: Command = {
  name: 'enhance',
  summary: 'clean the speech in an audio file with the live speech enhancer (optionally audio-visual)',
  help: HELP,
  options: {
    video: { type: 'string' },
    model: { type: 'string' },
    format: { type: 'string' },
    mode: { type: 'string' },
    'chunk-ms': { type: 'string' },
    json: { type: 'boolean' },
    ...SERVING_FLAG_OPTIONS,
  },
  async run(args: ParsedArgs): Promise<number> {
    const { json, ...options } = enhanceOptionsFrom(args);
    const report = await enhanceFile({ ...options, log: (m) => console.error(m) });
    console.log(json ? JSON.stringify(report) : formatEnhanceReport(report));
    return 0;
  },
};
