import type { Alert, StressEstimate } from '../streams/contracts/outputs.ts';
import { STRESS_LEVELS, STRESS_MODALITIES } from '../streams/contracts/outputs.ts';
import type { InputStream } from '../streams/contracts/topics.ts';
import type { FeatureRow } from '../streams/features/extractor.ts';
import type { StreamSummary } from '../streams/summary.ts';
import { channelFigures, PRIMARY_CHANNEL } from '../streams/summary.ts';
import type { FieldValue, Point } from './point.ts';
import { usToNs } from './point.ts';

/**
 * The time-series schema (docs/influxdb.md): which measurements, tags and fields the pipeline writes.
 * Pure functions from pipeline records to Points. Every point's time is event time.
 *
 * - `window_summary` tags vehicle, stream — one row per stream per window, time = window start:
 *   present (bool), missing_reason (string, when absent), messages, samples, bytes, invalid, gaps,
 *   missing, duplicates, out_of_order, non_finite, clipped, window_ms, late_dropped, and min/mean/max/rms/n
 *   of the stream's primary channel (ecg: ECG or RR; audio: pcm; weather: temperature_2m).
 * - `window_channel` tags vehicle, stream, channel — n, min, mean, max, rms of every channel.
 * - `alert` tags vehicle, kind, stream — state ("raised"/"cleared"), reason, message, active (bool);
 *   `stress_high` alerts: tags vehicle, kind — state, probability, sinceUs, message, active.
 * - `stress` tags vehicle, level — p_low, p_medium, p_high, confidence, level_index (0/1/2), window_s,
 *   use_hr/use_eda/use_resp/use_vehicle/use_context ("used"/"absent"/"masked"), faults (count), fault_list ("eda:flat,…"),
 *   model; time = the estimate's event time.
 */
export type StreamSlot = { present: true; summary: StreamSummary } | { present: false; reason: string };

export interface WindowRecordLike {
  readonly startUs: number;
  readonly endUs: number;
  readonly lateDropped?: number;
  readonly streams: Partial<Record<InputStream, StreamSlot>>;
}

function primaryChannel(s: StreamSummary): string | undefined {
  const preferred = PRIMARY_CHANNEL[s.stream];
  if (preferred !== null && s.channels.has(preferred)) return preferred;
  if (s.stream === 'ecg') return ['rr', 'hr'].find((c) => s.channels.has(c));
  return undefined;
}

export function windowPoints(vehicleId: string, w: WindowRecordLike): Point[] {
  const timeNs = usToNs(w.startUs);
  const windowMs = (w.endUs - w.startUs) / 1000;
  const points: Point[] = [];
  for (const [stream, slot] of Object.entries(w.streams) as [InputStream, StreamSlot][]) {
    const tags = { vehicle: vehicleId, stream };
    if (!slot.present) {
      points.push({
        measurement: 'window_summary',
        tags,
        fields: { present: false, missing_reason: slot.reason, messages: 0, samples: 0, window_ms: windowMs },
        timeNs,
      });
      continue;
    }
    const s = slot.summary;
    const fields: Record<string, FieldValue> = {
      present: true,
      messages: s.messages,
      samples: s.samples,
      bytes: s.bytes,
      invalid: s.invalid,
      gaps: s.gaps,
      missing: s.missing,
      duplicates: s.duplicates,
      out_of_order: s.outOfOrder,
      non_finite: s.nonFinite,
      clipped: s.clipped,
      window_ms: windowMs,
      late_dropped: w.lateDropped ?? 0,
    };
    const primary = primaryChannel(s);
    const stats = primary === undefined ? undefined : s.channels.get(primary);
    if (stats !== undefined && stats.n > 0) Object.assign(fields, channelFigures(stats));
    points.push({ measurement: 'window_summary', tags, fields, timeNs });
    for (const [channel, c] of s.channels) {
      if (c.n === 0) continue;
      points.push({
        measurement: 'window_channel',
        tags: { ...tags, channel },
        fields: channelFigures(c),
        timeNs,
      });
    }
  }
  return points;
}

/** A feature extractor's row (`cardiac`, `context`, `driving`); tagged by vehicle and the row's own tags. */
export function featurePoint(
  vehicleId: string,
  measurement: string,
  row: FeatureRow,
  windowStartUs: number,
): Point {
  return {
    measurement,
    tags: { vehicle: vehicleId, ...row.tags },
    fields: row.fields,
    timeNs: usToNs(row.tUs ?? windowStartUs),
  };
}

export function alertPoint(a: Alert): Point {
  if (a.kind === 'sensor_fault') {
    return {
      measurement: 'alert',
      tags: { vehicle: a.vehicleId, kind: a.kind, stream: a.stream },
      fields: { state: a.state, reason: a.reason, message: a.message, active: a.state === 'raised' },
      timeNs: usToNs(a.tUs),
    };
  }
  return {
    measurement: 'alert',
    tags: { vehicle: a.vehicleId, kind: a.kind },
    fields: {
      state: a.state,
      probability: a.probability,
      sinceUs: a.sinceUs,
      message: a.message,
      active: a.state === 'raised',
    },
    timeNs: usToNs(a.tUs),
  };
}

/** A stress estimate (`…/stress` message) as one `stress` point; modalities as strings, faults counted and listed. */
export function stressPoint(e: StressEstimate): Point {
  const fields: Record<string, FieldValue> = {
    p_low: e.probabilities.low,
    p_medium: e.probabilities.medium,
    p_high: e.probabilities.high,
    confidence: e.confidence,
    level_index: BigInt(STRESS_LEVELS.indexOf(e.level)),
    window_s: e.windowS,
    faults: BigInt(e.faults.length),
    fault_list: e.faults.map((f) => `${f.modality}:${f.reason}`).join(','),
    model: e.model,
  };
  // `use_vehicle`, not `vehicle`: a field may not share the name of the `vehicle` tag (InfluxQL would read
  // `WHERE vehicle = …` as the field).
  for (const m of STRESS_MODALITIES) fields[`use_${m}`] = e.modalities[m];
  return {
    measurement: 'stress',
    tags: { vehicle: e.vehicleId, level: e.level },
    fields,
    timeNs: usToNs(e.tUs),
  };
}
