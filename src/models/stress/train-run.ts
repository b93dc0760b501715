/**
 * `drivesense train stress`: trains the deployable stress model and writes it with its metadata.
 *
 * Split (fixed in advance, by drive): `test` is held out entirely and scored once at the end through the
 * ONNX model and the live input path; `validation` only drives early stopping (physiology only, as in the
 * car without CAN); the rest train. With `simulate`, each training drive is used twice: once as recorded
 * (physiology only) and once paired with a simulated vehicle + context track generated from that training
 * drive's segments (simulated.ts), so the vehicle and context branches learn. The held-out score uses real
 * inputs only; a simulation study (fresh simulated drives, vehicle + context only, seeds never used in
 * training) is reported separately and labelled as such.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CanProfileResources } from '../../streams/features/driving-extractor.ts';
import type { Scores } from './baseline.ts';
import { scoreConfusion, sumConfusions } from './baseline.ts';
import type { LabelledSample } from './dataset.ts';
import { recordSamples } from './dataset.ts';
import type { StressModelMeta } from './estimator.ts';
import { StressEstimator } from './estimator.ts';
import type { Evaluation } from './evaluate.ts';
import { evaluateRecords } from './evaluate.ts';
import { exportStressModel, stressParity } from './export.ts';
import type { StressWindowConfig } from './inputs.ts';
import { DEFAULT_STRESS_WINDOWS } from './inputs.ts';
import { STRESS_HYPERPARAMETERS } from './model.ts';
import type { StressHyperparameters } from './model.ts';
import type { StressRecord } from './records.ts';
import { emptyRecord, scenesFromSegments, simulatedProtocol, simulatedTrack } from './simulated.ts';
import { trainStressModel } from './train.ts';

export interface TrainRunOptions {
  readonly records: readonly StressRecord[];
  readonly test: string;
  readonly validation: string;
  readonly onnxPath: string;
  readonly checkpointDir: string;
  readonly canProfile?: CanProfileResources;
  readonly simulate: boolean;
  readonly windows?: StressWindowConfig;
  readonly hyper?: StressHyperparameters;
  readonly seed?: number;
  readonly everyS?: number;
  readonly log?: (line: string) => void;
  readonly dataDescription?: Readonly<Record<string, unknown>>;
}

export interface TrainRunReport {
  readonly id: string;
  readonly onnxPath: string;
  readonly parityMaxAbs: number;
  readonly split: { readonly train: readonly string[]; readonly validation: string; readonly test: string };
  readonly samples: { readonly train: number; readonly validation: number };
  readonly bestEpoch: number | null;
  readonly bestValMacroF1: number | null;
  readonly history: readonly Record<string, number>[];
  readonly heldOut: { readonly record: string; readonly scores: Scores; readonly estimates: number };
  readonly simulationStudy: { readonly drives: number; readonly scores: Scores } | null;
  readonly seconds: number;
}

export async function runStressTraining(o: TrainRunOptions): Promise<TrainRunReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const w = o.windows ?? DEFAULT_STRESS_WINDOWS;
  const h = o.hyper ?? STRESS_HYPERPARAMETERS;
  const seed = o.seed ?? 1;
  const everyS = o.everyS ?? 10;
  const byName = new Map(o.records.map((r) => [r.name, r]));
  const test = byName.get(o.test);
  const val = byName.get(o.validation);
  if (!test || !val)
    throw new Error(`test (${o.test}) and validation (${o.validation}) must be labelled drives`);
  if (o.test === o.validation) throw new Error('the test and validation drives must differ');
  const trainDrives = o.records.filter((r) => r !== test && r !== val);
  if (o.simulate && !o.canProfile) throw new Error('simulate needs a vehicle profile (CAN)');
  const train: LabelledSample[] = [];
  trainDrives.forEach((r, i) => {
    const s = recordSamples(r, { windows: w, everyS });
    train.push(...s);
    log(`samples ${r.name}: ${s.length}`);
    if (o.simulate && o.canProfile) {
      const extra = simulatedTrack(scenesFromSegments(r.segments, r.durationS), 1000 + i, o.canProfile);
      const sim = recordSamples(r, { windows: w, everyS, canProfile: o.canProfile, extra });
      train.push(...sim);
      log(`samples ${r.name} + simulated vehicle/context: ${sim.length}`);
    }
  });
  const valSamples = recordSamples(val, { windows: w, everyS });
  log(
    `training on ${train.length} samples, validating on ${valSamples.length} (${val.name}), test ${test.name} held out`,
  );
  const res = await trainStressModel(train, valSamples, {
    windows: w,
    hyper: h,
    seed,
    checkpointDir: o.checkpointDir,
    log,
  });
  const id = `stress-cnn-lstm-${new Date().toISOString().slice(0, 10)}-seed${seed}`;
  const meta = (scores: Record<string, unknown>): StressModelMeta => ({
    format: 'drivesense.stress-model',
    version: 1,
    id,
    windows: w,
    hyper: h,
    normaliser: res.normaliser,
    disabled: [],
    training: {
      split: { train: trainDrives.map((r) => r.name), validation: val.name, test: test.name },
      samplesEveryS: everyS,
      samples: { train: train.length, validation: valSamples.length },
      simulatedVehicleContext: o.simulate,
      bestEpoch: res.bestEpoch,
      bestValMacroF1: res.bestValMacroF1,
      history: res.history,
      seed,
      data: o.dataDescription ?? {},
    },
    scores,
  });
  await mkdir(path.dirname(o.onnxPath), { recursive: true });
  await exportStressModel(res.model, meta({}), o.onnxPath);
  const parity = await stressParity(res.model, o.onnxPath, w);
  log(`ONNX parity (max abs, ONNX Runtime vs TF.js): ${parity.toExponential(2)}`);
  if (!(parity <= 1e-4)) throw new Error(`ONNX parity ${parity} exceeds 1e-4`);
  const estimator = await StressEstimator.load(o.onnxPath);
  let heldOut: Evaluation;
  let sim: Evaluation | null = null;
  try {
    heldOut = await evaluateRecords([test], estimator, { everyS: 1 });
    log(
      `held-out ${test.name} (real inputs, one estimate per second): macro-F1 ${heldOut.overall.macroF1.toFixed(3)}`,
    );
    if (o.simulate && o.canProfile) {
      const profile = o.canProfile;
      const drives = [9001, 9002, 9003].map((s) => {
        const segs = simulatedProtocol(s);
        const dur = segs.at(-1)!.endS;
        return {
          rec: emptyRecord(`simulated-${s}`, segs, dur),
          extra: simulatedTrack(scenesFromSegments(segs, dur), s, profile),
        };
      });
      const parts: Evaluation[] = [];
      for (const d of drives)
        parts.push(
          await evaluateRecords([d.rec], estimator, { everyS: 5, canProfile: profile, extra: d.extra }),
        );
      const recs = parts.flatMap((p) => p.records);
      sim = {
        records: recs,
        overall: scoreConfusion(sumConfusions(recs.map((r) => r.confusion))),
        meanRecordMacroF1: recs.reduce((a, r) => a + r.macroF1, 0) / recs.length,
      };
      log(
        `self-consistency check (vehicle + context only, simulated drives 9001–9003, scored against the scenes they were simulated from): macro-F1 ${sim.overall.macroF1.toFixed(3)}`,
      );
    }
  } finally {
    await estimator.release();
  }
  const scores = {
    heldOut: {
      record: test.name,
      inputs: 'real (hr, eda, resp); vehicle and context absent',
      everyS: 1,
      ...heldOut.records[0]!.scores,
    },
    ...(sim
      ? {
          simulationStudy: {
            label:
              'SIMULATION STUDY — a self-consistency check of the vehicle and context branches against the simulated scenes, not a result on real data',
            drives: 3,
            ...sim.overall,
          },
        }
      : {}),
  };
  await exportStressModel(res.model, meta(scores), o.onnxPath);
  res.model.dispose();
  const report: TrainRunReport = {
    id,
    onnxPath: o.onnxPath,
    parityMaxAbs: parity,
    split: { train: trainDrives.map((r) => r.name), validation: val.name, test: test.name },
    samples: { train: train.length, validation: valSamples.length },
    bestEpoch: res.bestEpoch,
    bestValMacroF1: res.bestValMacroF1,
    history: res.history,
    heldOut: {
      record: test.name,
      scores: heldOut.records[0]!.scores,
      estimates: heldOut.records[0]!.estimates,
    },
    simulationStudy: sim ? { drives: 3, scores: sim.overall } : null,
    seconds: (Date.now() - t0) / 1000,
  };
  await writeFile(o.onnxPath.replace(/\.onnx$/, '.report.json'), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}
