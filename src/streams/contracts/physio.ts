import { fail } from './errors.ts';
import { ByteWriter, HEADER_BYTES, MessageType, readHeader, writeHeader } from './header.ts';
import type { PhysioChannelKind, PhysioChunk, RrIntervals } from './messages.ts';
import { PHYSIO_CHANNEL_KINDS } from './messages.ts';

/**
 * Codecs of the `ecg` stream: physiological sample chunks (type 1) and chest-strap RR intervals (type 2).
 *
 * Physio body (after the 24-byte header):
 *   0  1  sample format: 1 = int16, 2 = float32
 *   1  1  channel count C (1..16)
 *   2  2  reserved (0)
 *   then C descriptors of 12 bytes: kind u8, reserved u8, sample count u16, rate Hz f32,
 *   scale f32 (physical = raw × scale; 1 for float32)
 *   then the samples, channel after channel (planar), little-endian.
 * RR body: count N u16 (1..1024), reserved u16, then N × f32 intervals in ms.
 */
export const PHYSIO_MAX_BYTES = 256 * 1024;
export const RR_MAX_BYTES = 8 * 1024;
export const MAX_PHYSIO_CHANNELS = 16;
export const MAX_RR_PER_MESSAGE = 1024;
const RATE_MIN_HZ = 0.1;
const RATE_MAX_HZ = 10_000;
const RR_MIN_MS = 100;
const RR_MAX_MS = 5_000;

export interface PhysioChannelInput {
  readonly kind: PhysioChannelKind;
  readonly rateHz: number;
  /** Physical values. For int16 they are quantised to round(value / scale). */
  readonly samples: ArrayLike<number>;
  readonly scale?: number;
}

export interface PhysioInput {
  readonly sessionId: number;
  readonly seq: number;
  readonly tUs: number;
  readonly sampleFormat: 'int16' | 'float32';
  readonly channels: readonly PhysioChannelInput[];
}

export function encodePhysio(m: PhysioInput): Uint8Array {
  if (m.channels.length < 1 || m.channels.length > MAX_PHYSIO_CHANNELS) {
    throw new RangeError(`1..${MAX_PHYSIO_CHANNELS} channels, got ${m.channels.length}`);
  }
  // Header, body header (4), one 12-byte descriptor per channel, then the samples (≤ 4 bytes each).
  const w = new ByteWriter(
    HEADER_BYTES + 4 + 12 * m.channels.length + m.channels.reduce((n, c) => n + c.samples.length * 4, 0),
  );
  const lengthAt = writeHeader(w, {
    type: MessageType.Physio,
    sessionId: m.sessionId,
    seq: m.seq,
    tUs: m.tUs,
  });
  const bodyStart = w.offset;
  w.u8(m.sampleFormat === 'int16' ? 1 : 2);
  w.u8(m.channels.length);
  w.u16(0);
  for (const c of m.channels) {
    const scale = m.sampleFormat === 'int16' ? (c.scale ?? 1) : 1;
    if (!(Number.isFinite(scale) && scale !== 0))
      throw new RangeError(`scale ${scale} must be finite and non-zero`);
    if (!(c.rateHz >= RATE_MIN_HZ && c.rateHz <= RATE_MAX_HZ))
      throw new RangeError(`rate ${c.rateHz} Hz out of range`);
    if (c.samples.length > 0xffff) throw new RangeError(`${c.samples.length} samples > 65535 in one channel`);
    w.u8(PHYSIO_CHANNEL_KINDS.indexOf(c.kind));
    w.u8(0);
    w.u16(c.samples.length);
    w.f32(c.rateHz);
    w.f32(scale);
  }
  for (const c of m.channels) {
    if (m.sampleFormat === 'float32') {
      w.float32Array(c.samples);
    } else {
      const scale = c.scale ?? 1;
      const raw = new Int16Array(c.samples.length);
      for (let i = 0; i < raw.length; i++) {
        raw[i] = Math.max(-32768, Math.min(32767, Math.round((c.samples[i] as number) / scale)));
      }
      w.int16Array(raw);
    }
  }
  w.patchU32(lengthAt, w.offset - bodyStart);
  return w.finish();
}

