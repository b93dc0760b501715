import { z } from 'zod';
import type { StressAlert, StressEstimate } from '../contracts/outputs.ts';

/**
 * Sustained-stress rule for one vehicle: raises a `stress_high` alert when P(high) stays at or above
 * `raiseProbability` for at least `raiseAfterS` of event time, and clears it when P(high) stays below
 * `clearProbability` for at least `clearAfterS`. Values between the two thresholds keep the current state
 * (hysteresis), so an estimate hovering around one threshold cannot make the alert flap.
 *
 * A run is a sequence of consecutive estimates on the right side of the threshold; its duration is the
 * event time from its first estimate to the current one. An estimate on the other side breaks it, and so
 * does a gap between consecutive estimates longer than `maxGapS` (the current estimate then starts a new
 * run). Missing estimates never raise or clear anything by themselves.
 *
 * Time is event time only (the estimates' `tUs`); estimates not after the previous one are ignored and
 * counted, as are estimates whose `pHigh` is not a finite number in [0, 1]. Pure state machine, no I/O.
 */

// Error messages are prefixed with the option's path by the constructor.
const probability = (def: number) => z.number().gt(0, 'must be > 0').max(1, 'must be ≤ 1').default(def);
const seconds = (def: number, min: 'zero' | 'positive') =>
  (min === 'zero' ? z.number().min(0, 'must be ≥ 0') : z.number().gt(0, 'must be > 0')).default(def);

export const stressAlertOptionsSchema = z
  .object({
    raiseProbability: probability(0.6).describe(
      'Raise threshold: P(high) at or above it counts towards raising',
    ),
    clearProbability: probability(0.4).describe(
      'Clear threshold: P(high) below it counts towards clearing; must be below the raise threshold (hysteresis)',
    ),
    raiseAfterS: seconds(30, 'zero').describe(
      'Event time (s) P(high) must stay at or above the raise threshold before the alert is raised',
    ),
    clearAfterS: seconds(30, 'zero').describe(
      'Event time (s) P(high) must stay below the clear threshold before a raised alert is cleared',
    ),
    maxGapS: seconds(5, 'positive').describe(
      'Longest gap (s) between consecutive estimates that does not break a run',
    ),
  })
  .refine((o) => o.clearProbability < o.raiseProbability, {
    message: 'must be < raiseProbability (hysteresis)',
    path: ['clearProbability'],
  });
/** The options as given (every field optional: defaults apply). */
export type StressAlertOptionsInput = z.input<typeof stressAlertOptionsSchema>;
/** The options with defaults applied. */
export type StressAlertOptions = z.output<typeof stressAlertOptionsSchema>;

/** What the rule needs of one stress estimate. */
export interface StressAlertInput {
  /** Event time of the estimate (µs since the epoch). */
  readonly tUs: number;
  /** P(high), in [0, 1]. */
  readonly pHigh: number;
  readonly level: string;
  readonly confidence: number;
}

/** The rule's input from a published stress estimate. */
export function stressAlertInput(e: StressEstimate): StressAlertInput {
  return { tUs: e.tUs, pHigh: e.probabilities.high, level: e.level, confidence: e.confidence };
}

export interface StressAlertStats {
  /** Estimates taken into account. */
  readonly accepted: number;
  /** Estimates ignored because their `tUs` was not after the previous accepted one (or not finite). */
  readonly outOfOrder: number;
  /** Estimates ignored because `pHigh` was not a finite number in [0, 1]. */
  readonly invalid: number;
  readonly raised: number;
  readonly cleared: number;
}

interface Run {
  readonly startUs: number;
  sum: number;
  n: number;
}

export class StressAlertRule {
  readonly options: Readonly<StressAlertOptions>;
  private readonly raiseAfterUs: number;
  private readonly clearAfterUs: number;
  private readonly maxGapUs: number;
  private lastUs: number | undefined;
  private raised = false;
  /** The current run: of P(high) ≥ raise while not raised, of P(high) < clear while raised. */
  private run: Run | null = null;
  private readonly counts = { accepted: 0, outOfOrder: 0, invalid: 0, raised: 0, cleared: 0 };

  /** @throws RangeError if an option is out of range or clearProbability ≥ raiseProbability. */
  constructor(
    private readonly vehicleId: string,
    options: StressAlertOptionsInput = {},
  ) {
    const parsed = stressAlertOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
      throw new RangeError(`invalid stress alert options: ${issues.join('; ')}`);
    }
    this.options = Object.freeze(parsed.data);
    this.raiseAfterUs = Math.round(parsed.data.raiseAfterS * 1e6);
    this.clearAfterUs = Math.round(parsed.data.clearAfterS * 1e6);
    this.maxGapUs = Math.round(parsed.data.maxGapS * 1e6);
  }

  /** Whether a `stress_high` alert is currently raised. */
  get active(): boolean {
    return this.raised;
  }

  get stats(): StressAlertStats {
    return { ...this.counts };
  }

  /** Feeds one estimate of this vehicle; returns the alert to publish, if the state changed. */
  onEstimate(e: StressAlertInput): StressAlert[] {
    const t = e.tUs;
    if (!Number.isFinite(t) || (this.lastUs !== undefined && t <= this.lastUs)) {
      this.counts.outOfOrder++;
      return [];
    }
    const p = e.pHigh;
    if (!Number.isFinite(p) || p < 0 || p > 1) {
      this.counts.invalid++;
      return [];
    }
    this.counts.accepted++;
    const gap = this.lastUs !== undefined && t - this.lastUs > this.maxGapUs;
    this.lastUs = t;
    const { raiseProbability, clearProbability } = this.options;
    const counts = this.raised ? p < clearProbability : p >= raiseProbability;
    if (!counts) {
      this.run = null;
      return [];
    }
    if (this.run === null || gap) this.run = { startUs: t, sum: 0, n: 0 };
    const run = this.run;
    run.sum += p;
    run.n++;
    if (t - run.startUs < (this.raised ? this.clearAfterUs : this.raiseAfterUs)) return [];
    this.raised = !this.raised;
    this.run = null;
    if (this.raised) this.counts.raised++;
    else this.counts.cleared++;
    return [this.alert(this.raised ? 'raised' : 'cleared', t, run)];
  }

  private alert(state: 'raised' | 'cleared', tUs: number, run: Run): StressAlert {
    const mean = run.sum / run.n;
    const durationS = (tUs - run.startUs) / 1e6;
    const { raiseProbability, clearProbability } = this.options;
    const message =
      state === 'raised'
        ? `stress high: P(high) ≥ ${raiseProbability} for ${durationS.toFixed(1)} s (mean ${mean.toFixed(2)})`
        : `stress no longer high: P(high) < ${clearProbability} for ${durationS.toFixed(1)} s (mean ${mean.toFixed(2)})`;
    return {
      v: 1,
      vehicleId: this.vehicleId,
      kind: 'stress_high',
      state,
      tUs: Math.round(tUs),
      sinceUs: Math.round(run.startUs),
      probability: Math.min(1, Math.max(0, mean)),
      message,
    };
  }
}
