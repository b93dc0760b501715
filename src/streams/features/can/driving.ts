/**
 * Driving features per window, from decoded CAN signal samples (vehicle-profile roles, see profile.ts).
 *
 * Input: `DrivingSample { role, tUs, value }` in profile units: speed m/s, steering_angle deg,
 * steering_rate deg/s, throttle %, brake and gear as the profile defines them. Time is the frame's event time
 * in µs since the epoch. `DrivingFeatureAccumulator` collects the samples of one window (any order; it
 * implements the `Aggregator` contract of src/streams/windows.ts through `drivingFeaturesAggregator`), and
 * `features()` computes everything at the window's close. Memory: the window's samples (≈ 100 Hz × roles ×
 * window length).
 *
 * Each role's series is cleaned first (series.ts: NaN dropped, out-of-order sorted, duplicates dropped,
 * split at gaps longer than `maxGapMs`), all counted in `quality[role]`. Nothing is interpolated,
 * differentiated, held or counted across a gap.
 *
 * Features (null when the role has too little data, with the reason in `notes`):
 *   speed, steeringAngle: sample statistics (mean, sd (n − 1), min, max) of the kept samples.
 *   steeringRate: statistics of the steering_rate signal if the profile has one (`source: 'signal'`), else
 *     of the Savitzky–Golay derivative of the angle resampled at `gridHz` (`source: 'derived'`).
 *   reversals: steering wheel reversal rate, Markkula & Engström 2006 (steering.ts), on each gap-free
 *     segment resampled at `gridHz`; counts and durations are summed over segments longer than 6 grid steps.
 *   entropy: Nakayama et al. 1999 steering entropy on the angle resampled every 150 ms per segment;
 *     α = `entropyAlphaDeg` from a baseline when given (`alphaSource: 'baseline'`), else the window's own
 *     90th percentile of |e| (`'window'`). Needs `minEntropyErrors` prediction errors.
 *   brake, throttle: activity with sample-and-hold between consecutive gap-free samples: the fraction of
 *     covered time with value > activeThreshold, and presses = inactive → active transitions inside the
 *     window (a window that starts active does not count that press; `startsActive` says so).
 *   acceleration (m/s²) and jerk (m/s³): Savitzky–Golay first derivative (half window
 *     `derivativeHalfWindowS`) of speed resampled at `gridHz`, then of that acceleration again.
 *   gear: the last value and the number of changes.
 */
import type { Aggregator } from '../../windows.ts';
import type { DrivingRole } from './profile.ts';
import { DRIVING_ROLES } from './profile.ts';
import type { CleanSeries, SeriesQuality, Stats } from './series.ts';
import { cleanSeries, emptyQuality, resampleSegment, segmentValues, stats } from './series.ts';
import { savitzkyGolayDerivative } from './filters.ts';
import type { ReversalOptions } from './steering.ts';
import {
  steeringEntropy,
  steeringEntropyAlpha,
  steeringPredictionErrors,
  steeringReversalRate,
} from './steering.ts';

export interface DrivingSample {
  readonly role: DrivingRole;
  /** Event time, µs since the epoch. */
  readonly tUs: number;
  readonly value: number;
}

export interface DrivingFeatureOptions {
  /** Longest interval between samples that is not a gap, per role (ms). Default 500, gear 5000. */
  readonly maxGapMs?: Partial<Record<DrivingRole, number>>;
  /** Uniform grid for reversal rate, derived steering rate and acceleration (Hz). Default 50. */
  readonly gridHz?: number;
  readonly reversal?: ReversalOptions;
  /** Steering entropy α from a baseline (degrees); default: from the window itself. */
  readonly entropyAlphaDeg?: number;
  /** Entropy sampling interval (ms). Default 150 (Nakayama et al.). */
  readonly entropySampleMs?: number;
  /** Fewest prediction errors for an entropy value. Default 20 (≈ 3 s of steering). */
  readonly minEntropyErrors?: number;
  /** Savitzky–Golay half window for acceleration and jerk (s). Default 0.5 (1 s windows). */
  readonly derivativeHalfWindowS?: number;
  /** Savitzky–Golay half window for a derived steering rate (s). Default 0.1. */
  readonly steeringRateHalfWindowS?: number;
  /** Active when value > threshold. Defaults: brake 0.5, throttle 0. */
  readonly brakeThreshold?: number;
  readonly throttleThreshold?: number;
}

export interface Activity {
  /** Fraction of covered time active, in [0, 1]. */
  readonly activeFraction: number;
  readonly presses: number;
  readonly startsActive: boolean;
  readonly coveredS: number;
  readonly mean: number;
}

