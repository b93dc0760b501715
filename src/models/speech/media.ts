/**
 * Media decoding for the speech corpus: any audio file → 16 kHz mono float samples, and a video's frames as
 * raw RGB images. Training and evaluation only (it needs ffmpeg for anything but WAV; nothing here runs in the
 * live path).
 *
 * Audio: WAV through the project's reader (`readWavFile`); anything else (MPEG-1 with MP2 audio, MP4/M4A with
 * AAC, …) through `ffmpeg` decoding to 32-bit float at the file's own rate and channel count. Both paths then
 * share one rule: channels down-mixed by their mean, then resampled to 16 kHz with the project's polyphase
 * Kaiser resampler (`resample.ts`, ≥ 80 dB stop band as DESIGN.md asks). ffmpeg is deliberately not asked to
 * resample or down-mix: its default resampler's cut-off sits at 97 % of Nyquist and its down-mix matrix
 * depends on the channel layout, so one resampler and one down-mix rule serve every source.
 *
 * Video: `ffmpeg -f rawvideo -pix_fmt rgb24 -fps_mode passthrough` (every coded frame once, no duplication or
 * dropping); frame i is at `videoStartS + i / fps` with the rate and start from `ffprobe`.
 *
 * Processes are spawned with an argument vector (`execFile`, no shell). Errors name the file, and a missing
 * ffmpeg/ffprobe is named with the package that provides it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { promisify } from 'node:util';
import { resample } from '../../streams/features/audio/resample.ts';
import type { Image8 } from '../../streams/features/camera/image.ts';
import { readWavFile } from '../../streams/readers/wav.ts';

const run = promisify(execFile);
const MAX_BUFFER = 1 << 30;

export const SPEECH_RATE_HZ = 16_000;

/** sha256 (hex) of a file's bytes: the key of everything derived from it. */
export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

interface ProbeStream {
  readonly codec_type?: string;
  readonly sample_rate?: string;
  readonly channels?: number;
  readonly width?: number;
  readonly height?: number;
  readonly r_frame_rate?: string;
  readonly start_time?: string;
}

export interface MediaInfo {
  readonly audio?: { readonly rateHz: number; readonly channels: number; readonly startS: number };
  readonly video?: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    readonly startS: number;
  };
}

function parseRate(r: string | undefined): number {
  if (r === undefined) return NaN;
  const [a, b] = r.split('/').map(Number);
  return b === undefined ? Number(a) : Number(a) / b;
}

/**
 * The error of a failed ffmpeg/ffprobe call: names the file, and when the program itself is missing (ENOENT
 * from spawn) says so and which package installs it instead of the bare spawn error.
 */
function toolError(tool: 'ffmpeg' | 'ffprobe', doing: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') {
    return new Error(
      `${tool} is not installed (needed to ${doing}): install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg)`,
      { cause: e },
    );
  }
  return new Error(`${tool} failed to ${doing}: ${err.message}`, { cause: e });
}

/** ffprobe summary of the first audio and video streams. */
export async function probeMedia(path: string): Promise<MediaInfo> {
  let out: string;
  try {
    ({ stdout: out } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream', '-of', 'json', path], {
      maxBuffer: MAX_BUFFER,
      encoding: 'utf8',
    }));
  } catch (e) {
    throw toolError('ffprobe', `probe ${path}`, e);
  }
  const streams = (JSON.parse(out) as { streams?: ProbeStream[] }).streams ?? [];
  const a = streams.find((s) => s.codec_type === 'audio');
  const v = streams.find((s) => s.codec_type === 'video');
  return {
    ...(a !== undefined
      ? {
          audio: {
            rateHz: Number(a.sample_rate),
            channels: a.channels ?? 1,
            startS: Number(a.start_time ?? 0) || 0,
          },
        }
      : {}),
    ...(v !== undefined
      ? {
          video: {
            width: v.width ?? 0,
            height: v.height ?? 0,
            fps: parseRate(v.r_frame_rate),
            startS: Number(v.start_time ?? 0) || 0,
          },
        }
      : {}),
  };
}

/** Mean of interleaved channels. */
export function downmix(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const n = Math.floor(interleaved.length / channels);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += interleaved[i * channels + c]!;
    out[i] = s / channels;
  }
  return out;
}

