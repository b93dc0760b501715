/**
 * Chooses a speech model's serving mask strengths on the VALIDATION split and records them in the model's
 * sidecar (metadata.speech.maskStrength and maskStrengthVisual, with the grids' scores under
 * training.serving and training.servingVisual), so that the live path, `drivesense enhance` and
 * `drivesense eval speech` use them by default. The test split is never read.
 *
 *   node --import tsx scripts/speech-serving.ts MODEL.onnx [--data ../shared/data] [--strengths 1,0.7,0.5]
 *     [--visual-strengths 0.5,0.6,0.7,0.8,0.9,1] [--only-visual]
 *
 * The audio-only rule, fixed before any test score was seen: on car-interior noise at 0 and 5 dB (the
 * issue's target conditions), for each strength α, count the six comparisons (STOI, SI-SDR, DNSMOS OVRL × 0
 * and 5 dB) in which the audio-only AVDCNN beats the noisy input; the highest count wins, ties going to the
 * higher mean STOI improvement, then to the larger α (less change to what the model learned).
 *
 * The audio-visual rule (docs/models/speech-history.md, written before its first use): on the validation GRID clips
 * (subset 'av'), car interior, 0 and 5 dB, for each α_v count the ten comparisons (STOI, ESTOI, SI-SDR,
 * segSNR, OVRL × 0 and 5 dB) in which the audio-visual mode at α_v beats the audio-only mode at the served
 * α; the highest count wins, ties going to the α_v nearest α, then to the smaller. `--only-visual` keeps the
 * sidecar's α and chooses α_v only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCommandArgs } from '../src/cli/command.ts';
import { createEvalSpeechCommand } from '../src/cli/commands/eval-speech.ts';
import type { AvdcnnLoader } from '../src/cli/commands/eval-speech.ts';
import { sidecarPathFor } from '../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../src/models/common/onnx-export.ts';
import type { NoiseCategory } from '../src/models/speech/corpus.ts';
import { maskStrengthError } from '../src/models/speech/mask/strength.ts';
import { readSpeechModelMeta, validateSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';

/** One aggregate row of `drivesense eval speech --json`. */
export interface Aggregate {
  system: string;
  snrDb: number | null;
  /** A noise category, or 'all' (every category of the evaluation pooled; see `pooledRow`). */
  category: string;
  subset: string;
  mean: Record<string, number | null>;
}

export interface ServingScore {
  readonly strength: number;
  /** [snr][metric] → system mean, for noisy and avdcnn-audio. */
  readonly means: Record<string, Record<string, { noisy: number | null; avdcnn: number | null }>>;
  readonly wins: number;
  readonly meanStoiGain: number;
}

/**
 * The row of `system` at `snr` over every noise category of the evaluation: eval speech writes a pooled row
 * (category 'all') when it ran more than one category and only the category's own row when it ran one; the
 * 'av' subset is always pooled. Undefined when there is no such row.
 */
export function pooledRow(
  rows: readonly Aggregate[],
  system: string,
  snr: number,
  subset: 'all' | 'av',
): Aggregate | undefined {
  const matching = rows.filter((a) => a.system === system && a.snrDb === snr && a.subset === subset);
  return matching.find((a) => a.category === 'all') ?? (matching.length === 1 ? matching[0] : undefined);
}

/** The SNRs (dB) and metrics of the audio-only grid: the comparisons every rule over it counts. */
export const SNRS = [0, 5] as const;
export const METRICS = ['stoi', 'siSdr', 'ovrl'] as const;

/**
 * `drivesense eval speech` on the VALIDATION split of `dataDir`, car-interior noise (or the noise categories of
 * `categories`, pooled in the 'all' rows), run in-process: the aggregate rows of its JSON for `systems` at `snrsDb`, with the model
 * at mask strength `maskStrength`.
 */
export async function validationAggregates(
  model: string,
  dataDir: string,
  o: {
    readonly snrsDb: readonly number[];
    readonly systems: readonly string[];
    /** Undefined: the model's own (of an ensemble: each member's own). */
    readonly maskStrength: number | undefined;
    /** The audio-visual mode's strength (default: `maskStrength`, as eval speech's). */
    readonly maskStrengthVisual?: number;
    /** The noise categories (default car interior only; 'all': every category of the split). */
    readonly categories?: readonly NoiseCategory[] | 'all';
    /** How AVDCNN is loaded (default: the command's own loader; e.g. an ensemble). */
    readonly loadAvdcnn?: AvdcnnLoader;
  },
): Promise<Aggregate[]> {
  const data = resolve(dataDir);
  const out: string[] = [];
  const cmd = createEvalSpeechCommand({
    out: (t) => out.push(t),
    progress: () => undefined,
    ...(o.loadAvdcnn !== undefined ? { loadAvdcnn: o.loadAvdcnn } : {}),
  });
  const argv = [
    `--speech=${resolve(data, 'audio/speech')}`,
    `--noise=${resolve(data, 'audio/noise')}`,
    `--video=${resolve(data, 'av/grid')}`,
    `--snr=${o.snrsDb.join(',')}`,
    ...(o.categories === 'all' ? [] : [`--categories=${(o.categories ?? ['car-interior']).join(',')}`]),
    '--split=validation',
    `--systems=${o.systems.join(',')}`,
    `--model=${model}`,
    ...(o.maskStrength !== undefined ? [`--mask-strength=${o.maskStrength}`] : []),
    ...(o.maskStrengthVisual !== undefined ? [`--mask-strength-av=${o.maskStrengthVisual}`] : []),
    '--json',
  ];
  const code = await cmd.run(parseCommandArgs(cmd, argv));
  if (code !== 0) throw new Error(`eval speech exited with ${code}`);
  return (JSON.parse(out.join('\n')) as { aggregates: Aggregate[] }).aggregates;
}

