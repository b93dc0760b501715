/**
 * On-the-fly mixing of clean speech with noise at a target SNR, from one split at a time, with a seeded,
 * resumable RNG (`SeededRandom`), and the fixed evaluation sets.
 *
 * Level (`level`):
 * - 'rms' (default): mean power of the whole clean utterance against mean power of the noise segment of the
 *   same length. The common convention; leading and trailing silence lowers the speech level, so the SNR
 *   during speech is somewhat higher than the nominal one (GRID clips: ≈ 1.5 s of 3 s is speech).
 * - 'active': the speech power is the mean power of the 20 ms frames (non-overlapping) no more than 35 dB
 *   below the loudest frame — a simple energy gate, not ITU-T P.56. The noise is still its plain mean power.
 * The noise is scaled: noise' = g·noise with g² = P_speech / (P_noise · 10^(SNR/10)); the clean is unchanged.
 * SNR measured afterwards with the same level rule equals the target up to float32 rounding.
 *
 * Clipping guard (`clipGuard`, default on): if |noisy| would exceed `peak` (0.99), clean, noise and noisy are
 * all multiplied by the same factor (recorded as `outputGain`), which keeps the SNR and the exact identity
 * noisy = clean + noise.
 *
 * Drawing one training mixture (`SpeechMixer.next`), in this order from the RNG: an utterance (uniform over
 * the split's loaded utterances), a noise category (uniform over the categories with spans in the split, or
 * by `categoryWeights`), a
 * span of that category (uniform), the SNR (uniform in `snrRangeDb`, default [−5, 15] dB) and the noise
 * offset (uniform over the positions where the segment fits in the span). A span shorter than the utterance
 * is read circularly from the drawn offset (only the short held-out babble spans, 2.7 s, against the longest
 * utterances); the mixture says so (`wrapped`). The mixer refuses utterances and noise that are not in its
 * split, so a training mixer cannot be handed validation material. With training-only extra speech in the
 * pools (`MixerPools.extra`), a draw before the utterance picks its pool: extra with probability
 * `extraShare`, else the split's. With `visualAugment`, a mixture with mouth crops then draws their transform
 * (visual-augment.ts).
 *
 * Evaluation sets (`buildEvaluationSet`): every utterance × every noise span of the split × every SNR (default
 * −5, 0, 5 dB). The noise offset of an (utterance, span) pair comes from its own RNG seeded with a hash of
 * (seed, utterance, recording, span start), so it is the same at every SNR and does not change when items
 * are added or removed. With `offsets` K, the pair gets K offsets: that one first, then the others spread
 * evenly around the span from it (`spreadOffsets`).
 */
import { SeededRandom } from '../common/rng.ts';
import { resample } from '../../streams/features/audio/resample.ts';
import { NOISE_CATEGORIES } from './corpus.ts';
import type { AlignedMouth, LoadedNoise, LoadedUtterance, NoiseCategory, SpeechSource } from './corpus.ts';
import type { NoiseSpan, SpeechDataSplit, SplitName } from './splits.ts';
import { augmentMouth, drawMouthAugmentation } from './visual-augment.ts';

export type LevelMode = 'rms' | 'active';

export interface MixOptions {
  readonly level?: LevelMode;
  readonly clipGuard?: boolean;
  /** Largest |sample| allowed by the clipping guard. Default 0.99. */
  readonly peak?: number;
}

export interface MixResult {
  readonly clean: Float32Array;
  readonly noise: Float32Array;
  readonly noisy: Float32Array;
  /** Gain applied to the noise segment to reach the SNR (before the clipping guard). */
  readonly noiseGain: number;
  /** Common gain of the clipping guard (1 = none). */
  readonly outputGain: number;
}

export const ACTIVE_FRAME = 320;
export const ACTIVE_RANGE_DB = 35;

function meanPower(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return to > from ? s / (to - from) : 0;
}

/** Speech power by the level rule (see the file comment). */
export function speechPower(x: ArrayLike<number>, level: LevelMode = 'rms'): number {
  if (level === 'rms' || x.length < ACTIVE_FRAME) return meanPower(x);
  const powers: number[] = [];
  for (let i = 0; i + ACTIVE_FRAME <= x.length; i += ACTIVE_FRAME)
    powers.push(meanPower(x, i, i + ACTIVE_FRAME));
  const max = Math.max(...powers);
  const gate = max * 10 ** (-ACTIVE_RANGE_DB / 10);
  const active = powers.filter((p) => p >= gate);
  return active.reduce((a, b) => a + b, 0) / active.length;
}

