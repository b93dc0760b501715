/**
 * Measures a two-model output ensemble on the VALIDATION split (docs/models/speech.md, "Rule for a two-model
 * ensemble"): each model enhances the utterance at its own served strengths, and the two enhanced signals are
 * averaged sample by sample (with the noisy phase and a linear overlap-add synthesis, the same as averaging
 * the masks). The ensemble is then compared with BASELINE by the rule of runs 28/29, car interior and all
 * categories pooled. The test split is never read.
 *
 *   node --import tsx scripts/speech-ensemble.ts MODEL_A.onnx MODEL_B.onnx --baseline BASELINE.onnx [--data DIR]
 */
import { parseArgs } from 'node:util';
import type { AvdcnnEnhancer, AvdcnnLoader } from '../src/cli/commands/eval-speech.ts';
import { loadEvalEnhancer } from '../src/models/speech/enhancer-onnx.ts';
import { comparePooled, compareServing, pooledScoreOf, servingScoreOf } from './speech-compare.ts';
import { SNRS, scoreStrength, validationAggregates } from './speech-serving.ts';

/** The sample-by-sample mean of equally long signals. */
export function averageSignals(signals: readonly Float32Array[]): Float32Array {
  const first = signals[0];
  if (first === undefined) throw new Error('no signals to average');
  const out = new Float32Array(first.length);
  for (const s of signals) {
    if (s.length !== first.length) throw new Error(`signals of ${first.length} and ${s.length} samples`);
    for (let i = 0; i < s.length; i++) out[i]! += s[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= signals.length;
  return out;
}

/** An eval loader that ignores the file it is given and serves the average of `models` (each at its own strengths). */
export function ensembleLoader(models: readonly string[]): AvdcnnLoader {
  return async (): Promise<AvdcnnEnhancer> => {
    const members = await Promise.all(models.map((m) => loadEvalEnhancer(m)));
    return {
      enhance: async (x, mouth) => averageSignals(await Promise.all(members.map((m) => m.enhance(x, mouth)))),
      release: async () => {
        await Promise.all(members.map((m) => m.release()));
      },
    };
  };
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { baseline: { type: 'string' }, data: { type: 'string' } },
  });
  const baseline = values.baseline;
  if (positionals.length < 2 || baseline === undefined)
    throw new Error('usage: scripts/speech-ensemble.ts MODEL_A.onnx MODEL_B.onnx … --baseline BASELINE.onnx');
  const data = values.data ?? '../shared/data';
  const loadAvdcnn = ensembleLoader(positionals);
  // The strength arguments are ignored by the ensemble's loader (each member uses its own); 1 is a placeholder.
  const score = async (allCategories: boolean) =>
    scoreStrength(
      1,
      await validationAggregates(positionals[0]!, data, {
        snrsDb: SNRS,
        systems: ['noisy', 'avdcnn-audio'],
        maskStrength: 1,
        allCategories,
        loadAvdcnn,
      }),
    );
  const car = compareServing(await score(false), await servingScoreOf(baseline));
  const pooled = comparePooled(await score(true), await pooledScoreOf(baseline, data));
  console.log(
    JSON.stringify(
      {
        ensemble: positionals,
        baseline,
        replace: car.replace && pooled.passed,
        carInterior: car,
        allCategories: pooled,
      },
      null,
      2,
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
