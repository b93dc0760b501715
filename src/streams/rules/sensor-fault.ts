import type { SensorFaultAlert } from '../contracts/outputs.ts';
import type { InputStream } from '../contracts/topics.ts';
import type { IngestEvent } from '../ingest.ts';

/**
 * Sensor-fault rule for one vehicle: a stream that sends no valid data for longer than its timeout raises
 * a `sensor_fault` alert (reason `invalid` when payloads kept arriving but failed to decode, `silent`
 * otherwise); the alert clears when valid data returns.
 *
 * Time is event time: the vehicle's clock is the latest event time of any of its valid messages, advanced
 * by the caller (`advanceTo`) when the whole vehicle is quiet — so replay and live behave alike, and one
 * dead sensor is detected from the others' progress. Pure state machine, no I/O; memory is per stream.
 */
export interface SensorFaultConfig {
  /** Per-stream timeout in ms; a stream absent from the map is not monitored. */
  readonly timeoutMs: Partial<Record<InputStream, number>>;
}

interface StreamState {
  lastValidUs: number | undefined;
  invalidSinceValid: number;
  fault: 'silent' | 'invalid' | null;
}

export class SensorFaultRule {
  private clockUs: number | undefined;
  private startUs: number | undefined;
  private readonly streams = new Map<InputStream, StreamState>();

  constructor(
    private readonly vehicleId: string,
    private readonly config: SensorFaultConfig,
  ) {}

  get nowUs(): number | undefined {
    return this.clockUs;
  }

  activeFaults(): { stream: InputStream; reason: 'silent' | 'invalid' }[] {
    const out: { stream: InputStream; reason: 'silent' | 'invalid' }[] = [];
    for (const [stream, s] of this.streams) if (s.fault !== null) out.push({ stream, reason: s.fault });
    return out;
  }

  /** Feeds one ingest event of this vehicle; returns alerts to publish (clears and newly found faults). */
  onEvent(ev: IngestEvent): SensorFaultAlert[] {
    if (ev.kind === 'unroutable') return [];
    const s = this.state(ev.stream);
    if (ev.kind === 'invalid') {
      s.invalidSinceValid++;
      return this.clockUs === undefined ? [] : this.check();
    }
    if (ev.seq.status === 'duplicate') return [];
    const alerts: SensorFaultAlert[] = [];
    const t = ev.message.tUs;
    this.startUs ??= t;
    s.lastValidUs = Math.max(s.lastValidUs ?? t, ev.message.endUs);
    s.invalidSinceValid = 0;
    if (s.fault !== null) {
      alerts.push(this.alert(ev.stream, 'cleared', s.fault, t, s.lastValidUs));
      s.fault = null;
    }
    if (this.clockUs === undefined || ev.message.endUs > this.clockUs) this.clockUs = ev.message.endUs;
    return alerts.concat(this.check());
  }

  /** Advances the vehicle clock without data (whole vehicle quiet); never moves it backwards. */
  advanceTo(tUs: number): SensorFaultAlert[] {
    if (this.clockUs === undefined) return [];
    if (tUs > this.clockUs) this.clockUs = tUs;
    return this.check();
  }

  private state(stream: InputStream): StreamState {
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { lastValidUs: undefined, invalidSinceValid: 0, fault: null };
      this.streams.set(stream, s);
    }
    return s;
  }

  private check(): SensorFaultAlert[] {
    const now = this.clockUs;
    if (now === undefined || this.startUs === undefined) return [];
    const alerts: SensorFaultAlert[] = [];
    for (const [stream, timeoutMs] of Object.entries(this.config.timeoutMs) as [InputStream, number][]) {
      const s = this.state(stream);
      if (s.fault !== null) continue;
      const since = s.lastValidUs ?? this.startUs;
      if (now - since > timeoutMs * 1000) {
        s.fault = s.invalidSinceValid > 0 ? 'invalid' : 'silent';
        alerts.push(this.alert(stream, 'raised', s.fault, now, s.lastValidUs));
      }
    }
    return alerts;
  }

  private alert(
    stream: InputStream,
    state: 'raised' | 'cleared',
    reason: 'silent' | 'invalid',
    tUs: number,
    lastDataUs: number | undefined,
  ): SensorFaultAlert {
    const what = reason === 'silent' ? 'sent no data' : 'sent only invalid payloads';
    const message =
      state === 'raised'
        ? `${stream} ${what} for more than ${this.config.timeoutMs[stream]} ms`
        : `${stream} is sending valid data again`;
    return {
      v: 1,
      vehicleId: this.vehicleId,
      kind: 'sensor_fault',
      state,
      stream,
      reason,
      tUs: Math.round(tUs),
      ...(lastDataUs !== undefined ? { lastDataUs: Math.round(lastDataUs) } : {}),
      message,
    };
  }
}
