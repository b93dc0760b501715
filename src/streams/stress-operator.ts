import type { Config } from '../config/schema.ts';
import type { StressResult } from '../models/stress/estimator.ts';
import type { StressInput, StressSource, StressWindowConfig } from '../models/stress/inputs.ts';
import { StressInputBuilder } from '../models/stress/inputs.ts';
import { StressMessageSource } from '../models/stress/source.ts';
import { stressPoint } from '../sinks/influx-schema.ts';
import type { Point } from '../sinks/point.ts';
import type { Alert, StressEstimate, Status } from './contracts/outputs.ts';
import { encodeJson, stressSchema } from './contracts/outputs.ts';
import type { SensorMessage } from './contracts/messages.ts';
import { QOS, topicFor } from './contracts/topics.ts';
import type { CanProfileResources } from './features/driving-extractor.ts';
import { StressAlertRule, stressAlertInput } from './rules/stress-alert.ts';

/**
 * Serves the stress model for ONE vehicle: its decoded messages feed a StressInputBuilder through a
 * StressMessageSource (the classes training and `eval stress` use, so the car sees the same inputs); event-time
 * ticks every `everyMs`, driven by the closing of the pipeline's windows (all data up to a closed window's end
 * is in), ask the builder for an input; each input is estimated asynchronously by the model, then published
 * (`…/stress`, QoS 1), written (measurement `stress`) and fed to the `stress_high` rule.
 *
 * Backpressure: at most `maxPending` estimates of the vehicle are in flight; a tick due beyond that is
 * dropped and counted (a slow model thins the estimates, it never queues without bound). Results are emitted
 * in tick order. A failing estimate is counted and logged, never fatal.
 *
 * Ticks are on the epoch-aligned grid of `everyMs`. A jump of event time (a vehicle back after a silence)
 * evaluates at most `MAX_CATCH_UP_TICKS` of the ticks it passes, the newest; the others are counted as
 * skipped. A tick whose newest window has no input at all (every source absent) is counted, not estimated.
 *
 * I/O is at the edges: the model and the outputs are passed in. No clock: time is event time only.
 */

/** What the operator needs of a model (StressEstimator fits; tests inject fakes). */
export interface StressModel {
  readonly meta: {
    readonly id: string;
    readonly windows: StressWindowConfig;
    readonly disabled?: readonly StressSource[];
  };
  estimateBatch(inputs: readonly StressInput[]): Promise<StressResult[]>;
}

export type StressOptions = Config['features']['stress'];

export interface StressOutputs {
  readonly publish: (topic: string, payload: Uint8Array, opts: { qos: 0 | 1 }) => boolean;
  readonly writePoints: (points: Point[]) => void;
  readonly emitAlerts: (alerts: readonly Alert[]) => void;
  /** A failed estimate (default: ignored beyond the count). */
  readonly onError?: (vehicleId: string, error: Error) => void;
}

export type StressCounters = NonNullable<Status['stress']>;

export const MAX_CATCH_UP_TICKS = 120;

/** The builder's window set-up: the model's, with the configured calibration (never shorter than a window). */
export function servingWindows(model: StressWindowConfig, calibrationS: number | null): StressWindowConfig {
  if (calibrationS === null) return model;
  return { ...model, calibrationS: Math.max(calibrationS, model.windowS) };
}

const ZERO_COUNTERS: StressCounters = {
  estimates: 0,
  calibrating: 0,
  noInput: 0,
  skipped: 0,
  dropped: 0,
  errors: 0,
  pending: 0,
};

/** Counters summed over vehicles (PipelineStats.stress). */
export function sumStressCounters(all: readonly StressCounters[]): StressCounters {
  const sum: StressCounters = { ...ZERO_COUNTERS };
  for (const c of all) for (const k of Object.keys(sum) as (keyof StressCounters)[]) sum[k] += c[k];
  return sum;
}

export class VehicleStressOperator {
  private readonly source: StressMessageSource;
  private readonly rule: StressAlertRule;
  private readonly everyUs: number;
  private lastTickUs: number | undefined;
  private tail: Promise<void> = Promise.resolve();
  private readonly counts: StressCounters = { ...ZERO_COUNTERS };

