/**
 * `drivesense eval stress`: scores the committed stress model on a folder of labelled drivedb records
 * through the same code as live use (records replayed as sensor messages → StressMessageSource →
 * StressInputBuilder → ONNX estimator), one estimate per second. The adapter: arguments, file I/O, output.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.ts';
import { numberOpt, stringOpt, UsageError } from '../command.ts';
import { StressEstimator } from '../../models/stress/estimator.ts';
import { evaluateRecords } from '../../models/stress/evaluate.ts';
import type { Evaluation } from '../../models/stress/evaluate.ts';
import { prepareDrives } from '../../models/stress/cv.ts';
import { STRESS_SOURCES } from '../../models/stress/inputs.ts';
import type { StressSource } from '../../models/stress/inputs.ts';
import { loadLabelledDrives, STRESS_LEVELS } from '../../models/stress/records.ts';
import { renderStressReportHtml } from '../../models/stress/report-html.ts';
import { DEFAULT_STRESS_MODEL } from '../../config/schema.ts';

const HELP = `Usage: drivesense eval stress --records DIR --segments CSV [--model FILE.onnx] [--json] [--report FILE.html]
                              [--every S] [--without hr,eda,resp] [--reordered SEED]

Runs the stress model over labelled drivedb records (WFDB .hea + .dat[.gz], or rdsamp CSV .csv[.gz], also
under DIR/csv_frame_averaged) exactly as the pipeline would, and scores every estimate whose newest window
lies after the calibration (the drive's first calibrationS of initial rest) and is covered ≥ 80 % by one
labelled segment.

  --records DIR      folder of records
  --segments CSV     labels, with at least the columns record, stress_level, start_s, end_s
  --model FILE       the model (default ${DEFAULT_STRESS_MODEL}; its .onnx.json sidecar beside it)
  --json             print one JSON object (accuracy, macro-F1, confusion, per-record results)
  --report FILE      also write an HTML report (timeline against the labels per drive, confusion matrix)
  --every S          seconds between estimates (default 1, as live)
  --without LIST     remove sources (sensor-failure study): ${STRESS_SOURCES.join(', ')}
  --reordered SEED   score drives whose labelled segments were reordered (initial rest kept first)

Exit status: 0 ok, 1 data or model error, 2 bad arguments.`;

function textReport(e: Evaluation, model: string): string {
  const pct = (v: number) => (100 * v).toFixed(1).padStart(5);
  const lines = [
    `model ${model}`,
    `estimates scored: ${e.overall.n}; accuracy ${pct(e.overall.accuracy)} %; macro-F1 ${e.overall.macroF1.toFixed(3)}`,
    'confusion (rows true, columns predicted: low, medium, high):',
    ...e.overall.confusion.map(
      (r, i) => `  ${STRESS_LEVELS[i]!.padEnd(7)} ${r.map((v) => String(v).padStart(6)).join('')}`,
    ),
    'per record:',
    ...e.records.map(
      (r) =>
        `  ${r.record.padEnd(10)} n ${String(r.estimates).padStart(5)}  acc ${pct(r.accuracy)} %  macro-F1 ${r.macroF1.toFixed(3)}`,
    ),
  ];
  return lines.join('\n');
}

export const evalStressCommand: Command = {
  name: 'eval stress',
  summary: 'Score the stress model on labelled drivedb records (accuracy, macro-F1, confusion)',
  help: HELP,
  options: {
    records: { type: 'string' },
    segments: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    every: { type: 'string' },
    without: { type: 'string' },
    reordered: { type: 'string' },
  },
  async run(args) {
    const dir = stringOpt(args, 'records');
    const segments = stringOpt(args, 'segments');
    if (dir === undefined || segments === undefined)
      throw new UsageError(`--records and --segments are required\n\n${HELP}`);
    const everyS = numberOpt(args, 'every', 1);
    if (!(everyS > 0)) throw new UsageError('--every must be > 0');
    const without = (stringOpt(args, 'without') ?? '').split(',').filter((s) => s !== '');
    for (const s of without)
      if (!(STRESS_SOURCES as readonly string[]).includes(s))
        throw new UsageError(`--without: unknown source '${s}'`);
    const reorderedOpt = stringOpt(args, 'reordered');
    if (reorderedOpt !== undefined && !Number.isInteger(Number(reorderedOpt)))
      throw new UsageError(`--reordered needs an integer seed, got ${JSON.stringify(reorderedOpt)}`);
    const modelPath = stringOpt(args, 'model') ?? DEFAULT_STRESS_MODEL;
    const { records, missing } = await loadLabelledDrives(dir, segments);
    if (records.length === 0)
      throw new Error(`no labelled records found in ${dir} (labels for: ${missing.join(', ') || 'none'})`);
    const drives = prepareDrives(records, reorderedOpt === undefined ? undefined : Number(reorderedOpt));
    const estimator = await StressEstimator.load(modelPath);
    let e: Evaluation;
    try {
      e = await evaluateRecords(drives, estimator, { everyS, disabled: without as StressSource[] });
    } finally {
      await estimator.release();
    }
    const notes = [
      `Model ${estimator.meta.id}; windows ${estimator.meta.windows.windowS} s, sequence ${estimator.meta.windows.sequenceLength} × ${estimator.meta.windows.strideS} s, calibration ${estimator.meta.windows.calibrationS} s.`,
      `Model trained on ${JSON.stringify((estimator.meta.training['split'] as unknown) ?? {})}: scores on its training or validation drives are not held-out results.`,
      ...(without.length > 0 ? [`Sources removed: ${without.join(', ')}.`] : []),
      ...(reorderedOpt !== undefined ? [`Segments reordered with seed ${reorderedOpt}.`] : []),
      ...(missing.length > 0 ? [`Labelled records without data: ${missing.join(', ')}.`] : []),
    ];
    if (args.values['report'] !== undefined) {
      const file = stringOpt(args, 'report')!;
      const html = renderStressReportHtml({
        title: `Stress evaluation — ${path.basename(dir)}`,
        model: { name: estimator.meta.id, file: modelPath, config: { ...estimator.meta.windows, everyS } },
        overall: {
          estimates: e.overall.n,
          accuracy: e.overall.accuracy,
          macroF1: e.overall.macroF1,
          f1: [e.overall.f1.low ?? NaN, e.overall.f1.medium ?? NaN, e.overall.f1.high ?? NaN],
          confusion: e.overall.confusion,
        },
        records: e.records,
        notes,
        generatedAt: new Date().toISOString(),
      });
      await writeFile(file, html);
    }
    if (args.values['json'] === true) {
      console.log(
        JSON.stringify({
          model: {
            file: modelPath,
            id: estimator.meta.id,
            windows: estimator.meta.windows,
            split: estimator.meta.training['split'],
          },
          everyS,
          without,
          reorderedSeed: reorderedOpt === undefined ? null : Number(reorderedOpt),
          accuracy: e.overall.accuracy,
          macroF1: e.overall.macroF1,
          f1: e.overall.f1,
          confusion: e.overall.confusion,
          estimates: e.overall.n,
          records: e.records.map((r) => ({
            record: r.record,
            estimates: r.estimates,
            accuracy: r.accuracy,
            macroF1: r.macroF1,
            f1: r.scores.f1,
            confusion: r.confusion,
            sourceUse: r.sourceUse,
            faults: r.faults,
          })),
          notes,
        }),
      );
    } else console.log(`${textReport(e, modelPath)}\n${notes.map((n) => `note: ${n}`).join('\n')}`);
    return 0;
  },
};
