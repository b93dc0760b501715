/**
 * The train / validation / test split of the speech-enhancement data, fixed in advance by rules that read
 * nothing but names and lengths (no score, no audio content), exported as JSON-serialisable data with a hash.
 *
 * Speakers (per source, known speakers in natural sort order, `naturalCompare`):
 * - a source with fewer than `minSpeakersToHoldOut` (3) known speakers goes wholly to training (CMU ARCTIC:
 *   aew and axb, plus `arctic_a0010` whose speaker the file does not name — it may be aew or axb, so it can
 *   only go where both of them are);
 * - otherwise the last round(n · `testFraction`) (≥ 1) speakers are test, the round(n · `validationFraction`)
 *   (≥ 1) before them validation, the rest training. Every utterance follows its speaker, so speakers and
 *   utterances of validation and test are never seen in training.
 * - An utterance without a known speaker in a source that is not wholly in training is excluded (listed in
 *   `excluded` with the reason).
 *
 * Noise (per category, recordings sorted by id in code-point order; all positions in samples at 16 kHz, end exclusive):
 * - one recording (car interior, engine, babble): split in time into training [0, 70 %), validation, test
 *   (15 % each), with a guard of `guardS` (1 s) between consecutive spans;
 * - two recordings (street, household): the first wholly training, the second held out whole from training
 *   and split in time into validation (first half) and test (second half), with the guard between them;
 * - three or more: the last is test, the one before validation, the rest training, each whole.
 *
 * `assertDisjoint` checks the result: no speaker or utterance in two splits, no two spans of one recording in
 * different splits overlapping (or closer than the guard), spans inside their recording, and the hash.
 */
import { createHash } from 'node:crypto';
import type { NoiseCategory, SpeechSource, UtteranceEntry } from './corpus.ts';
import { NOISE_CATEGORIES, naturalCompare } from './corpus.ts';
import { SPEECH_RATE_HZ } from './media.ts';

export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface SplitRules {
  readonly minSpeakersToHoldOut: number;
  readonly testFraction: number;
  readonly validationFraction: number;
  /** Time fractions of a single recording for train, validation, test. */
  readonly noiseFractions: readonly [number, number, number];
  /** Gap left out between two spans of one recording, seconds. */
  readonly guardS: number;
}

export const DEFAULT_SPLIT_RULES: SplitRules = {
  minSpeakersToHoldOut: 3,
  testFraction: 0.2,
  validationFraction: 0.15,
  noiseFractions: [0.7, 0.15, 0.15],
  guardS: 1,
};

export interface NoiseSpan {
  readonly noise: string;
  readonly category: NoiseCategory;
  /** Samples at 16 kHz, [start, end). */
  readonly start: number;
  readonly end: number;
  /** The recording's whole length, samples. */
  readonly length: number;
}

export interface SplitUtterance {
  readonly id: string;
  readonly source: SpeechSource;
  readonly speaker: string;
  readonly av: boolean;
}

export interface SplitPart {
  readonly speakers: string[];
  readonly utterances: SplitUtterance[];
  readonly noise: NoiseSpan[];
}

export interface SpeechDataSplit {
  readonly version: 1;
  readonly sampleRateHz: number;
  readonly rules: SplitRules;
  readonly parts: Record<SplitName, SplitPart>;
  readonly excluded: { readonly id: string; readonly reason: string }[];
  /** sha256 of the canonical JSON of everything else. */
  readonly hash: string;
}

/** What the split reads of a noise recording: its id, category and 16 kHz length. */
export interface NoiseLength {
  readonly id: string;
  readonly category: NoiseCategory;
  readonly samples: number;
}

/** JSON with object keys sorted (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function splitHash(split: Omit<SpeechDataSplit, 'hash'>): string {
  const { version, sampleRateHz, rules, parts, excluded } = split;
  return createHash('sha256')
    .update(canonicalJson({ version, sampleRateHz, rules, parts, excluded }))
    .digest('hex');
}

/** Consecutive spans of [0, length) in the given fractions with `guard` samples between them. */
export function timeSpans(length: number, fractions: readonly number[], guard: number): [number, number][] {
  const usable = length - guard * (fractions.length - 1);
  const total = fractions.reduce((a, b) => a + b, 0);
  if (!(usable > fractions.length) || !(total > 0))
    throw new RangeError(`cannot split ${length} samples into ${fractions.length} spans with guard ${guard}`);
  const out: [number, number][] = [];
  let cum = 0;
  let start = 0;
  fractions.forEach((f, i) => {
    cum += f;
    const end = i === fractions.length - 1 ? length : Math.floor((usable * cum) / total) + guard * i;
    out.push([start, end]);
    start = end + guard;
  });
  return out;
}

