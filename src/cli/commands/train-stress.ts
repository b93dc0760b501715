/**
 * `drivesense train stress`: trains the stress model on labelled drivedb drives (the adapter around
 * src/models/stress: argument parsing, file I/O, the progress log). Two modes:
 * - default: the deployable model (train-run.ts) → `--out` (.onnx + sidecar + .report.json);
 * - `--cv`: leave-one-drive-out cross-validation, retraining per fold (cv.ts) → `--cv-out/<variant>.json`.
 * Both checkpoint every epoch and resume when re-run with the same directories. Progress goes to stdout
 * and to `--log`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.ts';
import { numberOpt, stringOpt, UsageError } from '../command.ts';
import { selectTrainingBackend } from '../../models/common/backend.ts';
import { crossValidate } from '../../models/stress/cv.ts';
import { DEFAULT_STRESS_WINDOWS, validateWindowConfig } from '../../models/stress/inputs.ts';
import type { StressSource, StressWindowConfig } from '../../models/stress/inputs.ts';
import { loadLabelledDrives } from '../../models/stress/records.ts';
import { runStressTraining } from '../../models/stress/train-run.ts';
import { loadCanProfile } from '../../streams/features/can/load.ts';
import { DEFAULT_STRESS_MODEL } from '../../config/schema.ts';

export const DEFAULT_DRIVEDB = '../shared/data/physio/drivedb';
const DEFAULT_PROFILE = 'devices/profiles/toyota-rav4-2018.json';

const HELP = `Usage: drivesense train stress [--data DIR] [--segments CSV] [--out FILE.onnx] [--test drive11]
                               [--validation drive10] [--no-simulate] [--seed N] [--checkpoints DIR] [--log FILE]
       drivesense train stress --cv [--variant all|cardiac-only] [--reordered] [--cv-out DIR] [--folds a,b]

Trains the CNN+LSTM stress model on the labelled drivedb drives (WFDB records or rdsamp CSV exports).

  --data DIR          folder of drivedb records (default ${DEFAULT_DRIVEDB})
  --segments CSV      labels: columns record, stress_level, start_s, end_s (default DIR/drivedb_stress_segments.csv)
  --out FILE.onnx     the model (default ${DEFAULT_STRESS_MODEL}); writes FILE.onnx.json and FILE.report.json
  --test NAME         drive held out and scored once at the end (default drive11)
  --validation NAME   drive for early stopping (default drive10)
  --no-simulate       do not pair training drives with simulated vehicle/context tracks
  --profile FILE      vehicle profile for the simulated CAN (default ${DEFAULT_PROFILE})
  --seed N            seed for initialisation, data order and augmentation (default 1)
  --window-s S        window length (default 60; ≤ 60 is the target), --stride-s S step between the
                      sequence's windows (default 10), --sequence N windows per estimate (default 6),
                      --calibration-s S causal calibration at the drive's start (default 300)
  --checkpoints DIR   epoch checkpoints (default out/train-stress/ckpt); a re-run resumes from them
  --log FILE          progress log (default out/train-stress/train.log)
  --cv                leave-one-drive-out cross-validation instead (retraining per fold)
  --variant NAME      all (hr, eda, resp) or cardiac-only (hr) (default all)
  --reordered         cross-validate on drives with reordered segments (initial rest first)
  --cv-out DIR        fold results and summary (default out/stress-cv)
  --folds LIST        only these test drives

Exit status: 0 ok, 1 data or training error, 2 bad arguments.`;

const VARIANTS: Readonly<Record<string, readonly StressSource[]>> = {
  all: [],
  'cardiac-only': ['eda', 'resp'],
};

export const trainStressCommand: Command = {
  name: 'train stress',
  summary: 'Train the stress model on drivedb drives (or cross-validate it with --cv)',
  help: HELP,
  options: {
    data: { type: 'string' },
    segments: { type: 'string' },
    out: { type: 'string' },
    test: { type: 'string' },
    validation: { type: 'string' },
    'no-simulate': { type: 'boolean' },
    profile: { type: 'string' },
    seed: { type: 'string' },
    checkpoints: { type: 'string' },
    log: { type: 'string' },
    cv: { type: 'boolean' },
    variant: { type: 'string' },
    reordered: { type: 'boolean' },
    'cv-out': { type: 'string' },
    folds: { type: 'string' },
    'window-s': { type: 'string' },
    'stride-s': { type: 'string' },
    sequence: { type: 'string' },
    'calibration-s': { type: 'string' },
  },
  async run(args) {
    const data = stringOpt(args, 'data') ?? DEFAULT_DRIVEDB;
    const segments = stringOpt(args, 'segments') ?? path.join(data, 'drivedb_stress_segments.csv');
    const seed = Number(stringOpt(args, 'seed') ?? '1');
    if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
    const logFile = stringOpt(args, 'log') ?? 'out/train-stress/train.log';
    mkdirSync(path.dirname(logFile), { recursive: true });
    const log = (line: string) => {
      const l = `${new Date().toISOString()} ${line}`;
      console.log(l);
      appendFileSync(logFile, `${l}\n`);
    };
    const windows: StressWindowConfig = {
      ...DEFAULT_STRESS_WINDOWS,
      windowS: numberOpt(args, 'window-s', DEFAULT_STRESS_WINDOWS.windowS),
      strideS: numberOpt(args, 'stride-s', DEFAULT_STRESS_WINDOWS.strideS),
      sequenceLength: numberOpt(args, 'sequence', DEFAULT_STRESS_WINDOWS.sequenceLength),
      calibrationS: numberOpt(args, 'calibration-s', DEFAULT_STRESS_WINDOWS.calibrationS),
    };
    try {
      validateWindowConfig(windows);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const backend = await selectTrainingBackend({ log });
    log(`training backend: ${backend.reason}`);
    const { records, missing } = await loadLabelledDrives(data, segments);
    if (records.length < 3) throw new Error(`need ≥ 3 labelled drives in ${data}, found ${records.length}`);
    if (missing.length > 0) log(`labelled drives without data (skipped): ${missing.join(', ')}`);
    log(`drives: ${records.map((r) => `${r.name} (${r.hrNote})`).join('; ')}`);
    if (args.values['cv'] === true) {
      const variantName = stringOpt(args, 'variant') ?? 'all';
      const disabled = VARIANTS[variantName];
      if (disabled === undefined)
        throw new UsageError(`--variant must be one of ${Object.keys(VARIANTS).join(', ')}`);
      const reordered = args.values['reordered'] === true;
      const outDir = stringOpt(args, 'cv-out') ?? 'out/stress-cv';
      const variant = `${variantName}-${reordered ? 'reordered' : 'original'}`;
      const folds = stringOpt(args, 'folds');
      const summary = await crossValidate(records, {
        windows,
        disabled,
        ...(reordered ? { reorderSeed: seed } : {}),
        seed,
        outDir,
        variant,
        ablations:
          variantName === 'all'
            ? {
                'without hr': ['hr'],
                'without eda': ['eda'],
                'without resp': ['resp'],
                'hr only': ['eda', 'resp'],
              }
            : {},
        log,
        ...(folds ? { folds: folds.split(',') } : {}),
      });
      await writeFile(path.join(outDir, `${variant}.json`), JSON.stringify(summary, null, 1));
      log(
        `${variant}: pooled macro-F1 ${summary.pooled.macroF1.toFixed(3)} (mean per drive ${summary.meanDriveMacroF1.toFixed(3)}); ` +
          `baseline ${summary.baseline.pooled.macroF1.toFixed(3)}`,
      );
      return 0;
    }
    const simulate = args.values['no-simulate'] !== true;
    const report = await runStressTraining({
      records,
      test: stringOpt(args, 'test') ?? 'drive11',
      validation: stringOpt(args, 'validation') ?? 'drive10',
      onnxPath: stringOpt(args, 'out') ?? DEFAULT_STRESS_MODEL,
      checkpointDir: stringOpt(args, 'checkpoints') ?? 'out/train-stress/ckpt',
      simulate,
      ...(simulate
        ? { canProfile: await loadCanProfile(stringOpt(args, 'profile') ?? DEFAULT_PROFILE) }
        : {}),
      seed,
      windows,
      log,
      dataDescription: {
        source: 'PhysioNet drivedb (Healey & Picard 2005), ODC-By 1.0',
        segments: path.basename(segments),
        drives: records.map((r) => ({
          record: r.name,
          format: r.format,
          hr: r.hrNote,
          durationS: Math.round(r.durationS),
        })),
      },
    });
    log(
      `wrote ${report.onnxPath} (${report.id}); held-out ${report.heldOut.record} macro-F1 ${report.heldOut.scores.macroF1.toFixed(3)}`,
    );
    return 0;
  },
};
