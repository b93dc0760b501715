import { decodeAudio, AUDIO_MAX_BYTES } from './audio.ts';
import { decodeCameraFrame, CAMERA_MAX_BYTES } from './camera.ts';
import { decodeCanBatch, CAN_MAX_BYTES } from './can.ts';
import { DecodeError } from './errors.ts';
import { MessageType, HEADER_BYTES } from './header.ts';
import type { SensorMessage } from './messages.ts';
import { decodePhysio, decodeRr, PHYSIO_MAX_BYTES } from './physio.ts';
import type { InputStream } from './topics.ts';
import { decodeWeather, WEATHER_MAX_BYTES } from './weather.ts';

/** Per-stream payload size caps: a payload above its cap is `oversized` (docs/contracts.md). */
export const MAX_PAYLOAD_BYTES: Readonly<Record<InputStream, number>> = {
  ecg: PHYSIO_MAX_BYTES,
  can: CAN_MAX_BYTES,
  weather: WEATHER_MAX_BYTES,
  audio: AUDIO_MAX_BYTES,
  camera: CAMERA_MAX_BYTES,
};

export type DecodeResult = { ok: true; message: SensorMessage } | { ok: false; error: DecodeError };

/**
 * Decodes one payload of a stream. Pure; never throws: a refused payload comes back as a DecodeError
 * with a stable code. Anything unexpected inside a decoder is reported as `bad-field` rather than
 * escaping, so a bug in one decoder cannot stop the pipeline.
 */
export function decodePayload(stream: InputStream, bytes: Uint8Array): DecodeResult {
  try {
    return { ok: true, message: decodeStrict(stream, bytes) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    return { ok: false, error: new DecodeError('bad-field', `decoder failure: ${(e as Error).message}`) };
  }
}

function decodeStrict(stream: InputStream, bytes: Uint8Array): SensorMessage {
  switch (stream) {
    case 'ecg':
      // The cardiac stream carries sample chunks and chest-strap RR intervals; the type byte tells which.
      return bytes.byteLength >= HEADER_BYTES && bytes[3] === MessageType.RrIntervals
        ? decodeRr(bytes)
        : decodePhysio(bytes);
    case 'can':
      return decodeCanBatch(bytes);
    case 'audio':
      return decodeAudio(bytes);
    case 'camera':
      return decodeCameraFrame(bytes);
    case 'weather':
      return decodeWeather(bytes);
  }
}