  constructor(
    readonly vehicleId: string,
    private readonly model: StressModel,
    private readonly options: StressOptions,
    private readonly out: StressOutputs,
    canProfile?: CanProfileResources,
  ) {
    const builder = new StressInputBuilder(
      servingWindows(model.meta.windows, options.calibrationS),
      new Set(model.meta.disabled ?? []),
    );
    this.source = new StressMessageSource(builder, canProfile !== undefined ? { canProfile } : {});
    this.rule = new StressAlertRule(vehicleId, options.alert);
    this.everyUs = options.everyMs * 1000;
  }

  /** A decoded, non-duplicate message of this vehicle (streams the model does not use are ignored). */
  onMessage(m: SensorMessage): void {
    if (m.kind === 'physio' || m.kind === 'rr' || m.kind === 'can' || m.kind === 'weather')
      this.source.push(m);
  }

  /** A pipeline window [startUs, endUs) closed: every data up to endUs is in; runs the ticks up to endUs. */
  onWindowClosed(startUs: number, endUs: number): void {
    const every = this.everyUs;
    let from = this.lastTickUs ?? Math.floor(startUs / every) * every;
    const last = Math.floor(endUs / every) * every;
    if (last <= from) return;
    const due = Math.round((last - from) / every);
    if (due > MAX_CATCH_UP_TICKS) {
      this.counts.skipped += due - MAX_CATCH_UP_TICKS;
      from = last - MAX_CATCH_UP_TICKS * every;
    }
    for (let t = from + every; t <= last; t += every) this.tick(t);
    this.lastTickUs = last;
  }

  private tick(tUs: number): void {
    const x = this.source.builder.inputsAt(tUs / 1e6);
    if ('calibrating' in x) {
      this.counts.calibrating++;
      return;
    }
    if (Object.values(x.sources).every((s) => s === 'absent')) {
      this.counts.noInput++;
      return;
    }
    if (this.counts.pending >= this.options.maxPending) {
      this.counts.dropped++;
      return;
    }
    this.counts.pending++;
    // Started now (a synchronous throw becomes a rejection); handled below, possibly after later ticks.
    const running = Promise.resolve().then(() => this.model.estimateBatch([x]));
    running.catch(() => undefined);
    // Emitted in tick order: each result waits for the previous one's emission.
    this.tail = this.tail.then(async () => {
      try {
        const [r] = await running;
        if (r === undefined) throw new Error('the model returned no estimate');
        this.emit(tUs, r);
      } catch (e) {
        this.counts.errors++;
        this.out.onError?.(this.vehicleId, e instanceof Error ? e : new Error(String(e)));
      } finally {
        this.counts.pending--;
      }
    });
  }

  private emit(tUs: number, r: StressResult): void {
    const p = (v: number) => Math.min(1, Math.max(0, v));
    const [low, medium, high] = r.probabilities;
    const estimate: StressEstimate = {
      v: 1,
      vehicleId: this.vehicleId,
      tUs,
      windowS: this.source.builder.config.windowS,
      level: r.level,
      probabilities: { low: p(low), medium: p(medium), high: p(high) },
      confidence: p(r.confidence),
      modalities: { ...r.sources },
      faults: r.faults.map((f) => ({ modality: f.source, reason: f.reason })),
      model: this.model.meta.id,
    };
    const payload = encodeJson(stressSchema, estimate);
    this.counts.estimates++;
    this.out.publish(topicFor(this.vehicleId, 'stress'), payload, { qos: QOS.stress });
    this.out.writePoints([stressPoint(estimate)]);
    this.out.emitAlerts(this.rule.onEstimate(stressAlertInput(estimate)));
  }

  /** Resolves when every estimate started so far has been emitted (or failed). */
  async drain(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.tail) {
      seen = this.tail;
      await seen;
    }
  }

  counters(): StressCounters {
    return { ...this.counts };
  }
}
