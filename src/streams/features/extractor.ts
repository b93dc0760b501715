import type { FieldValue } from '../../sinks/point.ts';
import type { SensorMessage } from '../contracts/messages.ts';
import type { InputStream } from '../contracts/topics.ts';

/**
 * A per-vehicle feature extractor over the pipeline's windows: it takes the messages of its stream as they
 * arrive (duplicates already removed) and, each time a window closes, reports the features of that window.
 * State (a QRS detector, an RR history, a decoder) lives in the instance, one per vehicle; memory is bounded
 * by the extractor's own history length. Pure: no clock, no I/O; time is the messages' event time.
 */
export interface FeatureRow {
  /** Event time of the row (µs); default: the window's start. */
  readonly tUs?: number;
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** Extra tags beside `vehicle` (e.g. the cardiac source). */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface WindowFeatureExtractor {
  /** InfluxDB measurement of its rows. */
  readonly measurement: string;
  readonly stream: InputStream;
  onMessage(message: SensorMessage): void;
  /** The window [startUs, endUs) closed: rows to write, or none. */
  onWindow(startUs: number, endUs: number): FeatureRow | null;
}
