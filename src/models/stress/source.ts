/**
 * Sensor messages → the stress model's input builder, for one vehicle (or one replayed record). The same
 * class serves the live pipeline, `eval stress` and `train stress`, so the model sees identical inputs in
 * all three.
 *
 * - physio chunks: an `ecg` channel goes through the streaming QRS detector → RR intervals → a causal
 *   artefact rule (an interval is kept when it lies in 300–2000 ms and within 20 % of the median of the
 *   previous 10 kept-range intervals) → HR points; an `hr` channel (a device's heart rate) is used when no
 *   ECG is present (0 and out-of-range values skipped; ≥ 2 s of them is reported as a flat hr fault);
 *   `eda`: one channel is the hand (steering-wheel) site, two are foot then hand (drivedb's order);
 *   `resp` is respiration. ECG quality (flat, saturated, noisy, electrode off) is checked every `qualityS`
 *   of ECG and reported to the builder as an hr fault over that span.
 * - rr messages (chest strap): the same artefact rule → HR points.
 * - can batches: decoded through the vehicle profile (speed, steering angle/rate, throttle, brake, gear).
 * - weather: the context vector (weather, daylight, time of day).
 * Times: µs since the epoch in, seconds (µs / 1e6) into the builder.
 */
import type { CanFrame, PhysioChunk, SensorMessage } from '../../streams/contracts/messages.ts';
import { EcgBeatStream } from '../../streams/features/ecg/beat-stream.ts';
import { ecgQuality } from '../../streams/features/ecg/quality.ts';
import { RR_MAX_MS, RR_MIN_MS, RrStream } from '../../streams/features/ecg/rr.ts';
import type { RrPoint } from '../../streams/features/ecg/rr.ts';
import type { CanProfileResources } from '../../streams/features/driving-extractor.ts';
import { SignalExtractor, wireFrameInput } from '../../streams/features/can/signals.ts';
import { contextVector, weatherContext } from '../../streams/features/weather.ts';
import type { FaultReason, StressInputBuilder, VehicleSignal } from './inputs.ts';

/** A device HR channel without a valid reading for this long is reported as a flat (lost) sensor. */
const NO_BEAT_S = 2;

const VEHICLE_ROLES: readonly VehicleSignal[] = [
  'speed',
  'steering_angle',
  'steering_rate',
  'throttle',
  'brake',
  'gear',
];

/** Causal RR artefact rule: range, then deviation from the median of the previous in-range intervals. */
export class CausalRrFilter {
  private readonly recent: number[] = [];
  kept = 0;
  rejected = 0;

  constructor(
    private readonly history = 10,
    private readonly maxDeviation = 0.2,
  ) {}

  accept(rrMs: number): boolean {
    if (!(rrMs >= RR_MIN_MS && rrMs <= RR_MAX_MS)) {
      this.rejected++;
      return false;
    }
    let ok = true;
    if (this.recent.length >= 3) {
      const s = [...this.recent].sort((a, b) => a - b);
      const m = s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      ok = Math.abs(rrMs - m) <= this.maxDeviation * m;
    }
    this.recent.push(rrMs);
    if (this.recent.length > this.history) this.recent.shift();
    if (ok) this.kept++;
    else this.rejected++;
    return ok;
  }
}

export interface StressSourceOptions {
  readonly canProfile?: CanProfileResources;
  /** ECG quality block length (s). */
  readonly qualityS?: number;
}

export class StressMessageSource {
  private readonly beats = new EcgBeatStream();
  private readonly rr = new RrStream();
  private readonly rrFilter = new CausalRrFilter();
  private readonly signals: SignalExtractor | undefined;
  private readonly roles: VehicleSignal[] = [];
  private readonly row: Float64Array;
  private readonly qualityS: number;
  private ecgBlock: { t0Us: number; rateHz: number; parts: Float32Array[]; n: number } | undefined;
  private hasEcg = false;
  private noBeatSinceS: number | undefined;
  readonly qualityFaults: Record<string, number> = {};

  constructor(
    readonly builder: StressInputBuilder,
    options: StressSourceOptions = {},
  ) {
    this.qualityS = options.qualityS ?? 2;
    const res = options.canProfile;
    if (res !== undefined) {
      this.roles = VEHICLE_ROLES.filter((r) => res.profile.signals[r] !== undefined);
      if (this.roles.length > 0)
        this.signals = new SignalExtractor(res.db, this.roles, { profile: res.profile });
    }
    this.row = new Float64Array(this.roles.length);
  }

