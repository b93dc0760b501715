/**
 * Makes a trained speech model servable in one go, reading the VALIDATION split only:
 *
 *   node --import tsx scripts/speech-release.ts MODEL.onnx [--data ../shared/data] [--keep-strength]
 *
 * 1. the serving mask strengths, audio-only then audio-visual, by the rules of scripts/speech-serving.ts
 *    (skipped with --keep-strength: the sidecar's strengths stay);
 * 2. the int8 variant the live path serves (`drivesense quantize`, MODEL.int8.onnx, sidecar copied after
 *    step 1 so it carries the strengths);
 * 3. the int8 variant checked against the float model on the validation split (car interior, −5/0/5 dB,
 *    audio-only and audio-visual) by the thresholds written in docs/models/quantization.md: |ΔSTOI| and
 *    |ΔESTOI| ≤ 0.002, |ΔSI-SDR| ≤ 0.2 dB, |ΔOVRL| ≤ 0.02 (DNSMOS by eval speech's default, when its models are there).
 *
 * Writes MODEL.release.json (the grid, the chosen strength, both evaluations' means and every difference);
 * exits 1 when a threshold is exceeded (the int8 file is then left for inspection, not to be served).
 *
 *   node --import tsx scripts/speech-release.ts NAME.ensemble.json [--data ../shared/data]
 *
 * checks a released ensemble: NAME.int8.ensemble.json must list the int8 variants of NAME.ensemble.json's
 * members in the same order, and the two are compared as in step 3, each member at its own strengths
 * (writes NAME.ensemble.release.json).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCommandArgs } from '../src/cli/command.ts';
import { quantizeCommand } from '../src/cli/commands/quantize.ts';
import { quantizedPathFor } from '../src/models/common/onnx-quantize.ts';
import { readEnsembleManifest } from '../src/models/speech/enhancer-onnx.ts';
import { isEnsembleManifest } from '../src/models/speech/ensemble.ts';
import { readSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import {
  pooledRow,
  chooseServingStrength,
  chooseVisualServingStrength,
  validationAggregates,
} from './speech-serving.ts';
import type { Aggregate, ServingScore, VisualServingScore } from './speech-serving.ts';

/** What step 3 evaluates, for a model and for an ensemble alike (see the file comment). */
const RELEASE_EVALUATION = { snrsDb: [-5, 0, 5], systems: ['avdcnn-audio', 'avdcnn-av'] } as const;

/** The largest differences int8 may make to the validation means (docs/models/quantization.md). */
export const INT8_THRESHOLDS: Readonly<Record<string, number>> = {
  stoi: 0.002,
  estoi: 0.002,
  siSdr: 0.2,
  ovrl: 0.02,
};

export interface ReleaseDifference {
  readonly system: string;
  readonly snrDb: number;
  readonly metric: string;
  readonly float: number;
  readonly int8: number;
  readonly difference: number;
  readonly ok: boolean;
}

