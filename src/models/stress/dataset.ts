/**
 * Labelled training/evaluation samples from drivedb records, produced by replaying each record through the
 * live input path (replay.ts → StressMessageSource → StressInputBuilder), and the pre-processing both the
 * TF.js training and the ONNX estimator apply (`prepareStats`).
 *
 * A sample is an estimate at time t whose newest window [t − windowS, t) lies after the calibration period
 * and is covered ≥ 80 % by one labelled segment (its label). Nothing about t itself (elapsed time, position
 * in the drive, segment order) is an input.
 */
import type { SensorMessage } from '../../streams/contracts/messages.ts';
import type { CanProfileResources } from '../../streams/features/driving-extractor.ts';
import type { StressInput, StressSource, StressWindowConfig } from './inputs.ts';
import { inputShapes, N_STATS, STRESS_SOURCES, StressInputBuilder } from './inputs.ts';
import type { StressRecord, UniformSeries } from './records.ts';
import type { PhysioChannelKind } from '../../streams/contracts/messages.ts';
import { REPLAY_T0_US, replayRecord } from './replay.ts';
import { StressMessageSource } from './source.ts';
import { LEVEL_INDEX, MIN_LABEL_COVERAGE, windowLabel } from './windows.ts';

/** Which source each window statistic belongs to (FEATURE_NAMES order). */
export const STAT_SOURCE: readonly StressSource[] = [
  'hr', 'hr', 'hr',
  'eda', 'eda', 'eda', 'eda', 'eda', 'eda', 'eda', 'eda',
  'resp', 'resp',
]; // prettier-ignore

export interface StatsNormaliser {
  readonly mean: readonly number[];
  readonly sd: readonly number[];
}

/**
 * Standardises the window statistics in place: a statistic whose source the window uses becomes its z-score
 * (clamped to ±5); one whose source is absent or masked, or that is missing (NaN, e.g. foot EDA when only the
 * hand is measured), becomes 0.
 */
export function prepareStats(
  input: { stats: Float32Array; flags: Float32Array },
  n: StatsNormaliser,
  S: number,
): void {
  const F = STRESS_SOURCES.length;
  for (let w = 0; w < S; w++) {
    for (let k = 0; k < N_STATS; k++) {
      const used = input.flags[w * F + STRESS_SOURCES.indexOf(STAT_SOURCE[k]!)] === 1;
      const i = w * N_STATS + k;
      const z = (input.stats[i]! - n.mean[k]!) / n.sd[k]!;
      input.stats[i] = used && Number.isFinite(z) ? Math.max(-5, Math.min(5, z)) : 0;
    }
  }
}

/** Mean and sd of each statistic over the newest windows of samples where its source is used. */
export function fitNormaliser(inputs: readonly StressInput[], S: number): StatsNormaliser {
  const F = STRESS_SOURCES.length;
  const sum = new Float64Array(N_STATS);
  const sq = new Float64Array(N_STATS);
  const cnt = new Float64Array(N_STATS);
  for (const x of inputs) {
    const w = S - 1;
    for (let k = 0; k < N_STATS; k++) {
      if (x.flags[w * F + STRESS_SOURCES.indexOf(STAT_SOURCE[k]!)] !== 1) continue;
      const v = x.stats[w * N_STATS + k]!;
      if (!Number.isFinite(v)) continue;
      sum[k]! += v;
      sq[k]! += v * v;
      cnt[k]! += 1;
    }
  }
  const mean = Array.from(sum, (s, k) => (cnt[k]! > 0 ? s / cnt[k]! : 0));
  const sd = Array.from(sq, (q, k) => {
    const v = cnt[k]! > 1 ? q / cnt[k]! - mean[k]! ** 2 : 1;
    return v > 1e-12 ? Math.sqrt(v) : 1;
  });
  return { mean, sd };
}

export interface ReplayInputOptions {
  readonly windows: StressWindowConfig;
  /** Estimate every `everyS` seconds (live: 1). */
  readonly everyS: number;
  readonly disabled?: ReadonlySet<StressSource>;
  readonly canProfile?: CanProfileResources;
  /** Extra messages (e.g. a simulated vehicle) for [fromS, toS) in record seconds, pushed before the physio. */
  readonly extra?: (fromS: number, toS: number) => readonly SensorMessage[];
  readonly transform?: (kind: PhysioChannelKind, s: UniformSeries) => UniformSeries;
}

export interface ReplayedEstimate {
  /** Seconds from the record start (the labels' time base). */
  readonly tS: number;
  readonly input: StressInput;
  /** Label index of the newest window, or null (unlabelled, or overlapping the calibration). */
  readonly label: number | null;
}

/**
 * Replays `rec` from its first labelled segment (the initial rest, where the calibration starts: the
 * protocol's calibration period) and yields every estimate after the calibration, in time order, every
 * `everyS`. Memory: the builder's ring plus one second of messages, whatever the record's length.
 */
export function* replayEstimates(
  rec: StressRecord,
  o: ReplayInputOptions,
): Generator<ReplayedEstimate, void> {
  const builder = new StressInputBuilder(o.windows, o.disabled);
  const source = new StressMessageSource(builder, o.canProfile ? { canProfile: o.canProfile } : {});
  const fromS = rec.segments[0]?.startS ?? 0;
  const t0 = REPLAY_T0_US / 1e6;
  builder.startCalibration(t0 + fromS);
  const calEnd = fromS + o.windows.calibrationS;
  let next = fromS + o.everyS;
  let lastEnd = fromS;
  const replay = replayRecord(rec, { fromS, chunkS: 1, ...(o.transform ? { transform: o.transform } : {}) });
  for (const { endS, messages } of replay) {
    if (o.extra) for (const m of o.extra(lastEnd, endS)) source.push(m);
    lastEnd = endS;
    for (const m of messages) source.push(m);
    while (next <= endS + 1e-9) {
      const r = builder.inputsAt(t0 + next);
      if (!('calibrating' in r)) {
        const a = next - o.windows.windowS;
        const lab = a >= calEnd - 1e-9 ? windowLabel(rec.segments, a, next, MIN_LABEL_COVERAGE) : undefined;
        yield { tS: next, input: r, label: lab ? LEVEL_INDEX[lab.level] : null };
      }
      next += o.everyS;
    }
  }
}

export interface LabelledSample {
  readonly record: string;
  readonly tS: number;
  readonly label: number;
  readonly input: StressInput;
}

/** The labelled estimates of a record, every `everyS`. */
export function recordSamples(rec: StressRecord, o: ReplayInputOptions): LabelledSample[] {
  const out: LabelledSample[] = [];
  for (const e of replayEstimates(rec, o))
    if (e.label !== null) out.push({ record: rec.name, tS: e.tS, label: e.label, input: e.input });
  return out;
}

/** Element counts of one sample's tensors. */
export function sampleSizes(
  w: StressWindowConfig,
): Record<'physio' | 'stats' | 'vehicle' | 'context' | 'flags', number> {
  const s = inputShapes(w);
  const size = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  return {
    physio: size(s.physio),
    stats: size(s.stats),
    vehicle: size(s.vehicle),
    context: size(s.context),
    flags: size(s.flags),
  };
}