/** SNR in dB of a clean signal and a noise signal under the level rule. */
export function snrDb(clean: ArrayLike<number>, noise: ArrayLike<number>, level: LevelMode = 'rms'): number {
  return 10 * Math.log10(speechPower(clean, level) / meanPower(noise));
}

/** Mixes `clean` with an equally long `noise` segment at `targetDb` (see the file comment). */
export function mixAtSnr(
  clean: Float32Array,
  noise: Float32Array,
  targetDb: number,
  options: MixOptions = {},
): MixResult {
  if (clean.length !== noise.length)
    throw new RangeError(`mix: clean has ${clean.length} samples, noise ${noise.length}`);
  if (!Number.isFinite(targetDb)) throw new RangeError(`mix: SNR ${targetDb} dB`);
  const ps = speechPower(clean, options.level ?? 'rms');
  const pn = meanPower(noise);
  if (!(ps > 0)) throw new RangeError('mix: the clean signal is silent');
  if (!(pn > 0)) throw new RangeError('mix: the noise segment is silent');
  const noiseGain = Math.sqrt(ps / (pn * 10 ** (targetDb / 10)));
  const n = clean.length;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(clean[i]! + noiseGain * noise[i]!));
  const peak = options.peak ?? 0.99;
  const outputGain = (options.clipGuard ?? true) && maxAbs > peak ? peak / maxAbs : 1;
  const c = new Float32Array(n);
  const z = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    c[i] = clean[i]! * outputGain;
    z[i] = noise[i]! * noiseGain * outputGain;
    y[i] = c[i]! + z[i]!;
  }
  return { clean: c, noise: z, noisy: y, noiseGain, outputGain };
}

/** `length` samples of `noise` from span [start, end) at `offset` (span-relative), circular in the span. */
export function spanSegment(
  noise: Float32Array,
  span: Pick<NoiseSpan, 'start' | 'end'>,
  offset: number,
  length: number,
): Float32Array {
  const len = span.end - span.start;
  if (!(len > 0) || span.end > noise.length)
    throw new RangeError(`span [${span.start}, ${span.end}) of ${noise.length}`);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = noise[span.start + ((offset + i) % len)]!;
  return out;
}

export interface Mixture extends MixResult {
  readonly split: SplitName;
  readonly utterance: string;
  readonly speaker: string;
  readonly source: SpeechSource;
  readonly noiseId: string;
  readonly category: NoiseCategory;
  readonly span: NoiseSpan;
  /** First noise sample used, index in the recording. */
  readonly noiseStart: number;
  /** The span was shorter than the utterance and read circularly. */
  readonly wrapped: boolean;
  readonly snrDb: number;
  readonly level: LevelMode;
  /** Visual input per audio frame (AV utterances). */
  readonly mouth?: AlignedMouth;
}

export interface MixerPools {
  readonly utterances: readonly LoadedUtterance[];
  readonly noises: readonly LoadedNoise[];
  /**
   * Training-only speech from outside the split (source 'extra', e.g. synthetic speech): accepted by a train
   * mixer only, refused when an id or speaker belongs to the split's validation or test part.
   */
  readonly extra?: readonly LoadedUtterance[];
}

export interface PoolOptions {
  /** Only these noise categories (default all with spans in the split). */
  readonly categories?: readonly NoiseCategory[];
}

interface ResolvedPools {
  readonly utterances: readonly LoadedUtterance[];
  readonly extra: readonly LoadedUtterance[];
  readonly spans: readonly { span: NoiseSpan; samples: Float32Array }[];
  readonly categories: readonly NoiseCategory[];
}

/** Checks that the pools belong to split `name` and pairs each span of the split with its samples. */
function resolvePools(
  split: SpeechDataSplit,
  name: SplitName,
  pools: MixerPools,
  options: PoolOptions,
): ResolvedPools {
  const extra = pools.extra ?? [];
  if (extra.length > 0) {
    if (name !== 'train') throw new Error(`mixer: extra speech is for training only, not the ${name} split`);
    const held = new Set<string>();
    for (const p of [split.parts.validation, split.parts.test]) {
      for (const spk of p.speakers) held.add(spk);
      for (const u of p.utterances) held.add(u.id);
    }
    for (const u of extra) {
      if (u.entry.source !== 'extra')
        throw new Error(`mixer: extra speech ${u.entry.id} is not of source extra`);
      if (held.has(u.entry.id) || held.has(u.entry.speaker))
        throw new Error(`mixer: extra speech ${u.entry.id} (${u.entry.speaker}) is held out for evaluation`);
    }
  }
  const part = split.parts[name];
  const ids = new Set(part.utterances.map((u) => u.id));
  for (const u of pools.utterances)
    if (!ids.has(u.entry.id)) throw new Error(`mixer: utterance ${u.entry.id} is not in the ${name} split`);
  if (pools.utterances.length === 0) throw new Error(`mixer: no utterances for the ${name} split`);
  const noiseById = new Map(pools.noises.map((n) => [n.entry.id, n]));
  const spans: { span: NoiseSpan; samples: Float32Array }[] = [];
  for (const span of part.noise) {
    if (options.categories !== undefined && !options.categories.includes(span.category)) continue;
    const n = noiseById.get(span.noise);
    if (n === undefined) throw new Error(`mixer: noise ${span.noise} of the ${name} split was not loaded`);
    if (n.samples.length !== span.length)
      throw new Error(
        `mixer: ${span.noise} has ${n.samples.length} samples, the split was made for ${span.length}`,
      );
    spans.push({ span, samples: n.samples });
  }
  if (spans.length === 0) throw new Error(`mixer: no noise spans for the ${name} split`);
  const categories = [...new Set(spans.map((s) => s.span.category))];
  return { utterances: pools.utterances, extra, spans, categories };
}

