/**
 * Studies of the committed stress model beyond the cross-validation (docs/models/stress.md):
 * 1. ECG/HR failing mid-drive: from the middle of each drive the ECG becomes flat (0 mV) or noise (white,
 *    1 mV rms) — drives 05/06, raw ECG through the QRS path — or, for drives whose HR is the device channel
 *    (07–11), the channel reads 0 (flat: the device's "no beat") or random values (noise). Reported: time from
 *    the fault to the first estimate with hr masked, estimates per second after the fault (they must
 *    continue), the macro-F1 after the fault with and without it. Only drive11 is held out of the committed
 *    model's training; the others show detection and continuity, not held-out scores.
 * 2. The vehicle branch alone on the real RAV4 highway log (comma2k19, 60 s): levels and mean probabilities.
 * 3. SIMULATION STUDY, a self-consistency check: vehicle + context only on simulated rest / highway / city
 *    drives (seeds never used in training), scored against the scenes they were simulated from.
 *
 *   node --import tsx scripts/stress-studies.ts [--model FILE] [--dir DIR] [--can LOG] [--out FILE.json]
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CanBatch, CanFrame } from '../src/streams/contracts/messages.ts';
import { loadCanProfile } from '../src/streams/features/can/load.ts';
import { readCandumpFile } from '../src/streams/readers/candump.ts';
import { StressEstimator } from '../src/models/stress/estimator.ts';
import type { StressResult } from '../src/models/stress/estimator.ts';
import { evaluateRecords } from '../src/models/stress/evaluate.ts';
import { StressInputBuilder } from '../src/models/stress/inputs.ts';
import { loadLabelledDrives } from '../src/models/stress/records.ts';
import type { UniformSeries } from '../src/models/stress/records.ts';
import { emptyRecord, scenesFromSegments, simulatedTrack } from '../src/models/stress/simulated.ts';
import { StressMessageSource } from '../src/models/stress/source.ts';
import { emptyConfusion, scoreConfusion, sumConfusions } from '../src/models/stress/baseline.ts';
import { STRESS_LEVELS } from '../src/models/stress/records.ts';

import { SeededRandom } from '../src/models/common/rng.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: resolve(root, 'src/models/stress/model/stress.onnx') },
    dir: { type: 'string', default: resolve(root, '../shared/data/physio/drivedb') },
    can: {
      type: 'string',
      default: resolve(root, '../shared/data/can/rav4_2018-08-02--08-34-47_seg40.candump.log'),
    },
    profile: { type: 'string', default: resolve(root, 'devices/profiles/toyota-rav4-2018.json') },
    out: { type: 'string', default: resolve(root, 'docs/models/stress-results/studies.json') },
  },
});
const est = await StressEstimator.load(values.model);
const { records } = await loadLabelledDrives(values.dir, resolve(values.dir, 'drivedb_stress_segments.csv'));
const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

// 1. ECG / HR failing mid-drive -------------------------------------------------------------------------
const failure: Record<string, unknown>[] = [];
for (const rec of records) {
  const faultS = Math.round((rec.segments[0]!.endS + rec.durationS) / 2);
  for (const mode of ['none', 'flat', 'noise'] as const) {
    const rng = new SeededRandom(17);
    const transform = (kind: string, s: UniformSeries): UniformSeries => {
      if (mode === 'none' || (kind !== 'ecg' && kind !== 'hr')) return s;
      const out = Float32Array.from(s.samples);
      const from = Math.round(faultS * s.rateHz);
      for (let i = from; i < out.length; i++) {
        if (kind === 'ecg') out[i] = mode === 'flat' ? 0 : Math.sqrt(3) * (2 * rng.next() - 1);
        else out[i] = mode === 'flat' ? 0 : 30 + 190 * rng.next();
      }
      return { rateHz: s.rateHz, samples: out };
    };
    let firstMasked: number | null = null;
    let after = 0;
    const conf = emptyConfusion();
    const reasons: Record<string, number> = {};
    await evaluateRecords([rec], est, {
      everyS: 1,
      transform,
      onEstimate: (_r, tS, r: StressResult, label) => {
        if (tS <= faultS) return;
        after++;
        if (r.sources.hr !== 'used' && firstMasked === null) firstMasked = tS;
        for (const f of r.faults) if (f.source === 'hr') reasons[f.reason] = (reasons[f.reason] ?? 0) + 1;
        if (label !== null) conf[label]![STRESS_LEVELS.indexOf(r.level)]!++;
      },
    });
    const afterS = Math.floor(rec.durationS) - faultS;
    failure.push({
      record: rec.name,
      hr: rec.ecg ? 'ECG → QRS' : 'device HR channel',
      heldOut: rec.name === (est.meta.training['split'] as { test?: string } | undefined)?.test,
      fault: mode,
      faultAtS: faultS,
      flaggedAfterS: firstMasked === null ? null : round((firstMasked as number) - faultS, 1),
      estimatesPerSecondAfterFault: round(after / afterS, 3),
      hrFaultReasons: reasons,
      macroF1AfterFault: round(scoreConfusion(conf).macroF1),
      scoredAfterFault: scoreConfusion(conf).n,
    });
    console.log(JSON.stringify(failure.at(-1)));
  }
}

// 2. The vehicle branch alone on the real RAV4 log ---------------------------------------------------------
const profile = await loadCanProfile(values.profile);
const log = await readCandumpFile(values.can);
const frames: CanFrame[] = log.frames
  .filter((f) => !f.tx && !f.errorFrame)
  .map((f) => ({
    tUs: f.tUs,
    id: f.id,
    extended: f.extended,
    rtr: f.rtr,
    fd: f.fd,
    errorFrame: false,
    bus: Number(/\d+$/.exec(f.bus)?.[0] ?? 0),
    data: f.data,
  }));
const startS = frames[0]!.tUs / 1e6;
const endS = frames.at(-1)!.tUs / 1e6;
const builder = new StressInputBuilder(est.meta.windows);
const source = new StressMessageSource(builder, { canProfile: profile });
builder.startCalibration(startS - est.meta.windows.calibrationS); // no physiology: nothing to calibrate
const rav4: StressResult[] = [];
let fi = 0;
for (let t = Math.ceil(startS) + 1; t <= endS; t++) {
  const batch: CanFrame[] = [];
  while (fi < frames.length && frames[fi]!.tUs / 1e6 < t) batch.push(frames[fi++]!);
  const m: CanBatch = {
    kind: 'can',
    sessionId: 1,
    seq: t,
    tUs: batch[0]?.tUs ?? t * 1e6,
    endUs: t * 1e6,
    bytes: 0,
    frames: batch,
  };
  source.push(m);
  const x = builder.inputsAt(t);
  if (!('calibrating' in x) && x.sources.vehicle === 'used') rav4.push(await est.estimate(x));
}
const levels: Record<string, number> = { low: 0, medium: 0, high: 0 };
for (const r of rav4) levels[r.level]!++;
const meanP = [0, 1, 2].map((k) =>
  round(rav4.reduce((a, r) => a + r.probabilities[k]!, 0) / Math.max(1, rav4.length)),
);
const vehicleOnly = {
  log: values.can.split('/').pop(),
  durationS: round(endS - startS, 1),
  estimates: rav4.length,
  levels,
  meanProbabilities: { low: meanP[0], medium: meanP[1], high: meanP[2] },
};
console.log(JSON.stringify(vehicleOnly));

// 3. SIMULATION STUDY ------------------------------------------------------------------------------------
const simRecs = [7001, 7002, 7003].map((s) => {
  const segs = [
    { name: 'rest', level: 'low' as const, startS: 0, endS: 600 },
    { name: 'city', level: 'high' as const, startS: 600, endS: 1200 },
    { name: 'highway', level: 'medium' as const, startS: 1200, endS: 1800 },
    { name: 'rest 2', level: 'low' as const, startS: 1800, endS: 2400 },
  ];
  return {
    rec: emptyRecord(`simulated-${s}`, segs, 2400),
    extra: simulatedTrack(scenesFromSegments(segs, 2400), s, profile),
  };
});
const simConfs: number[][][] = [];
for (const d of simRecs) {
  const e = await evaluateRecords([d.rec], est, { everyS: 5, canProfile: profile, extra: d.extra });
  simConfs.push(e.overall.confusion);
}
const simConf = sumConfusions(simConfs);
const simulation = {
  label:
    'SIMULATION STUDY — a self-consistency check: simulated vehicle and context only, scored against the scenes they were simulated from; not a result on real data',
  seeds: [7001, 7002, 7003],
  ...scoreConfusion(simConf),
};
console.log(JSON.stringify(simulation));
await est.release();
await writeFile(
  values.out,
  `${JSON.stringify({ model: est.meta.id, failure, vehicleOnly, simulation }, null, 1)}\n`,
);
