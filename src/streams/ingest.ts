import type { OperatorFunction } from 'rxjs';
import { map } from 'rxjs';
import { decodePayload } from './contracts/codec.ts';
import type { DecodeErrorCode } from './contracts/errors.ts';
import type { SensorMessage } from './contracts/messages.ts';
import type { InputStream } from './contracts/topics.ts';
import { parseInputTopic } from './contracts/topics.ts';
import type { SeqStatus } from './sequence-tracker.ts';
import { SequenceTracker } from './sequence-tracker.ts';

/** A payload as it arrives from MQTT (or any transport). No event time here: that is in the payload. */
export interface RawMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
}

export interface DecodedEvent {
  readonly kind: 'message';
  readonly vehicleId: string;
  readonly stream: InputStream;
  readonly message: SensorMessage;
  /** Duplicates are still emitted (so windows can count them) but carry no new data. */
  readonly seq: SeqStatus;
}

export interface InvalidEvent {
  readonly kind: 'invalid';
  readonly vehicleId: string;
  readonly stream: InputStream;
  readonly code: DecodeErrorCode;
  readonly reason: string;
}

/** A topic under the tree that is not an input topic (bad vehicle id, unknown stream). */
export interface UnroutableEvent {
  readonly kind: 'unroutable';
  readonly topic: string;
}

export type IngestEvent = DecodedEvent | InvalidEvent | UnroutableEvent;

/**
 * Raw MQTT messages to typed, validated events. Pure apart from the sequence tracker's state, which
 * lives in the operator instance (one per subscription). Never throws for bad input.
 */
export function decodeAndTrack(maxTrackedKeys = 10_000): OperatorFunction<RawMessage, IngestEvent> {
  return (source) => {
    const tracker = new SequenceTracker(maxTrackedKeys);
    return source.pipe(map((raw) => ingestOne(raw, tracker)));
  };
}

export function ingestOne(raw: RawMessage, tracker: SequenceTracker): IngestEvent {
  const route = parseInputTopic(raw.topic);
  if (route === null) return { kind: 'unroutable', topic: raw.topic };
  const result = decodePayload(route.stream, raw.payload);
  if (!result.ok) {
    return { kind: 'invalid', ...route, code: result.error.code, reason: result.error.message };
  }
  const m = result.message;
  const seq = tracker.observe(`${route.vehicleId}/${route.stream}`, m.sessionId, m.seq);
  return { kind: 'message', ...route, message: m, seq };
}