function makeMixture(
  name: SplitName,
  u: LoadedUtterance,
  s: { span: NoiseSpan; samples: Float32Array },
  offset: number,
  snr: number,
  options: MixOptions,
): Mixture {
  const length = u.samples.length;
  const segment = spanSegment(s.samples, s.span, offset, length);
  const level = options.level ?? 'rms';
  const mix = mixAtSnr(u.samples, segment, snr, options);
  return {
    ...mix,
    split: name,
    utterance: u.entry.id,
    speaker: u.entry.speaker,
    source: u.entry.source,
    noiseId: s.span.noise,
    category: s.span.category,
    span: s.span,
    noiseStart: s.span.start + offset,
    wrapped: s.span.end - s.span.start < length,
    snrDb: snr,
    level,
    ...(u.mouth !== undefined ? { mouth: u.mouth } : {}),
  };
}

/** Random span-relative offset for a segment of `length` samples. */
function drawOffset(rng: SeededRandom, span: NoiseSpan, length: number): number {
  return rng.int(offsetRange(span.end - span.start, length));
}

export interface MixerOptions extends MixOptions, PoolOptions {
  /** Seed (default 1), or a state to resume from. */
  readonly seed?: number;
  readonly position?: number;
  /** SNR range, dB (default [−5, 15]). */
  readonly snrRangeDb?: readonly [number, number];
  /**
   * Speed perturbation (Ko et al. 2015, "Audio augmentation for speech recognition"): each mixture's speech
   * is first resampled by a factor drawn from this list (e.g. [0.9, 1, 1.1]: slower and lower, unchanged,
   * faster and higher), which multiplies the voices a small corpus offers. A perturbed talking-face clip
   * loses its mouth frames (they no longer line up): it trains as audio-only. Absent: none (and no draw).
   */
  readonly speedFactors?: readonly number[];
  /**
   * With extra speech in the pools: the probability that a mixture's speech is drawn from it (uniform over
   * the extra utterances) rather than from the split's (in [0, 1]; default 0.5). Without extra speech: no
   * draw, so the sequence of mixtures is what it was before extra speech existed.
   */
  readonly extraShare?: number;
  /**
   * Relative weights of the noise categories in the draw (a category left out weighs 1; a weight ≥ 0, at
   * least one category of the split above 0), e.g. { 'car-interior': 3 } for a car: 3 of 7 mixtures with
   * car-interior noise when the split has all five categories. Absent or all equal: the uniform draw, with
   * the RNG consumed as before weights existed, so earlier runs' sequences are unchanged.
   */
  readonly categoryWeights?: Readonly<Partial<Record<NoiseCategory, number>>>;
  /**
   * Augment the mouth crops of talking-face mixtures (visual-augment.ts): after the mixture's other draws,
   * one transform per mixture with mouth crops. Absent or false: no draw, so earlier runs' sequences are
   * unchanged.
   */
  readonly visualAugment?: boolean;
}

/**
 * The cumulative category weights of a mixer (undefined: the uniform draw). Refuses a weight that is negative
 * or not finite, a category that is not a noise category, and weights that leave no category of the split.
 */
