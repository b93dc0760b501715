/**
 * Speech-enhancement evaluation (`drivesense eval speech`): builds or loads (clean, noisy) pairs, runs each
 * enhancer on the noisy signal, and scores every output against the clean reference.
 *
 * Items (16 kHz mono, equal lengths):
 * - Project corpora (`loadProjectTestSet`): the fixed evaluation mixtures of `buildEvaluationSet` on the
 *   TEST split of splits.ts only (speakers, utterances and noise spans held out of training and
 *   validation; the validation part on request, for choices made before testing), every utterance × every
 *   test noise span × every SNR, noise offsets from seeded RNGs (`EVALUATION_SEED`; K per pair with
 *   `offsets`, mixing.ts `spreadOffsets`), so the same mixtures come back on every run and machine.
 * - Any other folders (`loadFolderMixtures`): every speech file × every noise file × every SNR, mixed with
 *   the same `mixAtSnr` rule; the noise offset comes from an RNG seeded with a hash of (seed, speech file,
 *   noise file), as `buildEvaluationSet` does (K spread offsets with `offsets`). No split is known there: the caller must know that this
 *   material was not used in training (the CLI says so).
 * - Ready pairs (`loadPairs`): files of the same name in a clean and a noisy folder. The SNR is not
 *   controlled (`snrDb` null); the measured input SNR is reported per item.
 *
 * Systems: anything implementing `SpeechSystem` (noisy passthrough, logMMSE, the peers, AVDCNN through an
 * injected `enhance` function). A system with `needsVideo` runs only on the items with mouth frames; one with
 * `usesClean` is given the clean reference too (`idealMaskSystem`, the ceiling of AVDCNN's kind of model).
 *
 * Metrics per system × item: STOI, ESTOI, SI-SDR, segmental SNR (always), DNSMOS P.835 SIG/BAK/OVRL and
 * P.808 (when a scorer is given), and the real-time factor: wall-clock time of `process` / audio duration,
 * measured per call in this process (after one warm-up call per system on 1 s of audio, so module and
 * session start-up are not counted). A metric that cannot be computed (e.g. STOI on < 30 frames of speech)
 * is null with the reason in `errors`.
 *
 * Aggregates: means per system × SNR × noise category (and over all categories, and over the items with
 * mouth frames as the subset 'av'), and the paired mean improvement over the noisy input (system − noisy on
 * the same items, only items where both have the metric).
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { SeededRandom } from '../common/rng.ts';
import { NOISE_CATEGORIES } from './corpus.ts';
import type { AlignedMouth, MouthTrack } from './corpus.ts';
import { alignMouth, CorpusLoader } from './corpus.ts';
import { prepareSpeechData, loadSplitPools } from './dataset.ts';
import type { SplitName } from './splits.ts';
import type { DnsmosScores } from './dnsmos.ts';
import { idealMask } from './ideal-mask.ts';
import { logMmse } from './logmmse.ts';
import { SPEECH_RATE_HZ, decodeAudio16k } from './media.ts';
import {
  buildEvaluationSet,
  offsetRange,
  spreadOffsets,
  EVALUATION_SEED,
  fnv1a,
  mixAtSnr,
  snrDb,
  spanSegment,
} from './mixing.ts';
import type { Mixture } from './mixing.ts';
import { segmentalSnr } from './metrics/segsnr.ts';
import { siSdr } from './metrics/sisdr.ts';
import { stoi } from './metrics/stoi.ts';

export const EVAL_RATE_HZ = SPEECH_RATE_HZ;
export const DEFAULT_EVAL_SNRS_DB: readonly number[] = [-5, 0, 5];
/** The names `eval speech --systems` knows, in report order. */
export const SYSTEM_NAMES = [
  'noisy',
  'logmmse',
  'rnnoise',
  'dfn3',
  'avdcnn-audio',
  'avdcnn-av',
  'ideal-mask',
] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/** Mouth crops for an item: per AVDCNN STFT frame (`aligned`), and per video frame when known (`track`). */
export interface MouthFrames {
  readonly aligned: AlignedMouth;
  readonly track?: MouthTrack;
}

/** An enhancer under test: 16 kHz noisy in, 16 kHz enhanced out, same length and timing. */
export interface SpeechSystem {
  readonly name: string;
  /** Runs only on items with mouth frames (the audio-visual mode). */
  readonly needsVideo?: boolean;
  /**
   * Is given the clean reference too (an oracle such as `idealMaskSystem`: a ceiling, not an enhancer; no
   * real-time factor is reported for it).
   */
  readonly usesClean?: boolean;
  process(noisy: Float32Array, video?: MouthFrames, clean?: Float32Array): Promise<Float32Array>;
  /** Frees resources (ONNX sessions, WebAssembly state) when the evaluation is over. */
  release?(): Promise<void>;
}

