/**
 * Decoded sensor messages: what the codecs produce and the pipeline consumes.
 *
 * Time convention: `tUs` is the first sample's event time (µs since the epoch, taken by the sensor side);
 * `endUs` is the end of the span the message covers (exclusive), so `[tUs, endUs)` is its event-time span.
 * A point-in-time message (camera frame, weather observation) has `endUs === tUs`.
 */
export interface MessageMeta {
  readonly sessionId: number;
  readonly seq: number;
  readonly tUs: number;
  readonly endUs: number;
  /** Size of the payload on the wire. */
  readonly bytes: number;
}

export const PHYSIO_CHANNEL_KINDS = ['other', 'ecg', 'eda', 'resp', 'hr', 'emg'] as const;
export type PhysioChannelKind = (typeof PHYSIO_CHANNEL_KINDS)[number];

/** Units of each channel kind's physical values. */
export const PHYSIO_UNITS: Readonly<Record<PhysioChannelKind, string>> = {
  other: '',
  ecg: 'mV',
  eda: 'uS',
  resp: 'a.u.',
  hr: 'bpm',
  emg: 'mV',
};

export interface PhysioChannel {
  readonly kind: PhysioChannelKind;
  readonly rateHz: number;
  /** Physical units (PHYSIO_UNITS). Non-finite input samples stay NaN and are counted in `nonFinite`. */
  readonly samples: Float32Array;
  readonly nonFinite: number;
}

/** A chunk of physiological samples; each channel has its own rate (drivedb: ECG 496 Hz, EDA 31 Hz). */
export interface PhysioChunk extends MessageMeta {
  readonly kind: 'physio';
  readonly sampleFormat: 'int16' | 'float32';
  readonly channels: readonly PhysioChannel[];
}

/** RR intervals from a chest strap: irregular beat times, not samples. `tUs` is the beat ending the first interval. */
export interface RrIntervals extends MessageMeta {
  readonly kind: 'rr';
  readonly rrMs: Float32Array;
}

export interface CanFrame {
  readonly tUs: number;
  readonly id: number;
  readonly extended: boolean;
  readonly rtr: boolean;
  readonly fd: boolean;
  readonly errorFrame: boolean;
  readonly bus: number;
  readonly data: Uint8Array;
}

export interface CanBatch extends MessageMeta {
  readonly kind: 'can';
  readonly frames: readonly CanFrame[];
}

export interface AudioChunk extends MessageMeta {
  readonly kind: 'audio';
  readonly sampleFormat: 's16' | 'f32';
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved, in [-1, 1]. Non-finite input samples are replaced by 0 and counted in `nonFinite`. */
  readonly samples: Float32Array;
  readonly nonFinite: number;
  /** Samples at full scale (|x| ≥ 0.999): clipping indicator. */
  readonly clipped: number;
}

export type PixelFormat = 'jpeg' | 'gray8' | 'rgb24';

export interface CameraFrame extends MessageMeta {
  readonly kind: 'camera';
  readonly pixelFormat: PixelFormat;
  /** 0 when a JPEG's size was not given by the publisher. */
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Open-Meteo `current=`-shaped weather observation; absent fields are missing, never zero. */
export interface WeatherObservation extends MessageMeta {
  readonly kind: 'weather';
  readonly current: Readonly<Record<string, number | string | null>>;
  readonly units: Readonly<Record<string, string>>;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly utcOffsetSeconds?: number;
}

export type SensorMessage =
  PhysioChunk | RrIntervals | CanBatch | AudioChunk | CameraFrame | WeatherObservation;