/** Every (system, SNR, metric) of the thresholds in both evaluations: the int8 − float difference. */
export function compareVariants(
  float: readonly Aggregate[],
  int8: readonly Aggregate[],
): ReleaseDifference[] {
  const out: ReleaseDifference[] = [];
  for (const a of float) {
    if (
      a.snrDb === null ||
      !a.system.startsWith('avdcnn') ||
      pooledRow(float, a.system, a.snrDb, 'all') !== a
    )
      continue;
    const b = pooledRow(int8, a.system, a.snrDb, 'all');
    if (b === undefined) throw new Error(`int8 evaluation lacks ${a.system} at ${a.snrDb} dB`);
    for (const [metric, bound] of Object.entries(INT8_THRESHOLDS)) {
      const f = a.mean[metric];
      const q = b.mean[metric];
      if (f === null || f === undefined || q === null || q === undefined) continue;
      const difference = q - f;
      out.push({
        system: a.system,
        snrDb: a.snrDb,
        metric,
        float: f,
        int8: q,
        difference,
        ok: Math.abs(difference) <= bound,
      });
    }
  }
  if (out.length === 0) throw new Error('no AVDCNN rows to compare');
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { data: { type: 'string' }, 'keep-strength': { type: 'boolean' } },
  });
  const model = positionals[0];
  const data = resolve(values.data ?? '../shared/data');
  if (model !== undefined && isEnsembleManifest(model)) {
    await checkEnsemble(model, data);
    return;
  }
  if (model === undefined || !model.endsWith('.onnx'))
    throw new Error(
      'usage: scripts/speech-release.ts MODEL.onnx [--data DIR] [--keep-strength] | NAME.ensemble.json [--data DIR]',
    );
  let serving: { chosen: ServingScore; grid: ServingScore[] } | null = null;
  let servingVisual: { chosen: VisualServingScore; grid: VisualServingScore[] } | null = null;
  if (values['keep-strength'] !== true) {
    serving = await chooseServingStrength(model, data);
    servingVisual = await chooseVisualServingStrength(model, data);
    console.error(
      `serving strengths ${serving.chosen.strength} (audio-only), ${servingVisual.chosen.strength} (audio-visual) recorded in the sidecar`,
    );
  }
  const int8 = quantizedPathFor(model);
  const q = await quantizeCommand.run(parseCommandArgs(quantizeCommand, [model, '--out', int8]));
  if (q !== 0) throw new Error(`quantize exited with ${q}`);
  const { meta } = await readSpeechModelMeta(model);
  const strength = meta.maskStrength ?? 1;
  const strengthVisual = meta.maskStrengthVisual ?? strength;
  const variant = { ...RELEASE_EVALUATION, maskStrength: strength, maskStrengthVisual: strengthVisual };
  await checkVariant(model, int8, data, variant, model.replace(/\.onnx$/, '.release.json'), {
    maskStrength: strength,
    maskStrengthVisual: strengthVisual,
    serving,
    servingVisual,
  });
}

/** The int8 ensemble manifest beside a float one: NAME.ensemble.json → NAME.int8.ensemble.json. */
export function int8EnsemblePathFor(manifest: string): string {
  return manifest.replace(/\.ensemble\.json$/, '.int8.ensemble.json');
}

async function checkEnsemble(model: string, data: string): Promise<void> {
  const int8 = int8EnsemblePathFor(model);
  const floatMembers = (await readEnsembleManifest(model)).members;
  const int8Members = (await readEnsembleManifest(int8)).members;
  if (JSON.stringify(int8Members) !== JSON.stringify(floatMembers.map(quantizedPathFor)))
    throw new Error(`${int8} does not list the int8 variants of ${model}'s members in their order`);
  const variant = { ...RELEASE_EVALUATION, maskStrength: undefined };
  await checkVariant(model, int8, data, variant, model.replace(/\.json$/, '.release.json'), {
    members: floatMembers,
    strengths: "each member's own",
  });
}

/** Step 3 of the file comment: both evaluated on validation, compared, the report written, the verdict printed. */
async function checkVariant(
  model: string,
  int8: string,
  data: string,
  variant: Parameters<typeof validationAggregates>[2],
  path: string,
  extra: Record<string, unknown>,
): Promise<void> {
  const floatMeans = await validationAggregates(model, data, variant);
  const int8Means = await validationAggregates(int8, data, variant);
  const differences = compareVariants(floatMeans, int8Means);
  const failed = differences.filter((d) => !d.ok);
  const report = {
    model,
    int8,
    ...extra,
    thresholds: INT8_THRESHOLDS,
    differences,
    passed: failed.length === 0,
  };
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  for (const d of failed)
    console.error(
      `int8 off by ${d.difference.toFixed(4)} in ${d.metric} (${d.system}, ${d.snrDb} dB); bound ${INT8_THRESHOLDS[d.metric]}`,
    );
  console.log(
    `${path}: ${failed.length === 0 ? 'int8 within every threshold' : `${failed.length} threshold(s) exceeded`}`,
  );
  if (failed.length > 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