/** A requested system that could not be run, and why. */
export interface UnavailableSystem {
  readonly name: string;
  readonly reason: string;
}

/** What the evaluation needs of DNSMOS (`Dnsmos` from dnsmos.ts). */
export interface DnsmosScorer {
  score(audio16k: Float32Array): Promise<DnsmosScores>;
}

export interface EvalItem {
  /** Unique id: `<utterance>|<noise>@<start>|<snr>` for mixtures, the file name for pairs. */
  readonly id: string;
  readonly utterance: string;
  readonly speaker: string | null;
  /** Noise recording id (null for ready pairs). */
  readonly noise: string | null;
  /** Noise category (`car-interior`, … for the project's corpora; folder name or 'unknown' otherwise). */
  readonly category: string;
  /** Nominal mixing SNR, dB; null for ready pairs. */
  readonly snrDb: number | null;
  /** SNR of the pair as measured (whole-signal power of clean vs noisy − clean), dB. */
  readonly inputSnrDb: number;
  /** First noise sample used (index in the recording), mixtures only. */
  readonly noiseStart: number | null;
  /** The noise span was shorter than the utterance and was read circularly. */
  readonly wrapped: boolean;
  readonly clean: Float32Array;
  readonly noisy: Float32Array;
  readonly video?: MouthFrames;
}

/** The DNSMOS scores an evaluation reports (the calibrated ones). */
export type DnsmosResult = Pick<DnsmosScores, 'sig' | 'bak' | 'ovrl' | 'p808'>;

/** Scores of one system on one item (null: not computed, see `errors`). */
export interface SystemScores {
  readonly stoi: number | null;
  readonly estoi: number | null;
  readonly siSdr: number | null;
  readonly segSnr: number | null;
  readonly dnsmos: DnsmosResult | null;
  /** Processing time / audio duration (null for the unprocessed noisy input). */
  readonly rtf: number | null;
  readonly processingS: number | null;
  readonly errors: readonly string[];
}

/** An item's description (its signals left out) and its scores. */
export interface ItemResult extends Omit<EvalItem, 'clean' | 'noisy' | 'video'> {
  readonly seconds: number;
  readonly hasVideo: boolean;
  /** DNSMOS of the clean reference (the ceiling a perfect enhancer would reach), when DNSMOS runs. */
  readonly cleanDnsmos: DnsmosResult | null;
  readonly systems: Readonly<Record<string, SystemScores>>;
}

export const METRIC_KEYS = ['stoi', 'estoi', 'siSdr', 'segSnr', 'sig', 'bak', 'ovrl', 'p808'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];
export type MetricMeans = Readonly<Record<MetricKey, number | null>>;

export interface AggregateRow {
  readonly system: string;
  /** Nominal SNR (null: ready pairs, SNR not controlled). */
  readonly snrDb: number | null;
  /** A noise category, or 'all'. */
  readonly category: string;
  /** 'all' items, or only the 'av' items (with mouth frames). */
  readonly subset: 'all' | 'av';
  /** Items the system ran on. */
  readonly n: number;
  readonly mean: MetricMeans;
  /** Mean paired difference system − noisy (null for the noisy row itself, or without a noisy run). */
  readonly improvement: MetricMeans | null;
  /** Total processing time / total audio duration over the group (null for noisy). */
  readonly rtf: number | null;
  /** Clean-reference DNSMOS OVRL mean over the group's items (context for the OVRL column). */
  readonly cleanOvrl: number | null;
}

export interface KeptAudio {
  readonly id: string;
  readonly clean: Float32Array;
  readonly noisy: Float32Array;
  readonly outputs: Readonly<Record<string, Float32Array>>;
}

export interface SpeechEvaluation {
  readonly rateHz: number;
  readonly systems: readonly string[];
  readonly items: readonly ItemResult[];
  readonly aggregates: readonly AggregateRow[];
  /** Outputs kept for the report (`keep`). */
  readonly kept: readonly KeptAudio[];
  readonly dnsmos: boolean;
}