export function categoryCumulative(
  categories: readonly NoiseCategory[],
  weights: Readonly<Partial<Record<string, number>>> | undefined,
): Float64Array | undefined {
  if (weights === undefined) return undefined;
  for (const [k, w] of Object.entries(weights)) {
    if (!(NOISE_CATEGORIES as readonly string[]).includes(k))
      throw new RangeError(`noise category weight: unknown category ${JSON.stringify(k)}`);
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0))
      throw new RangeError(`noise category weight of ${k} must be a finite number ≥ 0, got ${String(w)}`);
  }
  const ws = categories.map((c) => weights[c] ?? 1);
  if (ws.every((w) => w === ws[0])) {
    if (ws[0] === 0) throw new RangeError('noise category weights: every category of the split weighs 0');
    return undefined;
  }
  const out = new Float64Array(ws.length);
  let sum = 0;
  ws.forEach((w, i) => (out[i] = sum += w));
  return out;
}

/**
 * `category=weight,…` (e.g. `car-interior=3`) as category weights; RangeError on a malformed item, an unknown
 * category, a repeated one or a weight that is not a finite number ≥ 0.
 */
export function parseCategoryWeights(text: string): Partial<Record<NoiseCategory, number>> {
  const out: Partial<Record<NoiseCategory, number>> = {};
  for (const item of text.split(',')) {
    const m = /^\s*([a-z-]+)\s*=\s*([^=\s]+)\s*$/.exec(item);
    if (m === null)
      throw new RangeError(`noise weights: expected category=weight, got ${JSON.stringify(item)}`);
    const [, name, value] = m as unknown as [string, string, string];
    if (!(NOISE_CATEGORIES as readonly string[]).includes(name))
      throw new RangeError(`noise weights: unknown category ${name} (one of ${NOISE_CATEGORIES.join(', ')})`);
    const category = name as NoiseCategory;
    if (out[category] !== undefined) throw new RangeError(`noise weights: ${name} given twice`);
    const w = Number(value);
    if (!(Number.isFinite(w) && w >= 0))
      throw new RangeError(`noise weights: the weight of ${name} must be a number ≥ 0, got ${value}`);
    out[category] = w;
  }
  return out;
}

/** `MixerOptions.extraShare` when not given: half the training mixtures from the extra speech. */
export const DEFAULT_EXTRA_SHARE = 0.5;

/** `samples` (16 kHz) played `factor` times faster: resampled from 16 kHz·factor to 16 kHz. */
export function speedPerturb(samples: Float32Array, factor: number, rateHz = 16_000): Float32Array {
  if (!(factor > 0.5 && factor < 2)) throw new RangeError(`speed factor ${factor} outside (0.5, 2)`);
  if (factor === 1) return samples;
  return resample(samples, Math.round(rateHz * factor), rateHz);
}

/** Endless random mixtures of one split (see the file comment). */
export class SpeechMixer {
  readonly rng: SeededRandom;
  private readonly pools: ResolvedPools;
  private readonly snrRange: readonly [number, number];

  constructor(
    readonly split: SpeechDataSplit,
    readonly name: SplitName,
    pools: MixerPools,
    private readonly options: MixerOptions = {},
  ) {
    this.pools = resolvePools(split, name, pools, options);
    this.rng = new SeededRandom(options.seed ?? 1, options.position ?? 0);
    this.snrRange = options.snrRangeDb ?? [-5, 15];
    if (!(this.snrRange[0] <= this.snrRange[1]))
      throw new RangeError(`SNR range ${this.snrRange.join('..')}`);
    for (const f of options.speedFactors ?? [])
      if (!(f > 0.5 && f < 2)) throw new RangeError(`speed factor ${f} outside (0.5, 2)`);
    this.extraShare = options.extraShare ?? DEFAULT_EXTRA_SHARE;
    this.categoryCdf = categoryCumulative(this.pools.categories, options.categoryWeights);
    if (!(this.extraShare >= 0 && this.extraShare <= 1))
      throw new RangeError(`extra speech share ${options.extraShare} outside [0, 1]`);
  }

  private readonly extraShare: number;
  /** Cumulative category weights; undefined: uniform. */
  private readonly categoryCdf: Float64Array | undefined;

  /** Perturbed utterances, made once per (utterance, factor): the corpus is small. */
  private readonly perturbed = new Map<string, LoadedUtterance>();

  private speedOf(u: LoadedUtterance, factor: number): LoadedUtterance {
    if (factor === 1) return u;
    const key = `${u.entry.id}|${factor}`;
    let p = this.perturbed.get(key);
    if (p === undefined) {
      p = {
        entry: { ...u.entry, id: `${u.entry.id}@speed${factor}` },
        samples: speedPerturb(u.samples, factor),
      };
      this.perturbed.set(key, p);
    }
    return p;
  }

