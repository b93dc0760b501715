import { fail } from './errors.ts';
import { ByteWriter, MessageType, readHeader, writeHeader } from './header.ts';
import type { AudioChunk } from './messages.ts';

/**
 * Codec of the `audio` stream (type 4): PCM chunks, typically 20 ms of 16 kHz mono.
 *
 * Body: 0 sample format u8 (1 = s16le, 2 = f32le), 1 channels u8 (1..8), 2 reserved u16,
 *       4 sample rate Hz u32 (8000..192000), 8 frames per channel u32, 12 interleaved samples.
 */
export const AUDIO_MAX_BYTES = 512 * 1024;
const RATE_MIN_HZ = 8_000;
const RATE_MAX_HZ = 192_000;
const CLIP_LEVEL = 0.999;

export interface AudioInput {
  readonly sessionId: number;
  readonly seq: number;
  readonly tUs: number;
  readonly sampleFormat: 's16' | 'f32';
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Interleaved, in [-1, 1]; s16 clamps. */
  readonly samples: ArrayLike<number>;
}

export function encodeAudio(m: AudioInput): Uint8Array {
  if (!Number.isInteger(m.channels) || m.channels < 1 || m.channels > 8)
    throw new RangeError(`channels ${m.channels}`);
  if (m.samples.length % m.channels !== 0) throw new RangeError('sample count is not a multiple of channels');
  const w = new ByteWriter(40 + m.samples.length * 4);
  const lengthAt = writeHeader(w, {
    type: MessageType.Audio,
    sessionId: m.sessionId,
    seq: m.seq,
    tUs: m.tUs,
  });
  const bodyStart = w.offset;
  w.u8(m.sampleFormat === 's16' ? 1 : 2);
  w.u8(m.channels);
  w.u16(0);
  w.u32(m.sampleRateHz);
  w.u32(m.samples.length / m.channels);
  if (m.sampleFormat === 'f32') {
    w.float32Array(m.samples);
  } else {
    const raw = new Int16Array(m.samples.length);
    for (let i = 0; i < raw.length; i++) {
      const v = m.samples[i] as number;
      raw[i] = Number.isFinite(v) ? Math.max(-32768, Math.min(32767, Math.round(v * 32768))) : 0;
    }
    w.int16Array(raw);
  }
  w.patchU32(lengthAt, w.offset - bodyStart);
  return w.finish();
}

export function decodeAudio(bytes: Uint8Array): AudioChunk {
  const { header, body } = readHeader(bytes, MessageType.Audio, AUDIO_MAX_BYTES);
  const format = body.u8('sample format');
  if (format !== 1 && format !== 2) fail('bad-field', `sample format ${format} (1 = s16le, 2 = f32le)`);
  const channels = body.u8('channels');
  if (channels < 1 || channels > 8) fail('bad-field', `channels ${channels} (1..8)`);
  body.u16('reserved');
  const sampleRateHz = body.u32('sample rate');
  if (sampleRateHz < RATE_MIN_HZ || sampleRateHz > RATE_MAX_HZ) {
    fail('bad-field', `sample rate ${sampleRateHz} Hz outside ${RATE_MIN_HZ}..${RATE_MAX_HZ}`);
  }
  const frames = body.u32('frames');
  const n = frames * channels;
  const width = format === 1 ? 2 : 4;
  if (n * width !== body.remaining)
    fail('bad-length', `${frames} frames need ${n * width} bytes, ${body.remaining} present`);
  let samples: Float32Array;
  let nonFinite = 0;
  let clipped = 0;
  if (format === 1) {
    const raw = body.int16Array(n, 'samples');
    samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = (raw[i] as number) / 32768;
  } else {
    samples = body.float32Array(n, 'samples');
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(samples[i] as number)) {
        samples[i] = 0; // concealed, counted
        nonFinite++;
      }
    }
  }
  for (let i = 0; i < n; i++) if (Math.abs(samples[i] as number) >= CLIP_LEVEL) clipped++;
  return {
    kind: 'audio',
    ...header,
    endUs: header.tUs + Math.round((frames / sampleRateHz) * 1e6),
    bytes: bytes.byteLength,
    sampleFormat: format === 1 ? 's16' : 'f32',
    sampleRateHz,
    channels,
    samples,
    nonFinite,
    clipped,
  };
}