/** The rule of the file comment over scored strengths. */
export function chooseStrength(scores: readonly ServingScore[]): ServingScore {
  const sorted = [...scores].sort(
    (a, b) => b.wins - a.wins || b.meanStoiGain - a.meanStoiGain || b.strength - a.strength,
  );
  const best = sorted[0];
  if (best === undefined) throw new Error('no strengths scored');
  return best;
}

/** Counts wins and the mean STOI gain from the evaluation's aggregate rows (subset 'all'). */
export function scoreStrength(strength: number, aggregates: readonly Aggregate[]): ServingScore {
  const means: ServingScore['means'] = {};
  let wins = 0;
  let stoiGain = 0;
  for (const snr of SNRS) {
    const row = (system: string) => pooledRow(aggregates, system, snr, 'all');
    const noisy = row('noisy');
    const avdcnn = row('avdcnn-audio');
    if (noisy === undefined || avdcnn === undefined)
      throw new Error(`no noisy/avdcnn-audio rows at ${snr} dB`);
    const m: Record<string, { noisy: number | null; avdcnn: number | null }> = {};
    for (const k of METRICS) {
      const a = noisy.mean[k] ?? null;
      const b = avdcnn.mean[k] ?? null;
      m[k] = { noisy: a, avdcnn: b };
      if (a !== null && b !== null && b > a) wins++;
    }
    stoiGain += (avdcnn.mean['stoi'] ?? 0) - (noisy.mean['stoi'] ?? 0);
    means[String(snr)] = m;
  }
  return { strength, means, wins, meanStoiGain: stoiGain / SNRS.length };
}

/**
 * Scores each strength on the validation split, applies the rule and records the chosen strength (with the
 * grid) in the model's sidecar. Returns the chosen score and the grid.
 */
export async function chooseServingStrength(
  model: string,
  dataDir: string,
  strengths: readonly number[] = [1, 0.7, 0.5],
): Promise<{ chosen: ServingScore; grid: ServingScore[] }> {
  for (const a of strengths) {
    const why = maskStrengthError('maskStrength', a);
    if (why !== undefined) throw new Error(`strengths: ${why}`);
  }
  const scores: ServingScore[] = [];
  for (const a of strengths) {
    const aggregates = await validationAggregates(model, dataDir, {
      snrsDb: SNRS,
      systems: ['noisy', 'avdcnn-audio'],
      maskStrength: a,
    });
    const s = scoreStrength(a, aggregates);
    scores.push(s);
    console.error(
      `strength ${a}: ${s.wins}/6 comparisons beat the noisy input, mean ΔSTOI ${s.meanStoiGain.toFixed(4)}`,
    );
  }
  const chosen = chooseStrength(scores);
  const { meta } = await readSpeechModelMeta(model);
  const updated: SpeechModelMeta = {
    ...meta,
    maskStrength: chosen.strength,
    training: {
      ...(meta.training ?? {}),
      serving: {
        chosenOn: 'validation split (car-interior, 0 and 5 dB), audio-only; the test split unread',
        rule: 'most of STOI/SI-SDR/OVRL × 0/5 dB above the noisy input; then mean ΔSTOI; then the larger strength',
        maskStrength: chosen.strength,
        grid: scores,
      },
    },
  };
  await writeSpeechMeta(model, updated);
  return { chosen, grid: scores };
}

export interface VisualServingScore {
  readonly strength: number;
  /** [snr][metric] → means on the GRID clips: audio-only at the served strength, audio-visual at this one. */
  readonly means: Record<string, Record<string, { audio: number | null; av: number | null }>>;
  readonly wins: number;
}

const VISUAL_METRICS = ['stoi', 'estoi', 'siSdr', 'segSnr', 'ovrl'] as const;

/**
 * Counts the comparisons the audio-visual mode (at `strength`, rows of `av`) wins against the audio-only mode
 * (rows of `audio`) on the GRID clips (subset 'av').
 */
export function scoreVisualStrength(
  strength: number,
  audio: readonly Aggregate[],
  av: readonly Aggregate[],
): VisualServingScore {
  const means: VisualServingScore['means'] = {};
  let wins = 0;
  for (const snr of SNRS) {
    const row = (rows: readonly Aggregate[], system: string) => pooledRow(rows, system, snr, 'av');
    const a = row(audio, 'avdcnn-audio');
    const v = row(av, 'avdcnn-av');
    if (a === undefined || v === undefined)
      throw new Error(`no avdcnn-audio/avdcnn-av rows on the GRID clips at ${snr} dB`);
    const m: Record<string, { audio: number | null; av: number | null }> = {};
    for (const k of VISUAL_METRICS) {
      const x = a.mean[k] ?? null;
      const y = v.mean[k] ?? null;
      m[k] = { audio: x, av: y };
      if (x !== null && y !== null && y > x) wins++;
    }
    means[String(snr)] = m;
  }
  return { strength, means, wins };
}

