/**
 * The speech-enhancement corpus: which utterances (with their speakers) and noise recordings exist in the
 * shared data, and loading them as 16 kHz mono samples — plus, for the GRID talking-face clips, the 16×24
 * mouth crop of every video frame aligned to the audio STFT frames.
 *
 * Sources (paths relative to the data root, `../shared/data` on developer machines; docs/models/speech-data.md
 * has the licences):
 * - `audio/speech/cmu_arctic/cmu_arctic_us_<spk>_<utt>.wav` — speaker from the name (aew, axb);
 *   `arctic_a0010.wav` names no speaker: `cmu_arctic:unknown`, `speakerKnown: false`.
 * - `audio/speech/lombard_grid/<spk>_<l|p>_<utt>.wav` — speaker s30…s37 (`_l_` Lombard, `_p_` plain).
 * - `av/grid/MANIFEST.csv` — file, speaker (sN known GRID id, spkX a speaker grouped by eye), transcript; the
 *   clip's own audio (MP2/AAC 44.1 kHz stereo) is the clean speech, its video gives the mouth crops.
 * Speaker ids are namespaced by source (`lombard_grid:s30` and a GRID `s30` would be different people).
 *
 * Noise categories: car-interior (NOISEX-92 volvo), engine (engine_unclear_license), street (Berlin, two AAC
 * recordings), babble (NOISEX-92), household (Speech Commands background: dishes, exercise bike).
 *
 * Mouth crops: video frames decoded by ffmpeg (media.ts) go one by one, in time order, through the project's
 * camera path exactly as live — `createMouthExtractor` with the config defaults (landmarks, tiny detector,
 * detection every 5th frame and NCC tracking in between, One Euro smoothing, 24:16 box) — except the output
 * colour, gray by default (`mouthColor`). A frame whose crop is dropped ('no-roi', …) is stored as missing.
 * Frame i of the video is at `offsetS + i/fps` s on the audio's timeline (offset 0 for every GRID clip).
 *
 * Alignment to the audio frames (`alignMouth`): the STFT of stft.ts puts frame t over samples
 * [(t+1)·hop − W, (t+1)·hop), so its centre is at t·hop + hop − W/2 samples (AVDCNN_STFT: t·20 ms + 4 ms).
 * `alignVisualFrames` (frame-align.ts) pairs each audio frame with the video: mode 'causal' (default, the live
 * path's rule) takes the newest video frame at or before the centre — at 50 audio frames/s against 25 video
 * frames/s this repeats every video frame exactly twice; 'linear' interpolates between neighbouring video
 * frames (offline). Either way there is one visual entry per audio frame, 'missing' (zeros) where no crop is
 * within 100 ms.
 *
 * Caching (cache.ts): decoded 16 kHz audio and the per-video-frame crops are stored under
 * `out/speech-cache/` keyed by the file's sha256 and the processing options; the alignment is recomputed on
 * every load (cheap, and it depends on the STFT chosen).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { AVDCNN_STFT } from '../../streams/features/audio/stft.ts';
import type { StftConfig } from '../../streams/features/audio/stft.ts';
import { cameraFeaturesSchema, createMouthExtractor } from '../../streams/features/camera/config.ts';
import type { CameraFeaturesConfig, CameraFeaturesInput } from '../../streams/features/camera/config.ts';
import { alignVisualFrames, audioFrameTimesUs } from '../../streams/features/camera/frame-align.ts';
import type { AlignStats, VisualFrame } from '../../streams/features/camera/frame-align.ts';
import { createFaceLandmarker } from '../../streams/features/camera/landmarks.ts';
import type { FaceLandmarker } from '../../streams/features/camera/landmarks.ts';
import { MOUTH_INPUT_HEIGHT, MOUTH_INPUT_WIDTH } from '../../streams/features/camera/mouth-extractor.ts';
import type { ColorMode } from '../../streams/features/camera/resize.ts';
import { FeatureCache, cacheKey } from './cache.ts';
import { SPEECH_RATE_HZ, decodeAudio16k, decodeVideoRgb, fileSha256 } from './media.ts';

/**
 * Where an utterance comes from. 'extra' is training-only speech outside the data root
 * (`loadExtraSpeechCatalog`): it is in no split and the mixer never draws it for validation or test.
 */