export function decodePhysio(bytes: Uint8Array): PhysioChunk {
  const { header, body } = readHeader(bytes, MessageType.Physio, PHYSIO_MAX_BYTES);
  const format = body.u8('sample format');
  if (format !== 1 && format !== 2) fail('bad-field', `sample format ${format} (1 = int16, 2 = float32)`);
  const count = body.u8('channel count');
  if (count < 1 || count > MAX_PHYSIO_CHANNELS)
    fail('bad-field', `channel count ${count} (1..${MAX_PHYSIO_CHANNELS})`);
  body.u16('reserved');
  const descriptors: { kind: PhysioChannelKind; n: number; rateHz: number; scale: number }[] = [];
  for (let c = 0; c < count; c++) {
    const kindCode = body.u8('channel kind');
    const kind = PHYSIO_CHANNEL_KINDS[kindCode];
    if (kind === undefined) fail('bad-field', `channel ${c}: kind ${kindCode} unknown`);
    body.u8('reserved');
    const n = body.u16('sample count');
    const rateHz = body.f32('rate');
    const scale = body.f32('scale');
    if (!(rateHz >= RATE_MIN_HZ && rateHz <= RATE_MAX_HZ)) {
      fail('bad-field', `channel ${c}: rate ${rateHz} Hz outside ${RATE_MIN_HZ}..${RATE_MAX_HZ}`);
    }
    if (!(Number.isFinite(scale) && scale !== 0)) fail('bad-field', `channel ${c}: scale ${scale}`);
    descriptors.push({ kind, n, rateHz, scale });
  }
  const sampleBytes = format === 1 ? 2 : 4;
  const expected = descriptors.reduce((s, d) => s + d.n * sampleBytes, 0);
  if (expected !== body.remaining)
    fail('bad-length', `channels declare ${expected} sample bytes, ${body.remaining} present`);
  let durationUs = 0;
  const channels = descriptors.map((d) => {
    let samples: Float32Array;
    let nonFinite = 0;
    if (format === 1) {
      const raw = body.int16Array(d.n, 'samples');
      samples = new Float32Array(d.n);
      for (let i = 0; i < d.n; i++) samples[i] = (raw[i] as number) * d.scale;
    } else {
      samples = body.float32Array(d.n, 'samples');
      for (let i = 0; i < d.n; i++) if (!Number.isFinite(samples[i] as number)) nonFinite++;
    }
    durationUs = Math.max(durationUs, (d.n / d.rateHz) * 1e6);
    return { kind: d.kind, rateHz: d.rateHz, samples, nonFinite };
  });
  return {
    kind: 'physio',
    ...header,
    endUs: header.tUs + Math.round(durationUs),
    bytes: bytes.byteLength,
    sampleFormat: format === 1 ? 'int16' : 'float32',
    channels,
  };
}

export interface RrInput {
  readonly sessionId: number;
  readonly seq: number;
  readonly tUs: number;
  readonly rrMs: ArrayLike<number>;
}

export function encodeRr(m: RrInput): Uint8Array {
  if (m.rrMs.length < 1 || m.rrMs.length > MAX_RR_PER_MESSAGE) {
    throw new RangeError(`1..${MAX_RR_PER_MESSAGE} intervals, got ${m.rrMs.length}`);
  }
  const w = new ByteWriter(32 + 4 * m.rrMs.length);
  const lengthAt = writeHeader(w, {
    type: MessageType.RrIntervals,
    sessionId: m.sessionId,
    seq: m.seq,
    tUs: m.tUs,
  });
  const bodyStart = w.offset;
  w.u16(m.rrMs.length);
  w.u16(0);
  w.float32Array(m.rrMs);
  w.patchU32(lengthAt, w.offset - bodyStart);
  return w.finish();
}

export function decodeRr(bytes: Uint8Array): RrIntervals {
  const { header, body } = readHeader(bytes, MessageType.RrIntervals, RR_MAX_BYTES);
  const n = body.u16('interval count');
  if (n < 1 || n > MAX_RR_PER_MESSAGE) fail('bad-field', `interval count ${n} (1..${MAX_RR_PER_MESSAGE})`);
  body.u16('reserved');
  if (body.remaining !== n * 4)
    fail('bad-length', `${n} intervals need ${n * 4} bytes, ${body.remaining} present`);
  const rrMs = body.float32Array(n, 'intervals');
  let totalMs = 0;
  for (let i = 0; i < n; i++) {
    const v = rrMs[i] as number;
    if (!Number.isFinite(v)) fail('non-finite', `interval ${i} is ${v}`);
    if (v < RR_MIN_MS || v > RR_MAX_MS)
      fail('bad-field', `interval ${i} = ${v} ms outside ${RR_MIN_MS}..${RR_MAX_MS}`);
    if (i > 0) totalMs += v;
  }
  return {
    kind: 'rr',
    ...header,
    endUs: header.tUs + Math.round(totalMs * 1000),
    bytes: bytes.byteLength,
    rrMs,
  };
}