/** Decodes the first audio stream with ffmpeg to interleaved float32 at its own rate and channel count. */
async function ffmpegAudio(
  path: string,
): Promise<{ samples: Float32Array; rateHz: number; channels: number }> {
  const info = await probeMedia(path);
  if (info.audio === undefined) throw new Error(`${path}: no audio stream`);
  const { rateHz, channels } = info.audio;
  if (!Number.isInteger(rateHz) || rateHz < 1) throw new Error(`${path}: bad audio rate ${rateHz}`);
  const buf = await ffmpegRaw(path, 'audio', ['-map', '0:a:0', '-vn', '-f', 'f32le', '-acodec', 'pcm_f32le']);
  const copy = new Uint8Array(buf.length - (buf.length % (4 * channels)));
  copy.set(buf.subarray(0, copy.length));
  return { samples: new Float32Array(copy.buffer), rateHz, channels };
}

/** ffmpeg's raw output (to stdout) of one stream of `path`, with the output options given. */
async function ffmpegRaw(path: string, what: 'audio' | 'video', output: readonly string[]): Promise<Buffer> {
  try {
    const { stdout } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', path, ...output, '-'], {
      maxBuffer: MAX_BUFFER,
      encoding: 'buffer',
    });
    return stdout;
  } catch (e) {
    throw toolError('ffmpeg', `decode the ${what} of ${path}`, e);
  }
}

export interface DecodedAudio {
  /** 16 kHz mono. */
  readonly samples: Float32Array;
  readonly sourceRateHz: number;
  readonly sourceChannels: number;
  /** Non-finite samples (after down-mixing) replaced by 0. */
  readonly nonFinite: number;
}

/** Any audio (or audio-visual) file → 16 kHz mono, with what it was: see the file comment. */
export async function decodeAudio(path: string): Promise<DecodedAudio> {
  let samples: Float32Array;
  let rateHz: number;
  let channels: number;
  if (extname(path).toLowerCase() === '.wav') {
    const w = await readWavFile(path);
    ({ samples, sampleRateHz: rateHz, channels } = w);
  } else {
    ({ samples, rateHz, channels } = await ffmpegAudio(path));
  }
  // downmix returns its input for mono: copy before replacing non-finite samples.
  const mono = channels === 1 ? samples.slice() : downmix(samples, channels);
  let nonFinite = 0;
  for (let i = 0; i < mono.length; i++) {
    if (!Number.isFinite(mono[i])) {
      mono[i] = 0;
      nonFinite++;
    }
  }
  return {
    samples: rateHz === SPEECH_RATE_HZ ? mono : resample(mono, rateHz, SPEECH_RATE_HZ),
    sourceRateHz: rateHz,
    sourceChannels: channels,
    nonFinite,
  };
}

/** 16 kHz mono samples of any audio (or audio-visual) file. */
export async function decodeAudio16k(path: string): Promise<Float32Array> {
  return (await decodeAudio(path)).samples;
}

export interface DecodedVideo {
  readonly frames: Image8[];
  readonly fps: number;
  /** Start of the video stream minus the start of the audio stream, s (0 for the GRID clips). */
  readonly offsetS: number;
}

/** Every frame of the first video stream as RGB (see the file comment). */
export async function decodeVideoRgb(path: string): Promise<DecodedVideo> {
  const info = await probeMedia(path);
  const v = info.video;
  if (v === undefined || v.width < 1 || v.height < 1 || !(v.fps > 0))
    throw new Error(`${path}: no usable video stream (${JSON.stringify(v)})`);
  const buf = await ffmpegRaw(path, 'video', [
    '-map',
    '0:v:0',
    '-an',
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
  ]);
  const size = v.width * v.height * 3;
  if (buf.length === 0 || buf.length % size !== 0)
    throw new Error(
      `${path}: ${buf.length} bytes of rgb24 is not a whole number of ${v.width}x${v.height} frames`,
    );
  const frames = Array.from({ length: buf.length / size }, (_, i) => ({
    width: v.width,
    height: v.height,
    channels: 3 as const,
    data: new Uint8Array(buf.buffer, buf.byteOffset + i * size, size),
  }));
  return { frames, fps: v.fps, offsetS: v.startS - (info.audio?.startS ?? v.startS) };
}