  push(m: SensorMessage): void {
    switch (m.kind) {
      case 'physio':
        return this.physio(m);
      case 'rr':
        return this.hrPoints(this.rr.pushStrap(m));
      case 'can':
        return this.can(m.frames);
      case 'weather': {
        const v = contextVector(weatherContext(m));
        return this.builder.pushContext(m.tUs / 1e6, v.values, v.mask);
      }
      default:
        return;
    }
  }

  private hrPoints(points: readonly RrPoint[]): void {
    for (const p of points)
      if (this.rrFilter.accept(p.rrMs)) this.builder.pushHr(p.tUs / 1e6, 60000 / p.rrMs);
  }

  private physio(m: PhysioChunk): void {
    const t0 = m.tUs / 1e6;
    const edaCount = m.channels.filter((c) => c.kind === 'eda').length;
    let eda = 0;
    for (const ch of m.channels) {
      if (ch.kind === 'ecg') {
        this.hasEcg = true;
        this.hrPoints(this.rr.pushBeats(this.beats.pushPhysio(m)));
        this.ecgQuality(m.tUs, ch.rateHz, ch.samples);
      } else if (ch.kind === 'hr' && !this.hasEcg) {
        for (let i = 0; i < ch.samples.length; i++) {
          const v = ch.samples[i]!;
          const t = t0 + i / ch.rateHz;
          if (Number.isFinite(v) && v >= 30 && v <= 220) {
            this.builder.pushHr(t, v);
            this.noBeatSinceS = undefined;
          } else {
            // A device reading "no beat" (0) or nonsense for ≥ noBeatS: the sensor has lost the heart.
            this.noBeatSinceS ??= t;
            if (t - this.noBeatSinceS >= NO_BEAT_S)
              this.builder.pushFault('hr', 'flat', this.noBeatSinceS, t + 1 / ch.rateHz);
          }
        }
      } else if (ch.kind === 'eda') {
        this.builder.pushEda(edaCount === 2 && eda++ === 0 ? 'foot' : 'hand', t0, ch.rateHz, ch.samples);
      } else if (ch.kind === 'resp') {
        this.builder.pushResp(t0, ch.rateHz, ch.samples);
      }
    }
  }

  /** Collects ECG into `qualityS` blocks and reports a block's quality fault to the builder. */
  private ecgQuality(tUs: number, rateHz: number, samples: Float32Array): void {
    let b = this.ecgBlock;
    const expected = b ? b.t0Us + (b.n / b.rateHz) * 1e6 : NaN;
    if (b && (b.rateHz !== rateHz || Math.abs(tUs - expected) > 2e6 / rateHz)) b = undefined;
    b ??= { t0Us: tUs, rateHz, parts: [], n: 0 };
    b.parts.push(samples);
    b.n += samples.length;
    this.ecgBlock = b;
    if (b.n < this.qualityS * rateHz) return;
    const all = new Float32Array(b.n);
    let at = 0;
    for (const p of b.parts) {
      all.set(p, at);
      at += p.length;
    }
    this.ecgBlock = undefined;
    const q = ecgQuality(all, rateHz);
    const reason: FaultReason | null = q.flat.flag
      ? 'flat'
      : q.saturation.flag
        ? 'saturated'
        : q.noise.flag || q.electrodeOff.flag || !q.usable
          ? 'noisy'
          : null;
    if (reason === null) return;
    this.qualityFaults[reason] = (this.qualityFaults[reason] ?? 0) + 1;
    this.builder.pushFault('hr', reason, b.t0Us / 1e6, b.t0Us / 1e6 + b.n / rateHz);
  }

  private can(frames: readonly CanFrame[]): void {
    const sig = this.signals;
    if (sig === undefined) return;
    for (const f of frames) {
      if (!sig.decode(wireFrameInput(f), this.row)) continue;
      for (let i = 0; i < this.roles.length; i++) {
        const v = this.row[i]!;
        if (!Number.isNaN(v)) this.builder.pushVehicle(this.roles[i]!, f.tUs / 1e6, v);
      }
    }
  }
}
