/**
 * Leave-one-drive-out cross-validation of the stress baseline (multinomial logistic regression on per-window
 * HR, GSR and respiration features, causal calibration normalisation) over all labelled drivedb drives, on
 * the original and on reordered drives (same seed for every drive's shuffle). Prints JSON.
 *
 *   node --import tsx scripts/stress-baseline.ts [--dir DIR] [--segments CSV] [--window S] [--stride S]
 *                                                [--calibration S] [--seed N]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_HYPERPARAMETERS, leaveOneDriveOut } from '../src/models/stress/baseline.ts';
import { loadLabelledDrives } from '../src/models/stress/records.ts';
import { reorderSegments } from '../src/models/stress/reorder.ts';
import { FEATURE_NAMES, recordWindows } from '../src/models/stress/windows.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: resolve(root, '../shared/data/physio/drivedb') },
    segments: { type: 'string' },
    window: { type: 'string', default: '60' },
    stride: { type: 'string', default: '10' },
    calibration: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
  },
});
const dir = values.dir;
const segments = values.segments ?? resolve(dir, 'drivedb_stress_segments.csv');
const opts = {
  windowS: Number(values.window),
  strideS: Number(values.stride),
  calibrationS: Number(values.calibration),
};
const seed = Number(values.seed);

const { records, missing } = await loadLabelledDrives(dir, segments);
const original = records.map((r) => recordWindows(r, opts));
const reordered = records.map((r) => {
  const { record, order } = reorderSegments(r, seed);
  return { ...recordWindows(record, opts), record: r.name, order };
});
const cvOriginal = leaveOneDriveOut(original);
const cvReordered = leaveOneDriveOut(reordered);
const round = (v: number) => Math.round(v * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      setup: {
        drives: records.map((r) => ({ record: r.name, format: r.format, hr: r.hrNote })),
        missingDrives: missing,
        windows: { ...opts, minLabelCoverage: 0.8 },
        features: FEATURE_NAMES,
        hyperparameters: BASELINE_HYPERPARAMETERS,
        reorderSeed: seed,
        windowCounts: Object.fromEntries(original.map((w) => [w.record, w.counts])),
        reorderedOrder: Object.fromEntries(reordered.map((w) => [w.record, w.order])),
      },
      original: cvOriginal,
      reordered: cvReordered,
      macroF1Difference: round(cvReordered.pooled.macroF1 - cvOriginal.pooled.macroF1),
    },
    (_k, v: unknown) => (typeof v === 'number' ? round(v) : v),
    2,
  ),
);