export interface DrivingFeatures {
  readonly startUs: number | undefined;
  readonly endUs: number | undefined;
  /** 'empty': no valid sample of any role; 'partial': some features null (see notes); else 'ok'. */
  readonly status: 'ok' | 'partial' | 'empty';
  readonly speed: Stats | null;
  readonly steeringAngle: Stats | null;
  readonly steeringRate: (Stats & { readonly source: 'signal' | 'derived' }) | null;
  readonly reversals: {
    readonly count: number;
    readonly ratePerMin: number;
    readonly durationS: number;
    readonly gapDeg: number;
    readonly cutoffHz: number;
  } | null;
  readonly entropy: {
    readonly value: number;
    readonly alphaDeg: number;
    readonly alphaSource: 'baseline' | 'window';
    readonly errors: number;
  } | null;
  readonly brake: Activity | null;
  readonly throttle: Activity | null;
  readonly acceleration: Stats | null;
  readonly jerk: { readonly n: number; readonly rms: number; readonly maxAbs: number } | null;
  readonly gear: { readonly last: number; readonly changes: number } | null;
  readonly quality: Readonly<Record<DrivingRole, SeriesQuality>>;
  readonly notes: readonly string[];
}

interface RoleBuffer {
  t: number[];
  v: number[];
  received: number;
  nonFinite: number;
  outOfOrder: number;
  lastT: number;
}

function newBuffer(): RoleBuffer {
  return { t: [], v: [], received: 0, nonFinite: 0, outOfOrder: 0, lastT: -Infinity };
}

/** Collects one window's samples. Not thread-safe; one per window. */
export class DrivingFeatureAccumulator {
  readonly #buffers = new Map<DrivingRole, RoleBuffer>();
  /** Samples with a role this accumulator does not know (counted, dropped). */
  unknownRole = 0;

  constructor(private readonly options: DrivingFeatureOptions = {}) {
    for (const r of DRIVING_ROLES) this.#buffers.set(r, newBuffer());
  }

  add(s: DrivingSample): this {
    const b = this.#buffers.get(s.role);
    if (b === undefined) {
      this.unknownRole++;
      return this;
    }
    b.received++;
    if (!Number.isFinite(s.value) || !Number.isFinite(s.tUs)) {
      b.nonFinite++;
      return this;
    }
    if (s.tUs < b.lastT) b.outOfOrder++;
    else b.lastT = s.tUs;
    b.t.push(s.tUs);
    b.v.push(s.value);
    return this;
  }

  /** Computes the window's features (the accumulator may still be added to afterwards). */
  features(startUs?: number, endUs?: number): DrivingFeatures {
    const series = {} as Record<DrivingRole, CleanSeries>;
    for (const r of DRIVING_ROLES) {
      const b = this.#buffers.get(r)!;
      const maxGapMs = this.options.maxGapMs?.[r] ?? (r === 'gear' ? 5000 : 500);
      series[r] = cleanSeries(b.t, b.v, maxGapMs * 1000, b);
    }
    return computeDrivingFeatures(series, this.options, startUs, endUs);
  }
}

/** An `Aggregator` for `eventTimeWindows` (src/streams/windows.ts); call `acc.features(start, end)` on close. */
export function drivingFeaturesAggregator(
  options: DrivingFeatureOptions = {},
): Aggregator<DrivingSample, DrivingFeatureAccumulator> {
  return { create: () => new DrivingFeatureAccumulator(options), add: (acc, s) => acc.add(s) };
}