function speakerAssignment(utterances: readonly UtteranceEntry[], rules: SplitRules): Map<string, SplitName> {
  const out = new Map<string, SplitName>();
  const sources = [...new Set(utterances.map((u) => u.source))];
  for (const source of sources) {
    const speakers = [
      ...new Set(utterances.filter((u) => u.source === source && u.speakerKnown).map((u) => u.speaker)),
    ].sort(naturalCompare);
    const n = speakers.length;
    let nTest = 0;
    let nVal = 0;
    if (n >= rules.minSpeakersToHoldOut) {
      nTest = Math.max(1, Math.round(n * rules.testFraction));
      nVal = Math.max(1, Math.round(n * rules.validationFraction));
      if (nTest + nVal >= n) throw new RangeError(`${source}: ${n} speakers leave none for training`);
    }
    speakers.forEach((s, i) =>
      out.set(s, i >= n - nTest ? 'test' : i >= n - nTest - nVal ? 'validation' : 'train'),
    );
  }
  return out;
}

/** Builds the split (see the file comment). Deterministic: the same catalogue gives the same split and hash. */
export function buildSplit(
  utterances: readonly UtteranceEntry[],
  noises: readonly NoiseLength[],
  rules: SplitRules = DEFAULT_SPLIT_RULES,
): SpeechDataSplit {
  const parts: Record<SplitName, SplitPart> = {
    train: { speakers: [], utterances: [], noise: [] },
    validation: { speakers: [], utterances: [], noise: [] },
    test: { speakers: [], utterances: [], noise: [] },
  };
  const excluded: { id: string; reason: string }[] = [];
  const bySpeaker = speakerAssignment(utterances, rules);
  const sorted = [...utterances].sort((a, b) => naturalCompare(a.id, b.id));
  for (const u of sorted) {
    let name: SplitName | undefined;
    if (u.speakerKnown) name = bySpeaker.get(u.speaker);
    else {
      const known = [...bySpeaker.entries()].filter(([s]) => s.startsWith(`${u.source}:`));
      if (known.every(([, n]) => n === 'train')) name = 'train';
      else
        excluded.push({
          id: u.id,
          reason: `speaker unknown and ${u.source} has held-out speakers (it may be one of them)`,
        });
    }
    if (name === undefined) continue;
    const part = parts[name];
    part.utterances.push({ id: u.id, source: u.source, speaker: u.speaker, av: u.av });
    if (!part.speakers.includes(u.speaker)) part.speakers.push(u.speaker);
  }
  for (const p of Object.values(parts)) p.speakers.sort(naturalCompare);

  const guard = Math.round(rules.guardS * SPEECH_RATE_HZ);
  for (const category of NOISE_CATEGORIES) {
    const recs = noises
      .filter((n) => n.category === category)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const whole = (r: NoiseLength, name: SplitName): void => {
      parts[name].noise.push({ noise: r.id, category, start: 0, end: r.samples, length: r.samples });
    };
    const inTime = (r: NoiseLength, names: readonly SplitName[], fractions: readonly number[]): void => {
      timeSpans(r.samples, fractions, guard).forEach(([start, end], i) =>
        parts[names[i]!].noise.push({ noise: r.id, category, start, end, length: r.samples }),
      );
    };
    if (recs.length === 1) inTime(recs[0]!, SPLIT_NAMES, rules.noiseFractions);
    else if (recs.length === 2) {
      whole(recs[0]!, 'train');
      inTime(recs[1]!, ['validation', 'test'], [1, 1]);
    } else if (recs.length >= 3) {
      recs.forEach((r, i) =>
        whole(r, i === recs.length - 1 ? 'test' : i === recs.length - 2 ? 'validation' : 'train'),
      );
    }
  }
  const body = { version: 1 as const, sampleRateHz: SPEECH_RATE_HZ, rules, parts, excluded };
  return { ...body, hash: splitHash(body) };
}