  next(): Mixture {
    const rng = this.rng;
    const { utterances, extra, spans, categories } = this.pools;
    const factors = this.options.speedFactors;
    const pool = extra.length > 0 && rng.next() < this.extraShare ? extra : utterances;
    const drawn = pool[rng.int(pool.length)]!;
    const u =
      factors === undefined || factors.length === 0
        ? drawn
        : this.speedOf(drawn, factors[rng.int(factors.length)]!);
    const cdf = this.categoryCdf;
    let ci: number;
    if (cdf === undefined) ci = rng.int(categories.length);
    else {
      const x = rng.next() * cdf[cdf.length - 1]!;
      ci = 0;
      while (ci < cdf.length - 1 && x >= cdf[ci]!) ci++;
    }
    const category = categories[ci]!;
    const inCat = spans.filter((s) => s.span.category === category);
    const s = inCat[rng.int(inCat.length)]!;
    const snr = rng.uniform(this.snrRange[0], this.snrRange[1]);
    const offset = drawOffset(rng, s.span, u.samples.length);
    const mix = makeMixture(this.name, u, s, offset, snr, this.options);
    if (this.options.visualAugment !== true || mix.mouth === undefined) return mix;
    return { ...mix, mouth: augmentMouth(mix.mouth, drawMouthAugmentation(rng)) };
  }
}

/** FNV-1a 32-bit hash of a string (seeds of the evaluation items). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface EvaluationSetOptions extends MixOptions, PoolOptions {
  /** Default [−5, 0, 5]. */
  readonly snrsDb?: readonly number[];
  /** Default 20_180_101 (fixed). */
  readonly seed?: number;
  /**
   * Noise offsets per utterance and span (default 1; at most `MAX_EVALUATION_OFFSETS`; `spreadOffsets`): more
   * mixtures of the same utterances, so that a per-utterance mean depends less on where in the noise it fell.
   * The first is the offset of a one-offset set, so results with 1 are those of the earlier sets.
   */
  readonly offsets?: number;
}

/** Most noise offsets per utterance and span in an evaluation set. */
export const MAX_EVALUATION_OFFSETS = 16;

/** K is a count of noise offsets per utterance and span: an integer from 1 to `MAX_EVALUATION_OFFSETS`. */
export function isEvaluationOffsets(k: number): boolean {
  return Number.isInteger(k) && k >= 1 && k <= MAX_EVALUATION_OFFSETS;
}

/**
 * `count` noise offsets spread evenly around the span from `first` (the one-offset set's draw): offset k is
 * first + round(k · range / count) modulo `range`, the number of offsets the span allows. So the segments
 * overlap as little as the span lets them, none is a near-repeat of another, and the set is fixed by the
 * first draw. Fewer than `count` (no repeats) only when `range` < `count`. Throws on a count outside
 * 1…MAX_EVALUATION_OFFSETS.
 */
export function spreadOffsets(count: number, first: number, range: number): number[] {
  if (!isEvaluationOffsets(count))
    throw new RangeError(`noise offsets per utterance: ${count}, 1 to ${MAX_EVALUATION_OFFSETS} expected`);
  if (!(Number.isInteger(range) && range >= 1 && Number.isInteger(first) && first >= 0 && first < range))
    throw new RangeError(`noise offsets: first ${first} of ${range} possible`);
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const o = (first + Math.round((k * range) / count)) % range;
    if (!out.includes(o)) out.push(o);
  }
  return out;
}

/** How many offsets a span of `spanLength` samples allows a segment of `length` (drawOffset's range). */
export function offsetRange(spanLength: number, length: number): number {
  return spanLength >= length ? spanLength - length + 1 : spanLength;
}

export const EVALUATION_SEED = 20_180_101;

/** The fixed evaluation mixtures of a split (see the file comment), ordered utterance, span, offset, SNR. */
export function buildEvaluationSet(
  split: SpeechDataSplit,
  name: SplitName,
  pools: MixerPools,
  options: EvaluationSetOptions = {},
): Mixture[] {
  const resolved = resolvePools(split, name, pools, options);
  const snrs = options.snrsDb ?? [-5, 0, 5];
  const seed = options.seed ?? EVALUATION_SEED;
  const out: Mixture[] = [];
  const utterances = [...resolved.utterances].sort((a, b) => (a.entry.id < b.entry.id ? -1 : 1));
  for (const u of utterances) {
    for (const s of resolved.spans) {
      const rng = new SeededRandom(fnv1a(`${seed}|${u.entry.id}|${s.span.noise}|${s.span.start}`));
      for (const offset of spreadOffsets(
        options.offsets ?? 1,
        drawOffset(rng, s.span, u.samples.length),
        offsetRange(s.span.end - s.span.start, u.samples.length),
      ))
        for (const snr of snrs) out.push(makeMixture(name, u, s, offset, snr, options));
    }
  }
  return out;
}