export interface EvaluateOptions {
  readonly dnsmos?: DnsmosScorer | null;
  /** Item ids whose audio (clean, noisy, every output) is kept for the report. */
  readonly keep?: ReadonlySet<string>;
  /** Called after each item (progress on stderr in the CLI). */
  readonly onItem?: (done: number, total: number, item: ItemResult) => void;
  /** Warm-up call per system before timing (default true). */
  readonly warmUp?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Systems

/** The noisy input itself: the baseline every improvement is measured against. */
export const noisySystem: SpeechSystem = {
  name: 'noisy',
  process: (noisy) => Promise.resolve(noisy),
};

/** The project's logMMSE (Ephraim–Malah log-spectral amplitude) estimator, logmmse.ts. */
export const logMmseSystem: SpeechSystem = {
  name: 'logmmse',
  process: (noisy) => Promise.resolve(logMmse(noisy, EVAL_RATE_HZ)),
};

/**
 * The ideal output of AVDCNN's training target (ideal-mask.ts: the truncated magnitude mask from the clean
 * reference, live STFT, noisy phase, gains in [−25, 0] dB): the ceiling of a perfect model of its kind.
 */
export const idealMaskSystem: SpeechSystem = {
  name: 'ideal-mask',
  usesClean: true,
  process: (noisy, _video, clean) => {
    if (clean === undefined) return Promise.reject(new Error('ideal-mask needs the clean reference'));
    return Promise.resolve(idealMask(clean, noisy));
  },
};

/** Wraps an injected enhancer (e.g. AVDCNN) as a system; `useVideo` selects the audio-visual mode. */
export function enhancerSystem(
  name: string,
  enhance: (noisy16k: Float32Array, mouth?: MouthFrames) => Promise<Float32Array>,
  useVideo: boolean,
  release?: () => Promise<void>,
): SpeechSystem {
  return {
    name,
    needsVideo: useVideo,
    process: (noisy, video) => (useVideo && video !== undefined ? enhance(noisy, video) : enhance(noisy)),
    ...(release !== undefined ? { release } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Items

function measuredSnr(clean: Float32Array, noisy: Float32Array): number {
  const noise = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i++) noise[i] = noisy[i]! - clean[i]!;
  return snrDb(clean, noise);
}

/** Evaluation items from `buildEvaluationSet` mixtures; `tracks` adds the per-video-frame crops by utterance. */
export function itemsFromMixtures(
  mixtures: readonly Mixture[],
  tracks: ReadonlyMap<string, MouthTrack> = new Map(),
): EvalItem[] {
  return mixtures.map((m) => {
    const track = tracks.get(m.utterance);
    const video: MouthFrames | undefined =
      m.mouth !== undefined ? { aligned: m.mouth, ...(track !== undefined ? { track } : {}) } : undefined;
    return {
      id: `${m.utterance}|${m.noiseId}@${m.noiseStart}|${m.snrDb}`,
      utterance: m.utterance,
      speaker: m.speaker,
      noise: m.noiseId,
      category: m.category,
      snrDb: m.snrDb,
      inputSnrDb: measuredSnr(m.clean, m.noisy),
      noiseStart: m.noiseStart,
      wrapped: m.wrapped,
      clean: m.clean,
      noisy: m.noisy,
      ...(video !== undefined ? { video } : {}),
    };
  });
}

/** The data root (`…/data`) when `speechDir` and `noiseDir` are its `audio/speech` and `audio/noise`. */
export function projectDataRoot(speechDir: string, noiseDir: string): string | null {
  const s = resolve(speechDir);
  const root = resolve(s, '../..');
  const isCorpus =
    s === resolve(root, 'audio/speech') &&
    resolve(noiseDir) === resolve(root, 'audio/noise') &&
    existsSync(resolve(s, 'cmu_arctic')) &&
    existsSync(resolve(root, 'audio/noise/noisex92'));
  return isCorpus ? root : null;
}

export interface ProjectSetOptions {
  readonly snrsDb?: readonly number[];
  /** The GRID talking-face clips (`<root>/av/grid`), with their mouth frames; without it, no GRID clips. */
  readonly videoDir?: string;
  /** Only these noise categories. */
  readonly categories?: readonly string[];
  /** Only the first `limit` utterances (sorted by id). */
  readonly limit?: number;
  /** Noise offsets per utterance and span (mixing.ts `EvaluationSetOptions.offsets`; default 1). */
  readonly offsets?: number;
  /**
   * Which held-out part (default 'test'). 'validation' is for choices made before testing (e.g. a serving
   * setting); scores to report come from 'test'.
   */
  readonly split?: Exclude<SplitName, 'train'>;
  readonly cacheDir?: string | null;
}

export interface ProjectTestSet {
  readonly items: EvalItem[];
  readonly split: Exclude<SplitName, 'train'>;
  readonly splitHash: string;
  readonly utterances: readonly string[];
  readonly speakers: readonly string[];
  readonly noiseSpans: readonly {
    noise: string;
    category: string;
    start: number;
    end: number;
  }[];
  readonly notes: readonly string[];
}

/**
 * The TEST split of the project's corpora under `root` mixed at the given SNRs (see the file comment). The
 * GRID clips (the split's audio-visual utterances) come in only when `videoDir` is `<root>/av/grid`.
 */
export async function loadProjectTestSet(
  root: string,
  options: ProjectSetOptions = {},
): Promise<ProjectTestSet> {
  const withVideo = options.videoDir !== undefined && resolve(options.videoDir) === resolve(root, 'av/grid');
  if (options.videoDir !== undefined && !withVideo)
    throw new Error(
      `--video ${options.videoDir}: with the project's corpora the talking faces are ${resolve(root, 'av/grid')}`,
    );
  const data = await prepareSpeechData(root, {
    audioOnly: !withVideo,
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
  });
  const notes: string[] = [];
  const split = options.split ?? 'test';
  try {
    const test = data.split.parts[split];
    let entries = data.catalog.utterances.filter((u) => test.utterances.some((t) => t.id === u.id));
    if (!withVideo) {
      const skipped = entries.filter((u) => u.av).length;
      entries = entries.filter((u) => !u.av);
      if (skipped > 0)
        notes.push(
          `${skipped} GRID ${split} clip(s) left out: give --video ${resolve(root, 'av/grid')} for them`,
        );
    }
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (options.limit !== undefined && entries.length > options.limit) {
      notes.push(`limited to the first ${options.limit} of ${entries.length} ${split} utterances`);
      entries = entries.slice(0, options.limit);
    }
    if (entries.length === 0) throw new Error(`no ${split} utterances to evaluate`);
    const pools = await loadSplitPools(data, split);
    const ids = new Set(entries.map((e) => e.id));
    const utterances = pools.utterances.filter((u) => ids.has(u.entry.id));
    const categories = options.categories;
    if (categories !== undefined)
      for (const c of categories)
        if (!(NOISE_CATEGORIES as readonly string[]).includes(c))
          throw new Error(`unknown noise category '${c}' (known: ${NOISE_CATEGORIES.join(', ')})`);
    const mixtures = buildEvaluationSet(
      data.split,
      split,
      { utterances, noises: pools.noises },
      {
        snrsDb: options.snrsDb ?? DEFAULT_EVAL_SNRS_DB,
        seed: EVALUATION_SEED,
        ...(options.offsets !== undefined ? { offsets: options.offsets } : {}),
        ...(categories !== undefined
          ? { categories: NOISE_CATEGORIES.filter((c) => categories.includes(c)) }
          : {}),
      },
    );
    const tracks = new Map<string, MouthTrack>();
    for (const u of utterances) if (u.track !== undefined) tracks.set(u.entry.id, u.track);
    const spans = test.noise.filter((s) => categories === undefined || categories.includes(s.category));
    return {
      items: itemsFromMixtures(mixtures, tracks),
      split,
      splitHash: data.split.hash,
      utterances: entries.map((e) => e.id),
      speakers: [...new Set(entries.map((e) => e.speaker))],
      noiseSpans: spans.map((s) => ({ noise: s.noise, category: s.category, start: s.start, end: s.end })),
      notes,
    };
  } finally {
    await data.loader.close();
  }
}

const AUDIO_EXTENSIONS = new Set(['.wav', '.flac', '.mp3', '.m4a', '.aac', '.ogg', '.opus', '.mp4', '.mpg']);
const VIDEO_EXTENSIONS = new Set(['.mpg', '.mpeg', '.mp4', '.avi', '.mov', '.mkv', '.webm']);

/** Audio files under `dir` (recursively), sorted by relative path. */
export async function listAudioFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else if (AUDIO_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  await walk(resolve(dir));
  return out.sort();
}

function stem(file: string): string {
  return basename(file, extname(file));
}

export interface FolderMixOptions {
  readonly snrsDb?: readonly number[];
  readonly seed?: number;
  /** Noise offsets per speech and noise file (mixing.ts `EvaluationSetOptions.offsets`; default 1). */
  readonly offsets?: number;
  /** Talking-face clips matched to the speech files by name (without extension). */
  readonly videoDir?: string;
  readonly limit?: number;
  readonly cacheDir?: string | null;
}

/**
 * Every speech file × noise file × SNR of two arbitrary folders (see the file comment). The category of a
 * noise file is its first sub-folder under `noiseDir`, or 'unknown' for files directly in it.
 */
export async function loadFolderMixtures(
  speechDir: string,
  noiseDir: string,
  options: FolderMixOptions = {},
): Promise<{ items: EvalItem[]; notes: string[] }> {
  const notes: string[] = [];
  let speech = await listAudioFiles(speechDir);
  const noises = await listAudioFiles(noiseDir);
  if (speech.length === 0) throw new Error(`no audio files in ${speechDir}`);
  if (noises.length === 0) throw new Error(`no audio files in ${noiseDir}`);
  if (options.limit !== undefined && speech.length > options.limit) {
    notes.push(`limited to the first ${options.limit} of ${speech.length} speech files`);
    speech = speech.slice(0, options.limit);
  }
  const seed = options.seed ?? EVALUATION_SEED;
  const snrs = options.snrsDb ?? DEFAULT_EVAL_SNRS_DB;
  const loader = new CorpusLoader({ root: sep }, { cacheDir: options.cacheDir ?? null });
  const videos = new Map<string, string>();
  if (options.videoDir !== undefined) {
    for (const name of (await readdir(options.videoDir)).sort())
      if (VIDEO_EXTENSIONS.has(extname(name).toLowerCase()))
        videos.set(stem(name), resolve(options.videoDir, name));
  }
  const noiseAudio: { id: string; category: string; samples: Float32Array }[] = [];
  for (const f of noises) {
    const rel = relative(resolve(noiseDir), f);
    const parts = rel.split(sep);
    const samples = await decodeAudio16k(f);
    if (samples.length === 0) throw new Error(`${f}: empty`);
    noiseAudio.push({ id: rel, category: parts.length > 1 ? parts[0]! : 'unknown', samples });
  }
  const items: EvalItem[] = [];
  try {
    for (const f of speech) {
      const id = relative(resolve(speechDir), f);
      const clean = await decodeAudio16k(f);
      if (clean.length === 0) throw new Error(`${f}: empty`);
      let video: MouthFrames | undefined;
      const clip = videos.get(stem(f));
      if (clip !== undefined) {
        const track = await loader.mouthTrack(clip);
        video = { aligned: alignMouth(track, clean.length), track };
      }
      for (const n of noiseAudio) {
        const span = { start: 0, end: n.samples.length };
        const rng = new SeededRandom(fnv1a(`${seed}|${id}|${n.id}|0`));
        const len = n.samples.length;
        const range = offsetRange(len, clean.length);
        const offsets = spreadOffsets(options.offsets ?? 1, rng.int(range), range);
        for (const offset of offsets) {
          const segment = spanSegment(n.samples, span, offset, clean.length);
          for (const snr of snrs) {
            const mix = mixAtSnr(clean, segment, snr);
            items.push({
              id: `${id}|${n.id}@${offset}|${snr}`,
              utterance: id,
              speaker: null,
              noise: n.id,
              category: n.category,
              snrDb: snr,
              inputSnrDb: measuredSnr(mix.clean, mix.noisy),
              noiseStart: offset,
              wrapped: len < clean.length,
              clean: mix.clean,
              noisy: mix.noisy,
              ...(video !== undefined ? { video } : {}),
            });
          }
        }
      }
    }
  } finally {
    await loader.close();
  }
  if (options.videoDir !== undefined) {
    const matched = speech.filter((f) => videos.has(stem(f))).length;
    notes.push(`${matched} of ${speech.length} speech files have a video in ${options.videoDir}`);
  }
  return { items, notes };
}

/**
 * Ready (clean, noisy) pairs: files of the same name (without extension) in both folders. A length
 * difference (e.g. a codec's padding) is cut to the shorter, and noted.
 */
export async function loadPairs(
  cleanDir: string,
  noisyDir: string,
  options: { readonly limit?: number } = {},
): Promise<{ items: EvalItem[]; notes: string[] }> {
  const notes: string[] = [];
  const byName = (files: string[], dir: string): Map<string, string> =>
    new Map(files.map((f) => [relative(resolve(dir), f).replace(/\.[^./\\]+$/, ''), f]));
  const cleanFiles = byName(await listAudioFiles(cleanDir), cleanDir);
  const noisyFiles = byName(await listAudioFiles(noisyDir), noisyDir);
  let names = [...cleanFiles.keys()].filter((k) => noisyFiles.has(k)).sort();
  const unmatched = [...cleanFiles.keys(), ...noisyFiles.keys()].filter(
    (k) => !(cleanFiles.has(k) && noisyFiles.has(k)),
  );
  if (unmatched.length > 0)
    notes.push(`${unmatched.length} file(s) without a partner: ${unmatched.join(', ')}`);
  if (names.length === 0) throw new Error(`no files with the same name in ${cleanDir} and ${noisyDir}`);
  if (options.limit !== undefined && names.length > options.limit) {
    notes.push(`limited to the first ${options.limit} of ${names.length} pairs`);
    names = names.slice(0, options.limit);
  }
  const items: EvalItem[] = [];
  for (const name of names) {
    let clean = await decodeAudio16k(cleanFiles.get(name)!);
    let noisy = await decodeAudio16k(noisyFiles.get(name)!);
    if (clean.length !== noisy.length) {
      notes.push(`${name}: clean ${clean.length} and noisy ${noisy.length} samples, cut to the shorter`);
      const n = Math.min(clean.length, noisy.length);
      clean = clean.slice(0, n);
      noisy = noisy.slice(0, n);
    }
    if (clean.length === 0) throw new Error(`${name}: empty audio`);
    items.push({
      id: name,
      utterance: name,
      speaker: null,
      noise: null,
      category: 'unknown',
      snrDb: null,
      inputSnrDb: measuredSnr(clean, noisy),
      noiseStart: null,
      wrapped: false,
      clean,
      noisy,
    });
  }
  return { items, notes };
}

/**
 * Up to `max` items for the report's spectrograms: car interior at 0 dB first (the target condition), then
 * an item with mouth frames, then other categories, spread over the utterances.
 */
export function pickExamples(items: readonly EvalItem[], max = 3): string[] {
  const rank = (it: EvalItem): number =>
    (it.category === 'car-interior' ? 0 : 4) + (it.snrDb === 0 ? 0 : 2) + (it.video !== undefined ? 0 : 1);
  const sorted = [...items].sort((a, b) => rank(a) - rank(b));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const it of sorted) {
    if (out.length >= max) break;
    const key = `${it.utterance}|${it.category}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(it.id);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Scoring

function fitLength(y: Float32Array, n: number): Float32Array {
  if (y.length === n) return y;
  const out = new Float32Array(n);
  out.set(y.subarray(0, Math.min(n, y.length)));
  return out;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function attempt(errors: string[], label: string, f: () => number): number | null {
  try {
    const v = f();
    if (!Number.isFinite(v)) errors.push(`${label}: ${v}`);
    return finite(v);
  } catch (e) {
    errors.push(`${label}: ${(e as Error).message}`);
    return null;
  }
}

async function dnsmosOf(
  scorer: DnsmosScorer,
  audio: Float32Array,
  errors: string[],
): Promise<DnsmosResult | null> {
  try {
    const s = await scorer.score(audio);
    return { sig: s.sig, bak: s.bak, ovrl: s.ovrl, p808: s.p808 };
  } catch (e) {
    errors.push(`DNSMOS: ${(e as Error).message}`);
    return null;
  }
}

/** Intrusive metrics of `processed` against `clean` (and DNSMOS of `processed` when a scorer is given). */
export async function scoreSignal(
  clean: Float32Array,
  processed: Float32Array,
  scorer: DnsmosScorer | null = null,
): Promise<Omit<SystemScores, 'rtf' | 'processingS'>> {
  const errors: string[] = [];
  const nonFinite = processed.some((v) => !Number.isFinite(v));
  const y = nonFinite ? processed.map((v) => (Number.isFinite(v) ? v : 0)) : processed;
  if (nonFinite) errors.push('output had non-finite samples (set to 0 for scoring)');
  return {
    stoi: attempt(errors, 'STOI', () => stoi(clean, y, EVAL_RATE_HZ)),
    estoi: attempt(errors, 'ESTOI', () => stoi(clean, y, EVAL_RATE_HZ, { extended: true })),
    siSdr: attempt(errors, 'SI-SDR', () => siSdr(clean, y)),
    segSnr: attempt(errors, 'segSNR', () => segmentalSnr(clean, y, EVAL_RATE_HZ)),
    dnsmos: scorer !== null ? await dnsmosOf(scorer, y, errors) : null,
    errors,
  };
}

/** One metric of a system's scores (null: not computed). */
export function metricValue(
  s: SystemScores | Omit<SystemScores, 'rtf' | 'processingS'>,
  k: MetricKey,
): number | null {
  switch (k) {
    case 'stoi':
    case 'estoi':
    case 'siSdr':
    case 'segSnr':
      return s[k];
    case 'sig':
    case 'bak':
    case 'ovrl':
    case 'p808':
      return s.dnsmos?.[k] ?? null;
  }
}

function nowS(): number {
  return performance.now() / 1000;
}

/** Runs every system on every item and scores the outputs (see the file comment). */
export async function evaluateSpeech(
  items: readonly EvalItem[],
  systems: readonly SpeechSystem[],
  options: EvaluateOptions = {},
): Promise<SpeechEvaluation> {
  const names = systems.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`duplicate system names: ${names.join(', ')}`);
  const scorer = options.dnsmos ?? null;
  const keep = options.keep ?? new Set<string>();
  if ((options.warmUp ?? true) && items.length > 0) {
    const first = items[0]!;
    const probe = first.noisy.subarray(0, Math.min(first.noisy.length, EVAL_RATE_HZ));
    const withVideo = items.find((i) => i.video !== undefined)?.video;
    for (const s of systems) {
      if (s.needsVideo === true && withVideo === undefined) continue;
      try {
        const clean = s.usesClean === true ? first.clean.subarray(0, probe.length) : undefined;
        await s.process(Float32Array.from(probe), s.needsVideo === true ? withVideo : undefined, clean);
      } catch {
        // Reported per item below.
      }
    }
  }
  const results: ItemResult[] = [];
  const kept: KeptAudio[] = [];
  for (const [index, item] of items.entries()) {
    const seconds = item.noisy.length / EVAL_RATE_HZ;
    const scores: Record<string, SystemScores> = {};
    const outputs: Record<string, Float32Array> = {};
    for (const s of systems) {
      if (s.needsVideo === true && item.video === undefined) continue;
      const errors: string[] = [];
      let y: Float32Array;
      let processingS: number | null = null;
      try {
        const input = Float32Array.from(item.noisy); // a system may not modify the shared input
        const t0 = nowS();
        y = await s.process(input, item.video, s.usesClean === true ? item.clean : undefined);
        processingS = nowS() - t0;
      } catch (e) {
        scores[s.name] = {
          stoi: null,
          estoi: null,
          siSdr: null,
          segSnr: null,
          dnsmos: null,
          rtf: null,
          processingS: null,
          errors: [`process: ${(e as Error).message}`],
        };
        continue;
      }
      if (y.length !== item.noisy.length) {
        errors.push(`output of ${y.length} samples for ${item.noisy.length} (cut or zero-padded)`);
        y = fitLength(y, item.noisy.length);
      }
      const m = await scoreSignal(item.clean, y, scorer);
      const untimed = s === noisySystem || s.usesClean === true;
      scores[s.name] = {
        ...m,
        rtf: untimed || processingS === null ? null : processingS / seconds,
        processingS: untimed ? null : processingS,
        errors: [...errors, ...m.errors],
      };
      if (keep.has(item.id)) outputs[s.name] = y;
    }
    const cleanDnsmos = scorer !== null ? await dnsmosOf(scorer, item.clean, []) : null;
    const r: ItemResult = {
      id: item.id,
      utterance: item.utterance,
      speaker: item.speaker,
      noise: item.noise,
      category: item.category,
      snrDb: item.snrDb,
      inputSnrDb: item.inputSnrDb,
      noiseStart: item.noiseStart,
      wrapped: item.wrapped,
      seconds,
      hasVideo: item.video !== undefined,
      cleanDnsmos,
      systems: scores,
    };
    results.push(r);
    if (keep.has(item.id)) kept.push({ id: item.id, clean: item.clean, noisy: item.noisy, outputs });
    options.onItem?.(index + 1, items.length, r);
  }
  return {
    rateHz: EVAL_RATE_HZ,
    systems: names,
    items: results,
    aggregates: aggregate(results, names),
    kept,
    dnsmos: scorer !== null,
  };
}

function mean(values: readonly (number | null)[]): number | null {
  let s = 0;
  let n = 0;
  for (const v of values)
    if (v !== null) {
      s += v;
      n++;
    }
  return n > 0 ? s / n : null;
}

/** Category order: car interior (the target) first, the project's categories, the rest sorted, 'all'. */
export function categoryOrder(categories: Iterable<string>): string[] {
  const set = new Set(categories);
  const known = NOISE_CATEGORIES.filter((c) => set.has(c));
  const other = [...set].filter((c) => !(NOISE_CATEGORIES as readonly string[]).includes(c)).sort();
  return [...known, ...other];
}

/** The items of one aggregate row: an SNR × a category (or 'all') × a subset. */
export interface EvaluationGroup {
  readonly snr: number | null;
  readonly category: string;
  readonly subset: 'all' | 'av';
  readonly items: readonly ItemResult[];
}

/** The groups the aggregates are taken over, in the tables' order: per SNR, each category, 'all', 'av'. */
export function evaluationGroups(items: readonly ItemResult[]): EvaluationGroup[] {
  const snrs = [...new Set(items.map((i) => i.snrDb))].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  const categories = categoryOrder(items.map((i) => i.category));
  const groups: EvaluationGroup[] = [];
  for (const snr of snrs) {
    const atSnr = items.filter((i) => i.snrDb === snr);
    const cats = categories.filter((c) => atSnr.some((i) => i.category === c));
    for (const c of cats)
      groups.push({ snr, category: c, subset: 'all', items: atSnr.filter((i) => i.category === c) });
    if (cats.length > 1) groups.push({ snr, category: 'all', subset: 'all', items: atSnr });
    const av = atSnr.filter((i) => i.hasVideo);
    if (av.length > 0) groups.push({ snr, category: 'all', subset: 'av', items: av });
  }
  return groups;
}

/** Means per system × SNR × category (plus 'all' categories and the 'av' subset), see the file comment. */
export function aggregate(items: readonly ItemResult[], systems: readonly string[]): AggregateRow[] {
  const rows: AggregateRow[] = [];
  for (const g of evaluationGroups(items)) {
    for (const name of systems) {
      const ran = g.items.filter((i) => i.systems[name] !== undefined);
      if (ran.length === 0) continue;
      const meanOf = (k: MetricKey): number | null => mean(ran.map((i) => metricValue(i.systems[name]!, k)));
      const m = Object.fromEntries(METRIC_KEYS.map((k) => [k, meanOf(k)])) as Record<
        MetricKey,
        number | null
      >;
      let improvement: Record<MetricKey, number | null> | null = null;
      if (name !== 'noisy' && systems.includes('noisy')) {
        improvement = Object.fromEntries(
          METRIC_KEYS.map((k) => {
            const d = ran.map((i) => {
              const a = metricValue(i.systems[name]!, k);
              const b = i.systems['noisy'] ? metricValue(i.systems['noisy'], k) : null;
              return a !== null && b !== null ? a - b : null;
            });
            return [k, mean(d)];
          }),
        ) as Record<MetricKey, number | null>;
      }
      let proc = 0;
      let dur = 0;
      let timed = 0;
      for (const i of ran) {
        const p = i.systems[name]!.processingS;
        if (p !== null) {
          proc += p;
          dur += i.seconds;
          timed++;
        }
      }
      rows.push({
        system: name,
        snrDb: g.snr,
        category: g.category,
        subset: g.subset,
        n: ran.length,
        mean: m,
        improvement,
        rtf: timed > 0 && dur > 0 ? proc / dur : null,
        cleanOvrl: mean(ran.map((i) => i.cleanDnsmos?.ovrl ?? null)),
      });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// Output

/** The evaluation as a JSON-serialisable object (no audio). */
export function evaluationJson(e: SpeechEvaluation): Record<string, unknown> {
  return {
    rateHz: e.rateHz,
    systems: e.systems,
    dnsmos: e.dnsmos,
    aggregates: e.aggregates,
    items: e.items,
  };
}

function fmt(v: number | null, digits: number, width: number, signed = false): string {
  if (v === null) return '—'.padStart(width);
  const s = v.toFixed(digits);
  return (signed && v >= 0 ? `+${s}` : s).padStart(width);
}

/** A group's title in the text outputs: its SNR, noise category and subset. */
export function groupTitle(g: {
  readonly snrDb: number | null;
  readonly category: string;
  readonly subset: 'all' | 'av';
}): string {
  const snr = g.snrDb === null ? 'ready pairs (SNR not controlled)' : `SNR ${g.snrDb} dB`;
  const cat = g.category === 'all' ? 'all noise categories' : `noise: ${g.category}`;
  return `${snr}, ${cat}${g.subset === 'av' ? ', items with mouth frames only' : ''}`;
}

/** A plain-text table of the aggregates: one block per SNR × category (× subset), one row per system. */
export function textTable(e: SpeechEvaluation): string {
  const lines: string[] = [];
  const dn = e.dnsmos;
  const head =
    `${'system'.padEnd(13)}${'n'.padStart(4)}${'STOI'.padStart(7)}${'ESTOI'.padStart(7)}${'SI-SDR'.padStart(8)}` +
    `${'segSNR'.padStart(8)}` +
    (dn ? `${'SIG'.padStart(6)}${'BAK'.padStart(6)}${'OVRL'.padStart(6)}${'P808'.padStart(6)}` : '') +
    `${'RTF'.padStart(8)}  ${'ΔSTOI'.padStart(7)}${'ΔESTOI'.padStart(7)}${'ΔSI-SDR'.padStart(8)}` +
    (dn ? `${'ΔOVRL'.padStart(7)}` : '');
  let block = '';
  for (const r of e.aggregates) {
    const key = `${r.snrDb}|${r.category}|${r.subset}`;
    if (key !== block) {
      block = key;
      const clean = r.cleanOvrl !== null ? ` (clean reference OVRL ${r.cleanOvrl.toFixed(2)})` : '';
      lines.push('', `${groupTitle(r)}${clean}`, head);
    }
    const m = r.mean;
    const d = r.improvement;
    lines.push(
      `${r.system.padEnd(13)}${String(r.n).padStart(4)}${fmt(m.stoi, 3, 7)}${fmt(m.estoi, 3, 7)}` +
        `${fmt(m.siSdr, 2, 8)}${fmt(m.segSnr, 2, 8)}` +
        (dn ? `${fmt(m.sig, 2, 6)}${fmt(m.bak, 2, 6)}${fmt(m.ovrl, 2, 6)}${fmt(m.p808, 2, 6)}` : '') +
        `${fmt(r.rtf, 4, 8)}  ${fmt(d?.stoi ?? null, 3, 7, true)}${fmt(d?.estoi ?? null, 3, 7, true)}` +
        `${fmt(d?.siSdr ?? null, 2, 8, true)}` +
        (dn ? `${fmt(d?.ovrl ?? null, 2, 7, true)}` : ''),
    );
  }
  return lines.join('\n').replace(/^\n/, '');
}