export interface SplitCounts {
  readonly speakers: number;
  readonly utterances: number;
  readonly avUtterances: number;
  readonly avSpeakers: number;
  readonly audioOnlySpeakers: number;
  /** Seconds of noise per category. */
  readonly noiseSeconds: Partial<Record<NoiseCategory, number>>;
}

/**
 * Throws unless the split is leak-free (see the file comment); returns the counts per split. The split's
 * guard is enforced: two spans of one recording in different splits must be at least `guardS` apart.
 */
export function assertDisjoint(split: SpeechDataSplit): Record<SplitName, SplitCounts> {
  const problems: string[] = [];
  if (splitHash(split) !== split.hash) problems.push('hash does not match the content');
  const seen = new Map<string, SplitName>();
  const claim = (kind: string, key: string, name: SplitName): void => {
    const k = `${kind} ${key}`;
    const prev = seen.get(k);
    if (prev !== undefined && prev !== name) problems.push(`${k} is in ${prev} and ${name}`);
    else if (prev === name && kind === 'utterance') problems.push(`${k} is twice in ${name}`);
    seen.set(k, name);
  };
  const guard = Math.round(split.rules.guardS * split.sampleRateHz);
  const spans: (NoiseSpan & { split: SplitName })[] = [];
  for (const name of SPLIT_NAMES) {
    const part = split.parts[name];
    for (const u of part.utterances) {
      claim('utterance', u.id, name);
      claim('speaker', u.speaker, name);
      if (!part.speakers.includes(u.speaker)) problems.push(`${name}: speaker ${u.speaker} not listed`);
    }
    for (const s of part.speakers) claim('speaker', s, name);
    for (const s of part.noise) {
      if (!(
        Number.isInteger(s.start) &&
        Number.isInteger(s.end) &&
        0 <= s.start &&
        s.start < s.end &&
        s.end <= s.length
      ))
        problems.push(`${name}: span ${s.noise} [${s.start}, ${s.end}) is outside [0, ${s.length})`);
      spans.push({ ...s, split: name });
    }
  }
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i]!;
      const b = spans[j]!;
      if (a.noise !== b.noise) continue;
      const gap = Math.max(a.start, b.start) - Math.min(a.end, b.end);
      const need = a.split === b.split ? 0 : guard;
      if (gap < need)
        problems.push(
          `${a.noise}: ${a.split} [${a.start}, ${a.end}) and ${b.split} [${b.start}, ${b.end}) ` +
            (gap < 0 ? 'overlap' : `are ${gap} samples apart (guard ${guard})`),
        );
    }
  }
  if (problems.length > 0) throw new Error(`speech data split leaks:\n  ${problems.join('\n  ')}`);
  return Object.fromEntries(
    SPLIT_NAMES.map((n) => [n, countPart(split.parts[n], split.sampleRateHz)]),
  ) as Record<SplitName, SplitCounts>;
}

function countPart(p: SplitPart, rate: number): SplitCounts {
  const av = p.utterances.filter((u) => u.av);
  const avSpeakers = new Set(av.map((u) => u.speaker));
  const audioOnlySpeakers = new Set(p.utterances.filter((u) => !u.av).map((u) => u.speaker));
  const noiseSeconds: Partial<Record<NoiseCategory, number>> = {};
  for (const s of p.noise)
    noiseSeconds[s.category] = (noiseSeconds[s.category] ?? 0) + (s.end - s.start) / rate;
  return {
    speakers: p.speakers.length,
    utterances: p.utterances.length,
    avUtterances: av.length,
    avSpeakers: avSpeakers.size,
    audioOnlySpeakers: audioOnlySpeakers.size,
    noiseSeconds,
  };
}

/** The split a given utterance belongs to (undefined: excluded or unknown). */
export function splitOfUtterance(split: SpeechDataSplit, id: string): SplitName | undefined {
  return SPLIT_NAMES.find((n) => split.parts[n].utterances.some((u) => u.id === id));
}