/** The audio-visual rule of the file comment: most wins, then nearest `audioStrength`, then the smaller. */
export function chooseVisualStrength(
  scores: readonly VisualServingScore[],
  audioStrength: number,
): VisualServingScore {
  // Distances in units of 1e-9 so that 0.6 and 0.8 are equally near 0.7 despite binary fractions.
  const distance = (x: number): number => Math.round(Math.abs(x - audioStrength) * 1e9);
  const sorted = [...scores].sort(
    (a, b) => b.wins - a.wins || distance(a.strength) - distance(b.strength) || a.strength - b.strength,
  );
  const best = sorted[0];
  if (best === undefined) throw new Error('no audio-visual strengths scored');
  return best;
}

/**
 * Scores each audio-visual strength on the validation GRID clips against the audio-only mode at the
 * sidecar's strength, applies the rule and records α_v (with the grid) in the sidecar.
 */
export async function chooseVisualServingStrength(
  model: string,
  dataDir: string,
  strengths: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.9, 1],
): Promise<{ chosen: VisualServingScore; grid: VisualServingScore[] }> {
  for (const a of strengths) {
    const why = maskStrengthError('maskStrengthVisual', a);
    if (why !== undefined) throw new Error(`visual strengths: ${why}`);
  }
  const { meta } = await readSpeechModelMeta(model);
  if (meta.cameraMode === 'off')
    throw new Error(
      `${model} is served without the camera (cameraMode off): every camera strength would score the same; remove it first (speech-set-serving.ts MODEL cameraMode=none)`,
    );
  const audioStrength = meta.maskStrength ?? 1;
  const audio = await validationAggregates(model, dataDir, {
    snrsDb: SNRS,
    systems: ['avdcnn-audio'],
    maskStrength: audioStrength,
  });
  const scores: VisualServingScore[] = [];
  for (const a of strengths) {
    const av = await validationAggregates(model, dataDir, {
      snrsDb: SNRS,
      systems: ['avdcnn-av'],
      maskStrength: audioStrength,
      maskStrengthVisual: a,
    });
    const s = scoreVisualStrength(a, audio, av);
    scores.push(s);
    console.error(
      `audio-visual strength ${a}: ${s.wins}/10 comparisons beat the audio-only mode at ${audioStrength}`,
    );
  }
  const chosen = chooseVisualStrength(scores, audioStrength);
  const updated: SpeechModelMeta = {
    ...meta,
    maskStrengthVisual: chosen.strength,
    training: {
      ...(meta.training ?? {}),
      servingVisual: {
        chosenOn: `validation split, GRID clips (car-interior, 0 and 5 dB), against the audio-only mode at ${audioStrength}; the test split unread`,
        rule: 'most of STOI/ESTOI/SI-SDR/segSNR/OVRL × 0/5 dB above the audio-only mode; then nearest the audio-only strength; then the smaller',
        maskStrengthVisual: chosen.strength,
        grid: scores,
      },
    },
  };
  await writeSpeechMeta(model, updated);
  return { chosen, grid: scores };
}

/** Replaces the speech metadata in a model's sidecar (validated first). */
export async function writeSpeechMeta(model: string, updated: SpeechModelMeta): Promise<void> {
  validateSpeechModelMeta(updated);
  const path = sidecarPathFor(model);
  const raw = JSON.parse(await readFile(path, 'utf8')) as OnnxSidecar;
  await writeFile(
    path,
    JSON.stringify({ ...raw, metadata: { ...raw.metadata, speech: updated } }, null, 2) + '\n',
  );
}

const numbers = (list: string): number[] => list.split(',').map(Number);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      strengths: { type: 'string' },
      'visual-strengths': { type: 'string' },
      'only-visual': { type: 'boolean' },
    },
  });
  const model = positionals[0];
  if (model === undefined)
    throw new Error(
      'usage: scripts/speech-serving.ts MODEL.onnx [--data DIR] [--strengths LIST] [--visual-strengths LIST] [--only-visual]',
    );
  const data = values.data ?? '../shared/data';
  const audio =
    values['only-visual'] === true
      ? null
      : await chooseServingStrength(model, data, numbers(values.strengths ?? '1,0.7,0.5'));
  const visual = await chooseVisualServingStrength(
    model,
    data,
    values['visual-strengths'] !== undefined ? numbers(values['visual-strengths']) : undefined,
  );
  console.log(
    JSON.stringify(
      {
        model,
        ...(audio !== null ? { maskStrength: audio.chosen.strength, grid: audio.grid } : {}),
        maskStrengthVisual: visual.chosen.strength,
        visualGrid: visual.grid,
      },
      null,
      2,
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
