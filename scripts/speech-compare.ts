/**
 * The replacement rule for speech models (docs/models/speech-history.md, the rules written before the runs), applied from the validation grids
 * that `scripts/speech-serving.ts` records in each model's sidecar (training.serving), so that the decision
 * is mechanical and reads the validation split only:
 *
 *   node --import tsx scripts/speech-compare.ts CANDIDATE INCUMBENT [--all-categories | --pool LIST] [--data DIR]
 *
 * CANDIDATE and INCUMBENT are model files (.onnx with a serving grid in the sidecar) or ensemble manifests
 * (*.ensemble.json), which are evaluated on the validation split as served, each member at its own strengths.
 *
 * At each model's served strength, the six comparisons (STOI, SI-SDR, OVRL × 0 and 5 dB, car interior,
 * audio-only) are counted; the candidate replaces the incumbent only if it wins more than it loses AND its
 * mean STOI gain over the noisy input is at least the incumbent's less `STOI_GUARD` (the guard added after
 * runs 24/25, where a model that won four comparisons on SI-SDR and OVRL lost intelligibility). A tie keeps
 * the incumbent.
 *
 * With `--all-categories` (the rule for runs 28 on): both models are also evaluated in-process on the
 * validation split with all five noise categories pooled (audio-only, 0 and 5 dB, each at its served
 * strength), and the candidate must in addition win at least half of those six comparisons and keep its
 * pooled mean STOI gain within `STOI_GUARD` of the incumbent's, so that a model better in the car but worse
 * on every other noise (run 26 against run 18) does not pass on car noise alone.
 *
 * With `--pool LIST` (the car profile's rule, runs 32 on: `--pool car-interior,engine,street,babble`, the
 * in-car set) the same pooled condition is applied over the listed categories only.
 *
 * Prints the verdict as JSON; exit 0 either way (it is a report, not a check).
 */