/** The features of cleaned series (pure). */
export function computeDrivingFeatures(
  series: Readonly<Record<DrivingRole, CleanSeries>>,
  options: DrivingFeatureOptions = {},
  startUs?: number,
  endUs?: number,
): DrivingFeatures {
  const notes: string[] = [];
  const gridHz = options.gridHz ?? 50;
  if (!(gridHz > 0)) throw new RangeError(`gridHz must be positive, got ${gridHz}`);
  const stepUs = 1e6 / gridHz;
  const quality = {} as Record<DrivingRole, SeriesQuality>;
  for (const r of DRIVING_ROLES) quality[r] = series[r]?.quality ?? emptyQuality();
  const has = (r: DrivingRole): boolean => quality[r].samples > 0;
  const missing = (r: DrivingRole, what: string): null => {
    notes.push(has(r) ? `${what}: too little ${r} data` : `${what}: no ${r} samples`);
    return null;
  };

  // Speed and its derivatives.
  const speedSeg = series.speed?.segments ?? [];
  const speed = stats(segmentValues(speedSeg)) ?? missing('speed', 'speed');
  const halfAcc = Math.max(1, Math.round((options.derivativeHalfWindowS ?? 0.5) * gridHz));
  const acc: number[] = [];
  const jerk: number[] = [];
  for (const seg of speedSeg) {
    const a = savitzkyGolayDerivative(resampleSegment(seg, stepUs), halfAcc, 1 / gridHz);
    for (const v of a) acc.push(v);
    for (const v of savitzkyGolayDerivative(a, halfAcc, 1 / gridHz)) jerk.push(v);
  }
  const acceleration = stats(acc) ?? (has('speed') ? missing('speed', 'acceleration') : null);
  let jerkOut: DrivingFeatures['jerk'] = null;
  if (jerk.length > 0) {
    let s2 = 0;
    let maxAbs = 0;
    for (const j of jerk) {
      s2 += j * j;
      maxAbs = Math.max(maxAbs, Math.abs(j));
    }
    jerkOut = { n: jerk.length, rms: Math.sqrt(s2 / jerk.length), maxAbs };
  } else if (has('speed')) missing('speed', 'jerk');

  // Steering.
  const angleSeg = series.steering_angle?.segments ?? [];
  const steeringAngle = stats(segmentValues(angleSeg)) ?? missing('steering_angle', 'steering angle');
  let steeringRate: DrivingFeatures['steeringRate'] = null;
  const rateSignal = stats(segmentValues(series.steering_rate?.segments ?? []));
  if (rateSignal !== null) steeringRate = { ...rateSignal, source: 'signal' };
  else {
    const half = Math.max(1, Math.round((options.steeringRateHalfWindowS ?? 0.1) * gridHz));
    const d: number[] = [];
    for (const seg of angleSeg)
      for (const v of savitzkyGolayDerivative(resampleSegment(seg, stepUs), half, 1 / gridHz)) d.push(v);
    const s = stats(d);
    if (s !== null) steeringRate = { ...s, source: 'derived' };
    else missing('steering_angle', 'steering rate');
  }

  const gapDeg = options.reversal?.gapDeg ?? 3;
  const cutoffHz = options.reversal?.cutoffHz ?? 0.6;
  let reversals: DrivingFeatures['reversals'] = null;
  {
    let count = 0;
    let durationS = 0;
    for (const seg of angleSeg) {
      const grid = resampleSegment(seg, stepUs);
      if (grid.length <= 6) continue;
      const r = steeringReversalRate(grid, gridHz, { gapDeg, cutoffHz });
      count += r.reversals;
      durationS += r.durationS;
    }
    if (durationS > 0)
      reversals = { count, ratePerMin: (count / durationS) * 60, durationS, gapDeg, cutoffHz };
    else missing('steering_angle', 'reversal rate');
  }

  let entropy: DrivingFeatures['entropy'] = null;
  {
    const entropyStepUs = (options.entropySampleMs ?? 150) * 1000;
    const errors: number[] = [];
    for (const seg of angleSeg)
      for (const e of steeringPredictionErrors(resampleSegment(seg, entropyStepUs))) errors.push(e);
    const minErrors = options.minEntropyErrors ?? 20;
    if (errors.length >= minErrors) {
      const baseline = options.entropyAlphaDeg;
      const alphaDeg = baseline ?? steeringEntropyAlpha(errors);
      const value = steeringEntropy(errors, alphaDeg);
      if (Number.isNaN(value)) notes.push(`steering entropy: α = ${alphaDeg} (steering did not move)`);
      else
        entropy = {
          value,
          alphaDeg,
          alphaSource: baseline === undefined ? 'window' : 'baseline',
          errors: errors.length,
        };
    } else missing('steering_angle', 'steering entropy');
  }

  const brake = activity(series.brake, options.brakeThreshold ?? 0.5) ?? missing('brake', 'brake activity');
  const throttle =
    activity(series.throttle, options.throttleThreshold ?? 0) ?? missing('throttle', 'throttle activity');

  let gear: DrivingFeatures['gear'] = null;
  {
    let last = NaN;
    let changes = 0;
    for (const v of segmentValues(series.gear?.segments ?? [])) {
      if (!Number.isNaN(last) && v !== last) changes++;
      last = v;
    }
    if (!Number.isNaN(last)) gear = { last, changes };
    else missing('gear', 'gear');
  }

  const anyData = DRIVING_ROLES.some(has);
  return {
    startUs,
    endUs,
    status: !anyData ? 'empty' : notes.length > 0 ? 'partial' : 'ok',
    speed,
    steeringAngle,
    steeringRate,
    reversals,
    entropy,
    brake,
    throttle,
    acceleration,
    jerk: jerkOut,
    gear,
    quality,
    notes,
  };
}

/** Sample-and-hold activity over gap-free consecutive pairs; null without any pair. */
function activity(s: CleanSeries | undefined, threshold: number): Activity | null {
  if (s === undefined) return null;
  let covered = 0;
  let active = 0;
  let presses = 0;
  let sum = 0;
  let n = 0;
  let startsActive = false;
  let first = true;
  for (const seg of s.segments) {
    const t = seg.tUs;
    const v = seg.values;
    for (let i = 0; i < t.length; i++) {
      sum += v[i]!;
      n++;
      const on = v[i]! > threshold;
      if (first) {
        startsActive = on;
        first = false;
      }
      if (i > 0 && on && !(v[i - 1]! > threshold)) presses++;
      if (i + 1 < t.length) {
        const dt = (t[i + 1]! - t[i]!) / 1e6;
        covered += dt;
        if (on) active += dt;
      }
    }
  }
  if (covered <= 0) return null;
  return { activeFraction: active / covered, presses, startsActive, coveredS: covered, mean: sum / n };
}
