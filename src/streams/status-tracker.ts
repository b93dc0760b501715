import type { StreamCounters } from './contracts/outputs.ts';
import type { InputStream } from './contracts/topics.ts';
import type { IngestEvent } from './ingest.ts';

/**
 * Running per-vehicle, per-stream counters for `…/status` and the CLI summary, plus the most recent
 * decode errors (bounded: 32 per vehicle, identical code+stream merged with a count). Pure state.
 */
export interface RecentError {
  stream: string;
  code: string;
  message: string;
  count: number;
}

export interface VehicleStatus {
  streams: Partial<Record<InputStream, StreamCounters>>;
  recentErrors: RecentError[];
}

const MAX_RECENT = 32;
const MAX_VEHICLES = 10_000;

function zero(): StreamCounters {
  return { messages: 0, invalid: 0, gaps: 0, missing: 0, duplicates: 0, outOfOrder: 0, dropped: 0 };
}

export class StatusTracker {
  private readonly vehicles = new Map<string, VehicleStatus>();
  /** Messages on topics under the tree that are not input topics. */
  unroutable = 0;

  observe(ev: IngestEvent): void {
    if (ev.kind === 'unroutable') {
      this.unroutable++;
      return;
    }
    const v = this.vehicle(ev.vehicleId);
    const c = (v.streams[ev.stream] ??= zero());
    if (ev.kind === 'invalid') {
      c.invalid++;
      const same = v.recentErrors.find((e) => e.stream === ev.stream && e.code === ev.code);
      if (same !== undefined) {
        same.count++;
        same.message = ev.reason;
        v.recentErrors.splice(v.recentErrors.indexOf(same), 1);
        v.recentErrors.push(same);
      } else {
        v.recentErrors.push({ stream: ev.stream, code: ev.code, message: ev.reason, count: 1 });
        if (v.recentErrors.length > MAX_RECENT) v.recentErrors.shift();
      }
      return;
    }
    switch (ev.seq.status) {
      case 'duplicate':
        c.duplicates++;
        return;
      case 'gap':
        c.gaps++;
        c.missing += ev.seq.missing;
        break;
      case 'out-of-order':
        c.outOfOrder++;
        break;
      default:
        break;
    }
    c.messages++;
  }

  /** Counts messages dropped downstream (late for every window, or shed under load). */
  dropped(vehicleId: string, stream: InputStream, n: number): void {
    const c = (this.vehicle(vehicleId).streams[stream] ??= zero());
    c.dropped += n;
  }

  get(vehicleId: string): VehicleStatus | undefined {
    return this.vehicles.get(vehicleId);
  }

  vehicleIds(): string[] {
    return [...this.vehicles.keys()];
  }

  /** Sum over vehicles, per stream. */
  totals(): Partial<Record<InputStream, StreamCounters>> {
    const out: Partial<Record<InputStream, StreamCounters>> = {};
    for (const v of this.vehicles.values()) {
      for (const [stream, c] of Object.entries(v.streams) as [InputStream, StreamCounters][]) {
        const t = (out[stream] ??= zero());
        for (const k of Object.keys(t) as (keyof StreamCounters)[]) t[k] += c[k];
      }
    }
    return out;
  }

  private vehicle(id: string): VehicleStatus {
    let v = this.vehicles.get(id);
    if (v === undefined) {
      if (this.vehicles.size >= MAX_VEHICLES) {
        const oldest = this.vehicles.keys().next().value;
        if (oldest !== undefined) this.vehicles.delete(oldest);
      }
      v = { streams: {}, recentErrors: [] };
      this.vehicles.set(id, v);
    }
    return v;
  }
}