export type SpeechSource = 'cmu_arctic' | 'lombard_grid' | 'grid' | 'extra';
export const SPEECH_SOURCES: readonly SpeechSource[] = ['cmu_arctic', 'lombard_grid', 'grid', 'extra'];

export type NoiseCategory = 'car-interior' | 'engine' | 'street' | 'babble' | 'household';
export const NOISE_CATEGORIES: readonly NoiseCategory[] = [
  'car-interior',
  'engine',
  'street',
  'babble',
  'household',
];

export interface UtteranceEntry {
  /** `<source>/<file name without extension>`, unique. */
  readonly id: string;
  readonly source: SpeechSource;
  /** `<source>:<speaker>`. */
  readonly speaker: string;
  /** False when the file names no speaker (it may be any speaker of its source). */
  readonly speakerKnown: boolean;
  /** Path relative to the data root. */
  readonly path: string;
  /** Has a talking-face video (GRID). */
  readonly av: boolean;
  readonly transcript?: string;
}

export interface NoiseEntry {
  /** `<folder>/<file name without extension>`, unique. */
  readonly id: string;
  readonly category: NoiseCategory;
  readonly path: string;
  readonly licence: string;
  /** False for material the data README says must never be committed (noisex92, engine_unclear_license). */
  readonly committable: boolean;
}

export interface Catalog {
  /** Absolute data root. */
  readonly root: string;
  readonly utterances: readonly UtteranceEntry[];
  readonly noises: readonly NoiseEntry[];
}

export const SOURCE_LICENCES: Readonly<Record<SpeechSource, string>> = {
  cmu_arctic: 'CMU ARCTIC (permissive, keep notice)',
  lombard_grid: 'CC BY 4.0 (Audio-Visual Lombard GRID, Alghamdi et al. 2018)',
  grid: 'CC BY 4.0 (GRID, Cooke et al. 2006)',
  extra: 'as given with the directory (training only, never committed)',
};

interface NoiseFolder {
  readonly dir: string;
  readonly licence: string;
  readonly committable: boolean;
  readonly category: (file: string) => NoiseCategory | undefined;
}

const NOISE_FOLDERS: readonly NoiseFolder[] = [
  {
    dir: 'noisex92',
    licence: 'NOISEX-92: no explicit licence (do not commit)',
    committable: false,
    category: (f) => (f.startsWith('volvo') ? 'car-interior' : f.startsWith('babble') ? 'babble' : undefined),
  },
  {
    dir: 'engine_unclear_license',
    licence: 'unknown origin (do not commit)',
    committable: false,
    category: () => 'engine',
  },
  {
    dir: 'berlin_street',
    licence: "CC BY 4.0 ('Berlin Noise' by Thomas Rosen)",
    committable: true,
    category: () => 'street',
  },
  {
    dir: 'speech_commands_bg',
    licence: 'CC BY 4.0 (Google Speech Commands background noise)',
    committable: true,
    category: () => 'household',
  },
];

const AUDIO_EXT = new Set(['.wav', '.m4a', '.mp3', '.flac', '.ogg', '.aac']);

/** Natural order (s2 before s10), locale-independent. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Speaker of a CMU ARCTIC or Lombard GRID file name; undefined = the name gives none. */
export function speakerFromFileName(source: 'cmu_arctic' | 'lombard_grid', file: string): string | undefined {
  const stem = basename(file, extname(file));
  if (source === 'cmu_arctic') return /^cmu_arctic_us_([a-z]+)_[a-z]\d+$/.exec(stem)?.[1];
  return /^(s\d+)_[lp]_[a-z0-9]+$/.exec(stem)?.[1];
}

