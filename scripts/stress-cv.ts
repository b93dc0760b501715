/**
 * Leave-one-drive-out cross-validation of the stress model (retraining per fold) on the labelled drivedb
 * drives, with the baseline in the same run; writes `<out>/<variant>.json` (summary) and per-fold files.
 * Resumable: finished folds are kept, an interrupted fold resumes from its last epoch checkpoint.
 *
 *   node --import tsx scripts/stress-cv.ts --variant all|cardiac-only [--reordered] [--out out/stress-cv]
 *                                          [--dir DIR] [--segments CSV] [--folds drive05,drive06]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectTrainingBackend } from '../src/models/common/backend.ts';
import { crossValidate } from '../src/models/stress/cv.ts';
import { DEFAULT_STRESS_WINDOWS } from '../src/models/stress/inputs.ts';
import type { StressSource } from '../src/models/stress/inputs.ts';
import { loadLabelledDrives } from '../src/models/stress/records.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: resolve(root, '../shared/data/physio/drivedb') },
    segments: { type: 'string' },
    variant: { type: 'string', default: 'all' },
    reordered: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: resolve(root, 'out/stress-cv') },
    folds: { type: 'string' },
  },
});
const VARIANTS: Record<string, readonly StressSource[]> = { all: [], 'cardiac-only': ['eda', 'resp'] };
const disabled = VARIANTS[values.variant];
if (disabled === undefined) throw new Error(`--variant must be one of ${Object.keys(VARIANTS).join(', ')}`);
const log = (l: string) => console.log(`${new Date().toISOString()} ${l}`);
const sel = await selectTrainingBackend({ log });
log(`training backend: ${sel.reason}`);
const segments = values.segments ?? resolve(values.dir, 'drivedb_stress_segments.csv');
const { records } = await loadLabelledDrives(values.dir, segments);
const variant = `${values.variant}-${values.reordered ? 'reordered' : 'original'}`;
const summary = await crossValidate(records, {
  windows: DEFAULT_STRESS_WINDOWS,
  disabled,
  ...(values.reordered ? { reorderSeed: Number(values.seed) } : {}),
  outDir: values.out,
  variant,
  ablations:
    values.variant === 'all'
      ? { 'without hr': ['hr'], 'without eda': ['eda'], 'without resp': ['resp'], 'hr only': ['eda', 'resp'] }
      : {},
  log,
  ...(values.folds ? { folds: values.folds.split(',') } : {}),
});
await mkdir(values.out, { recursive: true });
await writeFile(resolve(values.out, `${variant}.json`), JSON.stringify(summary, null, 1));
log(
  `${variant}: pooled macro-F1 ${summary.pooled.macroF1.toFixed(3)}, mean per drive ${summary.meanDriveMacroF1.toFixed(3)}; baseline ${summary.baseline.pooled.macroF1.toFixed(3)}`,
);
