/**
 * What the validation diagnostics (`scripts/speech-bands.ts`, `scripts/speech-segments.ts`,
 * `scripts/speech-oracle.ts`, `scripts/speech-camera-control.ts`) share: their common
 * flags, and the VALIDATION split of the project's corpora mixed at the chosen SNRs with RNNoise and the
 * served AVDCNN ready to run on it (never the test split).
 */
import { resolve } from 'node:path';
import { RnnoisePeer } from '../bench/speech/rnnoise.ts';
import { SPEECH_ENSEMBLE_PATH, loadEvalEnhancer } from '../src/models/speech/enhancer-onnx.ts';
import type { EvalEnhancer } from '../src/models/speech/enhancer-onnx.ts';
import type { Dnsmos } from '../src/models/speech/dnsmos.ts';
import { loadProjectTestSet, metricValue, scoreSignal } from '../src/models/speech/evaluate.ts';
import type { EvalItem, MetricKey, ProjectTestSet } from '../src/models/speech/evaluate.ts';

/**
 * The item selection of the diagnostics that score every item audio-only (`parseArgs` options): `--video`
 * adds the GRID talking-face clips, `--utterances PREFIX,…` keeps the items whose utterance id starts with one
 * of the prefixes (e.g. `grid/`).
 */
export const DIAGNOSTIC_ITEM_OPTIONS = {
  video: { type: 'boolean', default: false },
  utterances: { type: 'string' },
} as const;

/** The items of `set` at `snrDb` that `--utterances` keeps (all without it). */
export function itemsAt(set: ProjectTestSet, snrDb: number, utterances: string | undefined): EvalItem[] {
  const only = utterances?.split(',');
  return set.items.filter(
    (i) => i.snrDb === snrDb && (only === undefined || only.some((u) => i.utterance.startsWith(u))),
  );
}

/** The flags every diagnostic takes (`parseArgs` options). */
export const DIAGNOSTIC_OPTIONS = {
  model: { type: 'string', default: SPEECH_ENSEMBLE_PATH },
  data: { type: 'string', default: '../shared/data' },
  snr: { type: 'string', default: '0,5' },
  categories: { type: 'string', default: 'car-interior' },
} as const;

export interface Diagnostic {
  readonly snrs: number[];
  readonly set: ProjectTestSet;
  readonly rnnoise: RnnoisePeer;
  readonly avdcnn: EvalEnhancer;
}

/**
 * The validation set and the two systems every diagnostic runs; `--snr` checked. With `video`, the GRID
 * clips come with their mouth crops (`<data>/av/grid`).
 */
export async function openDiagnostic(
  values: {
    readonly model: string;
    readonly data: string;
    readonly snr: string;
    readonly categories: string;
  },
  options: { readonly video?: boolean } = {},
): Promise<Diagnostic> {
  const snrs = values.snr.split(',').map(Number);
  if (snrs.some((v) => !Number.isFinite(v))) throw new Error(`--snr ${values.snr}: a list of numbers, dB`);
  const set = await loadProjectTestSet(resolve(values.data), {
    split: 'validation',
    snrsDb: snrs,
    categories: values.categories.split(','),
    ...(options.video === true ? { videoDir: resolve(values.data, 'av/grid') } : {}),
  });
  return { snrs, set, rnnoise: await RnnoisePeer.create(), avdcnn: await loadEvalEnhancer(values.model) };
}

/** A system under a diagnostic: one item in, its enhanced signal out. */
export type DiagnosticSystem = (item: EvalItem) => Promise<Float32Array>;

/**
 * Prints a markdown table of each system's mean of each metric over the items at each SNR (`itemsAt`), STOI
 * and ESTOI with `stoiDigits` decimals, the rest with 2.
 */
export async function printMeansTable(
  snrs: readonly number[],
  itemsAt: (snrDb: number) => readonly EvalItem[],
  systems: Readonly<Record<string, DiagnosticSystem>>,
  keys: readonly MetricKey[],
  dnsmos: Dnsmos | null,
  stoiDigits: number,
): Promise<void> {
  console.log(`| SNR | system | n | ${keys.join(' | ')} |`);
  console.log(`| --- | --- | --- | ${keys.map(() => '---').join(' | ')} |`);
  for (const snr of snrs) {
    const items = itemsAt(snr);
    for (const [name, run] of Object.entries(systems)) {
      const sums: Partial<Record<MetricKey, number>> = {};
      for (const item of items) {
        const s = await scoreSignal(item.clean, await run(item), dnsmos);
        for (const k of keys) sums[k] = (sums[k] ?? 0) + (metricValue(s, k) ?? NaN);
      }
      const cells = keys.map((k) =>
        ((sums[k] ?? NaN) / items.length).toFixed(k === 'stoi' || k === 'estoi' ? stoiDigits : 2),
      );
      console.log(`| ${snr} | ${name} | ${items.length} | ${cells.join(' | ')} |`);
    }
  }
}