/** Minimal CSV (RFC 4180 quotes) → rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).sort(naturalCompare);
}

/** Lists the utterances and noise recordings under the data root (no audio is read). */
export async function loadCatalog(root: string): Promise<Catalog> {
  const abs = resolve(root);
  const utterances: UtteranceEntry[] = [];
  for (const source of ['cmu_arctic', 'lombard_grid'] as const) {
    const rel = `audio/speech/${source}`;
    for (const f of await listFiles(join(abs, rel))) {
      if (extname(f).toLowerCase() !== '.wav') continue;
      const spk = speakerFromFileName(source, f);
      utterances.push({
        id: `${source}/${basename(f, extname(f))}`,
        source,
        speaker: `${source}:${spk ?? 'unknown'}`,
        speakerKnown: spk !== undefined,
        path: `${rel}/${f}`,
        av: false,
      });
    }
  }
  const manifest = join(abs, 'av/grid/MANIFEST.csv');
  if (existsSync(manifest)) {
    const [header, ...rows] = parseCsv(await readFile(manifest, 'utf8'));
    const col = (name: string): number => {
      const i = header?.indexOf(name) ?? -1;
      if (i < 0) throw new Error(`${manifest}: no "${name}" column`);
      return i;
    };
    const [fi, si, ti] = [col('file'), col('speaker'), col('transcript')];
    for (const r of rows) {
      const file = r[fi]!;
      const spk = r[si]!;
      if (!existsSync(join(abs, 'av/grid', file))) throw new Error(`${manifest}: ${file} is missing`);
      const transcript = r[ti] ?? '';
      utterances.push({
        id: `grid/${basename(file, extname(file))}`,
        source: 'grid',
        speaker: `grid:${spk}`,
        speakerKnown: spk !== '',
        path: `av/grid/${file}`,
        av: true,
        ...(transcript !== '' ? { transcript } : {}),
      });
    }
  }
  const noises: NoiseEntry[] = [];
  for (const folder of NOISE_FOLDERS) {
    const rel = `audio/noise/${folder.dir}`;
    for (const f of await listFiles(join(abs, rel))) {
      if (!AUDIO_EXT.has(extname(f).toLowerCase())) continue;
      const category = folder.category(f);
      if (category === undefined) continue;
      noises.push({
        id: `${folder.dir}/${basename(f, extname(f))}`,
        category,
        path: `${rel}/${f}`,
        licence: folder.licence,
        committable: folder.committable,
      });
    }
  }
  return { root: abs, utterances, noises };
}

/** Mouth crops of every video frame of a clip. */
export interface MouthTrack {
  readonly fps: number;
  /** Video start on the audio timeline, s. */
  readonly offsetS: number;
  readonly width: number;
  readonly height: number;
  /** Values per frame: width · height · (1 gray | 3 rgb), layout hwc, in [0, 1]. */
  readonly frameSize: number;
  readonly count: number;
  /** count × frameSize (zeros where `ok` is 0). */
  readonly data: Float32Array;
  /** 1 where the extractor produced a crop. */
  readonly ok: Uint8Array;
}

/** Visual input per audio frame. */
export interface AlignedMouth {
  readonly frames: number;
  readonly frameSize: number;
  readonly width: number;
  readonly height: number;
  /** frames × frameSize; zeros where missing. */
  readonly data: Float32Array;
  /** 1 = a crop is there, 0 = missing. */
  readonly present: Uint8Array;
  readonly stats: AlignStats;
}

export interface LoadedUtterance {
  readonly entry: UtteranceEntry;
  /** 16 kHz mono. */
  readonly samples: Float32Array;
  /** AV clips only: the per-video-frame crops and their alignment to the STFT frames of `samples`. */
  readonly track?: MouthTrack;
  readonly mouth?: AlignedMouth;
}

export interface LoadedNoise {
  readonly entry: NoiseEntry;
  readonly samples: Float32Array;
}

export interface AlignOptions {
  readonly stft?: StftConfig;
  /** 'causal' (default: sample-and-hold, each 25 fps frame used for two 20 ms audio frames) or 'linear'. */
  readonly mode?: 'causal' | 'linear';
}

