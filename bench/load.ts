import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeAudio } from '../src/streams/contracts/audio.ts';
import { encodeCameraFrame } from '../src/streams/contracts/camera.ts';
import { encodeCanBatch } from '../src/streams/contracts/can.ts';
import type { CanFrame } from '../src/streams/contracts/messages.ts';
import { encodePhysio } from '../src/streams/contracts/physio.ts';
import type { InputStream } from '../src/streams/contracts/topics.ts';
import { encodeWeather } from '../src/streams/contracts/weather.ts';

/**
 * One vehicle's full sensor load at real rates, as the benchmark publishes it:
 * - ECG: 496 Hz ECG + 31 Hz EDA + 31 Hz respiration, 250 ms int16 chunks (4 msg/s);
 * - CAN: 2,300 frames/s (the RAV4 bus) in 100 ms batches (10 msg/s, 230 frames each);
 * - audio: 16 kHz mono s16 in 20 ms chunks (50 msg/s);
 * - camera: 30 fps JPEG, real 360×288 frames of the sample drive;
 * - weather: one observation per 60 s.
 * Message k of a stream carries event time t0 + k·period, so the pipeline's windows see real-rate data.
 */
export interface StreamLoad {
  readonly stream: InputStream;
  readonly periodUs: number;
  readonly samplesPerMessage: number;
  readonly qos: 0 | 1;
  readonly make: (seq: number, tUs: number, sessionId: number) => Uint8Array;
}

const cameraDir = fileURLToPath(new URL('../devices/sample-drive/camera', import.meta.url));
const jpegs = readdirSync(cameraDir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => new Uint8Array(readFileSync(`${cameraDir}/${f}`)));

const ecgSamples = Float32Array.from({ length: 124 }, (_, i) => Math.sin(i / 10));
const slow = Float32Array.from({ length: 8 }, (_, i) => 5 + i / 10);
const audioSamples = Float32Array.from({ length: 320 }, (_, i) => 0.1 * Math.sin(i / 3));

function canFrames(tUs: number): CanFrame[] {
  return Array.from({ length: 230 }, (_, i) => ({
    tUs: tUs + Math.round(i * 434.7),
    id: [0xaa, 0x25, 0xb4, 0x3b7, 0x2e4][i % 5] as number,
    extended: false,
    rtr: false,
    fd: false,
    errorFrame: false,
    bus: 0,
    data: Uint8Array.of(i & 0xff, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde),
  }));
}

export const LOADS: readonly StreamLoad[] = [
  {
    stream: 'ecg',
    periodUs: 250_000,
    samplesPerMessage: 124 + 8 + 8,
    qos: 1,
    make: (seq, tUs, sessionId) =>
      encodePhysio({
        sessionId,
        seq,
        tUs,
        sampleFormat: 'int16',
        channels: [
          { kind: 'ecg', rateHz: 496, samples: ecgSamples, scale: 0.001 },
          { kind: 'eda', rateHz: 31, samples: slow, scale: 0.01 },
          { kind: 'resp', rateHz: 31, samples: slow, scale: 0.01 },
        ],
      }),
  },
  {
    stream: 'can',
    periodUs: 100_000,
    samplesPerMessage: 230,
    qos: 1,
    make: (seq, tUs, sessionId) => encodeCanBatch({ sessionId, seq, frames: canFrames(tUs) }),
  },
  {
    stream: 'audio',
    periodUs: 20_000,
    samplesPerMessage: 320,
    qos: 0,
    make: (seq, tUs, sessionId) =>
      encodeAudio({
        sessionId,
        seq,
        tUs,
        sampleFormat: 's16',
        sampleRateHz: 16000,
        channels: 1,
        samples: audioSamples,
      }),
  },
  {
    stream: 'camera',
    periodUs: 33_333,
    samplesPerMessage: 1,
    qos: 0,
    make: (seq, tUs, sessionId) =>
      encodeCameraFrame({
        sessionId,
        seq,
        tUs,
        pixelFormat: 'jpeg',
        width: 360,
        height: 288,
        data: jpegs[seq % jpegs.length] as Uint8Array,
      }),
  },
  {
    stream: 'weather',
    periodUs: 60_000_000,
    samplesPerMessage: 1,
    qos: 1,
    make: (seq, tUs, sessionId) =>
      encodeWeather({
        v: 1,
        session: sessionId,
        seq,
        tUs,
        current: { temperature_2m: 3.5, precipitation: 0.2, weather_code: 61, wind_speed_10m: 14 },
      }),
  },
];

export const CAMERA_JPEG_BYTES = Math.round(
  jpegs.reduce((n, j) => n + j.byteLength, 0) / Math.max(1, jpegs.length),
);
