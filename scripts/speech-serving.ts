/**
 * Chooses a speech model's serving mask strength on the VALIDATION split and records it in the model's
 * sidecar (metadata.speech.maskStrength, with the grid's scores under training.serving), so that the live
 * path, `drivesense enhance` and `drivesense eval speech` use it by default. The test split is never read.
 *
 *   node --import tsx scripts/speech-serving.ts MODEL.onnx [--data ../shared/data] [--strengths 1,0.7,0.5]
 *
 * The rule, fixed before any test score was seen: on car-interior noise at 0 and 5 dB (the issue's
 * target conditions), for each strength α, count the six comparisons (STOI, SI-SDR, DNSMOS OVRL × 0 and 5 dB)
 * in which the audio-only AVDCNN beats the noisy input; the highest count wins, ties going to the higher
 * mean STOI improvement, then to the larger α (less change to what the model learned).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCommandArgs } from '../src/cli/command.ts';
import { createEvalSpeechCommand } from '../src/cli/commands/eval-speech.ts';
import { sidecarPathFor } from '../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../src/models/common/onnx-export.ts';
import { readSpeechModelMeta, validateSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';

/** One aggregate row of `drivesense eval speech --json`. */
export interface Aggregate {
  system: string;
  snrDb: number | null;
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

const SNRS = [0, 5];
const METRICS = ['stoi', 'siSdr', 'ovrl'] as const;

/**
 * `drivesense eval speech` on the VALIDATION split of `dataDir`, car-interior noise, run in-process: the
 * aggregate rows of its JSON for `systems` at `snrsDb`, with the model at mask strength `maskStrength`.
 */
export async function validationAggregates(
  model: string,
  dataDir: string,
  o: {
    readonly snrsDb: readonly number[];
    readonly systems: readonly string[];
    readonly maskStrength: number;
  },
): Promise<Aggregate[]> {
  const data = resolve(dataDir);
  const out: string[] = [];
  const cmd = createEvalSpeechCommand({ out: (t) => out.push(t), progress: () => undefined });
  const argv = [
    `--speech=${resolve(data, 'audio/speech')}`,
    `--noise=${resolve(data, 'audio/noise')}`,
    `--video=${resolve(data, 'av/grid')}`,
    `--snr=${o.snrsDb.join(',')}`,
    '--categories=car-interior',
    '--split=validation',
    `--systems=${o.systems.join(',')}`,
    `--model=${model}`,
    `--mask-strength=${o.maskStrength}`,
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
    const row = (system: string) =>
      aggregates.find((a) => a.system === system && a.snrDb === snr && a.subset === 'all');
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
  if (strengths.some((a) => !(a > 0 && a <= 1))) throw new Error('strengths: numbers in (0, 1]');
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
  const training = { ...(meta.training ?? {}) };
  const updated: SpeechModelMeta = {
    ...meta,
    maskStrength: chosen.strength,
    training: {
      ...training,
      serving: {
        chosenOn: 'validation split (car-interior, 0 and 5 dB), audio-only; the test split unread',
        rule: 'most of STOI/SI-SDR/OVRL × 0/5 dB above the noisy input; then mean ΔSTOI; then the larger strength',
        maskStrength: chosen.strength,
        grid: scores,
      },
    },
  };
  validateSpeechModelMeta(updated);
  const path = sidecarPathFor(model);
  const raw = JSON.parse(await readFile(path, 'utf8')) as OnnxSidecar;
  await writeFile(
    path,
    JSON.stringify({ ...raw, metadata: { ...raw.metadata, speech: updated } }, null, 2) + '\n',
  );
  return { chosen, grid: scores };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { data: { type: 'string' }, strengths: { type: 'string' } },
  });
  const model = positionals[0];
  if (model === undefined)
    throw new Error('usage: scripts/speech-serving.ts MODEL.onnx [--data DIR] [--strengths LIST]');
  const strengths = (values.strengths ?? '1,0.7,0.5').split(',').map(Number);
  const { chosen, grid } = await chooseServingStrength(model, values.data ?? '../shared/data', strengths);
  console.log(JSON.stringify({ model, maskStrength: chosen.strength, grid }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