/** Times (µs, audio timeline) of the centres of the STFT frames of `samples` samples (see the header). */
export function stftFrameCentresUs(samples: number, stft: StftConfig = AVDCNN_STFT): Float64Array {
  const { sampleRateHz: rate, windowLength: w, hop } = stft;
  const frames = samples <= 0 ? 0 : Math.floor((samples - 1 + w) / hop);
  // audioFrameTimesUs puts frame k's centre at start + (k·hop + W/2)/rate; STFT frame t starts at t·hop − (W − hop).
  return audioFrameTimesUs(
    { startUs: ((hop - w) / rate) * 1e6, sampleRateHz: rate, hop, window: w, anchor: 'centre' },
    frames,
  );
}

/** One visual entry per STFT frame of `samples` audio samples (see the header). */
export function alignMouth(track: MouthTrack, samples: number, options: AlignOptions = {}): AlignedMouth {
  const times = stftFrameCentresUs(samples, options.stft ?? AVDCNN_STFT);
  const frames: VisualFrame[] = [];
  for (let i = 0; i < track.count; i++) {
    if (track.ok[i] !== 1) continue;
    frames.push({
      tUs: Math.round((track.offsetS + i / track.fps) * 1e6),
      data: track.data.subarray(i * track.frameSize, (i + 1) * track.frameSize),
    });
  }
  const { aligned, stats } = alignVisualFrames(frames, times, {
    mode: options.mode ?? 'causal',
    frameSize: track.frameSize,
  });
  const data = new Float32Array(aligned.length * track.frameSize);
  const present = new Uint8Array(aligned.length);
  aligned.forEach((a, k) => {
    if (a.status === 'ok') {
      data.set(a.data, k * track.frameSize);
      present[k] = 1;
    }
  });
  return {
    frames: aligned.length,
    frameSize: track.frameSize,
    width: track.width,
    height: track.height,
    data,
    present,
    stats,
  };
}

/**
 * Training-only speech: `DIR/<speaker>/*.wav` (any rate; read at 16 kHz like the rest), one speaker per
 * folder. Ids are `extra/<speaker>/<file>`, speakers `extra:<speaker>`; `root` is DIR. Throws when DIR holds
 * no such file.
 */
export async function loadExtraSpeechCatalog(dir: string): Promise<Catalog> {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new Error(`extra speech: ${dir} does not exist`);
  const utterances: UtteranceEntry[] = [];
  for (const spk of await listFiles(abs)) {
    if (!(await stat(join(abs, spk))).isDirectory()) continue;
    for (const f of await listFiles(join(abs, spk))) {
      if (extname(f).toLowerCase() !== '.wav') continue;
      utterances.push({
        id: `extra/${spk}/${basename(f, extname(f))}`,
        source: 'extra',
        speaker: `extra:${spk}`,
        speakerKnown: true,
        path: `${spk}/${f}`,
        av: false,
      });
    }
  }
  if (utterances.length === 0) throw new Error(`extra speech: no DIR/<speaker>/*.wav files in ${dir}`);
  return { root: abs, utterances, noises: [] };
}

export interface CorpusLoaderOptions {
  /** Cache directory (default `out/speech-cache`), or null for none. */
  readonly cacheDir?: string | null;
  /** Mouth crop colour (default 'gray': 16×24×1). */
  readonly mouthColor?: ColorMode;
  /** Overrides of the camera feature config (cameraFeaturesSchema); output size and colour are set here. */
  readonly camera?: CameraFeaturesInput;
  /** Alignment of the crops to the audio frames. */
  readonly align?: AlignOptions;
  /** Skip the video (mouth crops) of AV clips. */
  readonly audioOnly?: boolean;
}

interface AudioMeta {
  readonly length: number;
  readonly rateHz: number;
  readonly path: string;
}

interface TrackMeta {
  readonly length: number;
  readonly fps: number;
  readonly offsetS: number;
  readonly width: number;
  readonly height: number;
  readonly frameSize: number;
  readonly count: number;
  readonly ok: number[];
  readonly path: string;
}

/**
 * Loads catalogue entries (16 kHz audio, mouth crops) through the cache. Holds a face landmarker once a clip
 * needed one: call `close()` when done (it frees the TF.js weights).
 */
export class CorpusLoader {
  readonly cache: FeatureCache;
  private landmarker: Promise<FaceLandmarker> | undefined;
  private readonly cameraConfig: CameraFeaturesConfig;