import { parseArgs } from 'node:util';
import { NOISE_CATEGORIES } from '../src/models/speech/corpus.ts';
import type { NoiseCategory } from '../src/models/speech/corpus.ts';
import { isEnsembleManifest } from '../src/models/speech/ensemble.ts';
import { readSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import { METRICS, SNRS, scoreStrength, validationAggregates } from './speech-serving.ts';
import type { ServingScore } from './speech-serving.ts';

/** How much mean STOI gain over the noisy input a candidate may give up and still replace the incumbent. */
export const STOI_GUARD = 0.001;

export interface Comparison {
  readonly snrDb: number;
  readonly metric: string;
  readonly candidate: number;
  readonly incumbent: number;
  readonly winner: 'candidate' | 'incumbent' | 'tie';
}

export interface Verdict {
  readonly comparisons: Comparison[];
  readonly wins: number;
  readonly losses: number;
  readonly stoiGain: { readonly candidate: number; readonly incumbent: number };
  readonly guardPassed: boolean;
  readonly replace: boolean;
}

/**
 * Candidate against incumbent on every metric at every SNR (higher is better for each): the comparisons,
 * and how many each side won (a tie counts for neither). `valueOf` gives [candidate, incumbent].
 */
export function headToHead(
  snrs: readonly number[],
  metrics: readonly string[],
  valueOf: (snrDb: number, metric: string) => readonly [number, number],
): { comparisons: Comparison[]; wins: number; losses: number } {
  const comparisons: Comparison[] = [];
  for (const snrDb of snrs)
    for (const metric of metrics) {
      const [c, i] = valueOf(snrDb, metric);
      comparisons.push({
        snrDb,
        metric,
        candidate: c,
        incumbent: i,
        winner: c > i ? 'candidate' : c < i ? 'incumbent' : 'tie',
      });
    }
  const wins = comparisons.filter((x) => x.winner === 'candidate').length;
  const losses = comparisons.filter((x) => x.winner === 'incumbent').length;
  return { comparisons, wins, losses };
}

/** The rule of the file comment over the two models' chosen serving scores. */
export function compareServing(candidate: ServingScore, incumbent: ServingScore): Verdict {
  const { comparisons, wins, losses } = headToHead(SNRS, METRICS, (snr, metric) => {
    const c = candidate.means[String(snr)]?.[metric]?.avdcnn;
    const i = incumbent.means[String(snr)]?.[metric]?.avdcnn;
    if (typeof c !== 'number' || typeof i !== 'number')
      throw new Error(`no ${metric} at ${snr} dB in both serving records`);
    return [c, i];
  });
  const guardPassed = candidate.meanStoiGain >= incumbent.meanStoiGain - STOI_GUARD;
  return {
    comparisons,
    wins,
    losses,
    stoiGain: { candidate: candidate.meanStoiGain, incumbent: incumbent.meanStoiGain },
    guardPassed,
    replace: guardPassed && wins > losses,
  };
}

/** The all-categories condition over the pooled validation scores: at least half the comparisons, and the guard. */
export interface PooledVerdict extends Verdict {
  readonly passed: boolean;
}

export function comparePooled(candidate: ServingScore, incumbent: ServingScore): PooledVerdict {
  const v = compareServing(candidate, incumbent);
  return { ...v, passed: v.guardPassed && 2 * v.wins >= v.comparisons.length };
}

/** Which noise the pooled condition covers: every category of the split, or the listed ones. */
export type Pool = readonly NoiseCategory[] | 'all';

/** `--pool LIST`: two or more distinct known noise categories, so that the evaluation pools them. */
export function parsePool(text: string): NoiseCategory[] {
  const names = text.split(',').map((x) => x.trim());
  const known = NOISE_CATEGORIES as readonly string[];
  for (const n of names)
    if (!known.includes(n))
      throw new RangeError(`--pool: unknown noise category '${n}' (one of ${known.join(', ')})`);
  if (new Set(names).size !== names.length)
    throw new RangeError(`--pool: a category is named twice in '${text}'`);
  if (names.length < 2) throw new RangeError('--pool: name at least two categories to pool');
  return NOISE_CATEGORIES.filter((c) => names.includes(c));
}

/**
 * A model's audio-only score on the validation split at its served strength(s), car interior only
 * (`pool` undefined) or the categories of `pool` pooled. An ensemble manifest is evaluated as it is served,
 * each member at its own strengths (its `strength` is then NaN: there is no one value); a model file's
 * car-interior score is the chosen row of its sidecar's serving grid (scripts/speech-serving.ts), its pooled
 * score is evaluated at that strength.
 */
export async function validationScoreOf(model: string, dataDir: string, pool?: Pool): Promise<ServingScore> {
  const evaluate = async (strength: number | undefined): Promise<ServingScore> =>
    scoreStrength(
      strength ?? Number.NaN,
      await validationAggregates(model, dataDir, {
        snrsDb: SNRS,
        systems: ['noisy', 'avdcnn-audio'],
        maskStrength: strength,
        ...(pool !== undefined ? { categories: pool } : {}),
      }),
    );
  if (isEnsembleManifest(model)) return evaluate(undefined);
  if (pool === undefined) return servingScoreOf(model);
  const { meta } = await readSpeechModelMeta(model);
  return evaluate(meta.maskStrength ?? 1);
}

/** The chosen serving score recorded in a model's sidecar by scripts/speech-serving.ts. */
export async function servingScoreOf(model: string): Promise<ServingScore> {
  const { meta } = await readSpeechModelMeta(model);
  const serving = meta.training?.['serving'] as
    { readonly maskStrength?: number; readonly grid?: readonly ServingScore[] } | undefined;
  const chosen = serving?.grid?.find((g) => g.strength === serving.maskStrength);
  if (chosen === undefined)
    throw new Error(`${model}: no serving grid in its sidecar; run scripts/speech-serving.ts on it first`);
  return chosen;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'all-categories': { type: 'boolean' },
      pool: { type: 'string' },
      data: { type: 'string' },
    },
  });
  const [candidate, incumbent] = positionals;
  const usage =
    'usage: scripts/speech-compare.ts CANDIDATE INCUMBENT [--all-categories | --pool LIST] [--data DIR]';
  if (candidate === undefined || incumbent === undefined) throw new Error(usage);
  if (values['all-categories'] === true && values.pool !== undefined)
    throw new Error(`--all-categories and --pool exclude each other; ${usage}`);
  const pool: Pool | undefined =
    values['all-categories'] === true
      ? 'all'
      : values.pool !== undefined
        ? parsePool(values.pool)
        : undefined;
  const data = values.data ?? '../shared/data';
  const car = compareServing(
    await validationScoreOf(candidate, data),
    await validationScoreOf(incumbent, data),
  );
  if (pool === undefined) {
    console.log(JSON.stringify({ candidate, incumbent, ...car }, null, 2));
    return;
  }
  const pooled = comparePooled(
    await validationScoreOf(candidate, data, pool),
    await validationScoreOf(incumbent, data, pool),
  );
  const replace = car.replace && pooled.passed;
  const key = pool === 'all' ? 'allCategories' : 'pooled';
  console.log(
    JSON.stringify(
      { candidate, incumbent, replace, carInterior: car, ...(pool !== 'all' ? { pool } : {}), [key]: pooled },
      null,
      2,
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
