/**
 * What the validation diagnostics (`scripts/speech-bands.ts`, `scripts/speech-oracle.ts`,
 * `scripts/speech-camera-control.ts`) share: their common
 * flags, and the VALIDATION split of the project's corpora mixed at the chosen SNRs with RNNoise and the
 * served AVDCNN ready to run on it (never the test split).
 */
import { resolve } from 'node:path';
import { RnnoisePeer } from '../bench/speech/rnnoise.ts';
import { SPEECH_ENSEMBLE_PATH, loadEvalEnhancer } from '../src/models/speech/enhancer-onnx.ts';
import type { EvalEnhancer } from '../src/models/speech/enhancer-onnx.ts';
import { loadProjectTestSet } from '../src/models/speech/evaluate.ts';
import type { ProjectTestSet } from '../src/models/speech/evaluate.ts';

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
