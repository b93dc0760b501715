import type { SensorMessage } from '../contracts/messages.ts';
import type { DbcDatabase } from './can/dbc.ts';
import type { DrivingFeatures, DrivingSample } from './can/driving.ts';
import { DrivingFeatureAccumulator } from './can/driving.ts';
import type { DrivingRole, VehicleProfile } from './can/profile.ts';
import { DRIVING_ROLES } from './can/profile.ts';
import { SignalExtractor, wireFrameInput } from './can/signals.ts';
import type { FeatureRow, WindowFeatureExtractor } from './extractor.ts';

/**
 * Driving features per window (measurement `driving`) from the `can` stream, through a vehicle profile
 * (which messages and signals are speed, steering, pedals, gear) and its DBC.
 *
 * Time: features describe the `spanMs` ending at the window's end (steering entropy and reversal rate need
 * seconds of steering, not one window). Bus numbers on the wire map to profile bus names as `can{N}`.
 * Memory: decoded samples of the last `spanMs` plus what has arrived beyond the window being closed.
 */
export interface DrivingExtractorOptions {
  readonly spanMs: number;
}

export interface CanProfileResources {
  readonly db: DbcDatabase;
  readonly profile: VehicleProfile;
}

export class DrivingExtractor implements WindowFeatureExtractor {
  readonly measurement = 'driving';
  readonly stream = 'can' as const;
  private readonly signals: SignalExtractor;
  private readonly roles: DrivingRole[];
  private readonly row: Float64Array;
  private samples: DrivingSample[] = [];

  constructor(
    resources: CanProfileResources,
    private readonly opts: DrivingExtractorOptions = { spanMs: 10_000 },
  ) {
    this.roles = DRIVING_ROLES.filter((r) => resources.profile.signals[r] !== undefined);
    this.signals = new SignalExtractor(resources.db, this.roles, { profile: resources.profile });
    this.row = new Float64Array(this.signals.columns.length);
  }

  onMessage(m: SensorMessage): void {
    if (m.kind !== 'can') return;
    for (const f of m.frames) {
      if (!this.signals.decode(wireFrameInput(f), this.row)) continue;
      for (let i = 0; i < this.roles.length; i++) {
        const value = this.row[i] as number;
        if (!Number.isNaN(value))
          this.samples.push({ role: this.roles[i] as DrivingRole, tUs: f.tUs, value });
      }
    }
  }

  onWindow(startUs: number, endUs: number): FeatureRow | null {
    const fromUs = endUs - this.opts.spanMs * 1000;
    this.samples = this.samples.filter((s) => s.tUs >= fromUs);
    const acc = new DrivingFeatureAccumulator();
    let n = 0;
    for (const s of this.samples) {
      if (s.tUs < endUs) {
        acc.add(s);
        n++;
      }
    }
    if (n === 0) return null;
    return { fields: flatten(acc.features(fromUs, endUs)) };
  }
}

/** The features as InfluxDB fields; what could not be computed is left out (see `status`). */
export function flatten(f: DrivingFeatures): Record<string, number | string> {
  const out: Record<string, number | string> = { status: f.status };
  const put = (name: string, v: number | null | undefined) => {
    if (v !== null && v !== undefined && Number.isFinite(v)) out[name] = v;
  };
  for (const [name, s] of [
    ['speed', f.speed],
    ['steering_angle', f.steeringAngle],
    ['steering_rate', f.steeringRate],
    ['acceleration', f.acceleration],
  ] as const) {
    if (s === null) continue;
    put(`${name}_mean`, s.mean);
    put(`${name}_sd`, s.sd);
    put(`${name}_min`, s.min);
    put(`${name}_max`, s.max);
  }
  put('reversal_rate_per_min', f.reversals?.ratePerMin);
  put('steering_entropy', f.entropy?.value);
  put('brake_fraction', f.brake?.activeFraction);
  put('brake_presses', f.brake?.presses);
  put('throttle_fraction', f.throttle?.activeFraction);
  put('throttle_mean', f.throttle?.mean);
  put('jerk_rms', f.jerk?.rms);
  put('gear', f.gear?.last);
  return out;
}