  constructor(
    readonly catalog: Pick<Catalog, 'root'>,
    private readonly options: CorpusLoaderOptions = {},
  ) {
    this.cache = new FeatureCache(options.cacheDir);
    const base = options.camera ?? {};
    this.cameraConfig = cameraFeaturesSchema.parse({
      ...base,
      output: {
        ...(base.output ?? {}),
        width: MOUTH_INPUT_WIDTH,
        height: MOUTH_INPUT_HEIGHT,
        color: options.mouthColor ?? 'gray',
        layout: 'hwc',
      },
    });
  }

  private abs(path: string): string {
    return join(this.catalog.root, path);
  }

  /** 16 kHz mono samples of a file under the data root (cached). */
  async audio(path: string): Promise<Float32Array> {
    const file = this.abs(path);
    const key = cacheKey(await fileSha256(file), { kind: 'audio', rateHz: SPEECH_RATE_HZ, downmix: 'mean' });
    const e = await this.cache.getOrCompute<AudioMeta>('audio16k', key, async () => {
      const data = await decodeAudio16k(file);
      return { meta: { length: data.length, rateHz: SPEECH_RATE_HZ, path }, data };
    });
    return e.data;
  }

  /** Mouth crops of every video frame of a clip (cached). */
  async mouthTrack(path: string): Promise<MouthTrack> {
    const file = this.abs(path);
    const cfg = this.cameraConfig;
    const key = cacheKey(await fileSha256(file), { kind: 'mouth', camera: cfg });
    const e = await this.cache.getOrCompute<TrackMeta>('mouth', key, async () => {
      const video = await decodeVideoRgb(file);
      const landmarker = cfg.roi.kind === 'landmarks' ? await this.faceLandmarker() : undefined;
      const { extractor } = await createMouthExtractor(cfg, landmarker !== undefined ? { landmarker } : {});
      const size = extractor.featureSize;
      const data = new Float32Array(video.frames.length * size);
      const ok: number[] = [];
      for (const [i, img] of video.frames.entries()) {
        const f = await extractor.process({
          tUs: Math.round((video.offsetS + i / video.fps) * 1e6),
          pixelFormat: 'rgb24',
          width: img.width,
          height: img.height,
          data: img.data,
        });
        if (f.status === 'ok') data.set(f.data, i * size);
        ok.push(f.status === 'ok' ? 1 : 0);
      }
      const meta: TrackMeta = {
        length: data.length,
        fps: video.fps,
        offsetS: video.offsetS,
        width: cfg.output.width,
        height: cfg.output.height,
        frameSize: size,
        count: video.frames.length,
        ok,
        path,
      };
      return { meta, data };
    });
    const m = e.meta;
    return {
      fps: m.fps,
      offsetS: m.offsetS,
      width: m.width,
      height: m.height,
      frameSize: m.frameSize,
      count: m.count,
      data: e.data,
      ok: Uint8Array.from(m.ok),
    };
  }

  async loadUtterance(entry: UtteranceEntry): Promise<LoadedUtterance> {
    const samples = await this.audio(entry.path);
    if (!entry.av || this.options.audioOnly === true) return { entry, samples };
    const track = await this.mouthTrack(entry.path);
    return { entry, samples, track, mouth: alignMouth(track, samples.length, this.options.align) };
  }

  async loadNoise(entry: NoiseEntry): Promise<LoadedNoise> {
    return { entry, samples: await this.audio(entry.path) };
  }

  private faceLandmarker(): Promise<FaceLandmarker> {
    const roi = this.cameraConfig.roi;
    if (roi.kind !== 'landmarks') throw new Error('the face landmarker needs the landmarks ROI');
    this.landmarker ??= createFaceLandmarker({
      detector: roi.detector,
      inputSize: roi.inputSize,
      minScore: roi.minScore,
      landmarkNet: roi.landmarkNet,
      backend: roi.backend,
    });
    return this.landmarker;
  }

  /** Frees the face landmarker, if one was created. */
  async close(): Promise<void> {
    const lm = this.landmarker;
    this.landmarker = undefined;
    if (lm !== undefined) (await lm).dispose();
  }
}
