import { fail } from './errors.ts';
import { ByteWriter, MessageType, readHeader, writeHeader } from './header.ts';
import type { CanBatch, CanFrame } from './messages.ts';

/**
 * Codec of the `can` stream: a batch of frames (type 3).
 *
 * Body: frame count N u16 (1..4096), reserved u16, then N frames of 12 + L bytes:
 *   0  4  time offset µs from the header's first-sample time (u32)
 *   4  4  identifier (≤ 0x7FF standard, ≤ 0x1FFFFFFF extended)
 *   8  1  flags: bit0 extended id, bit1 RTR, bit2 CAN FD, bit3 error frame (other bits 0)
 *   9  1  bus index
 *  10  1  data length L (0..8 classic; 0..8,12,16,20,24,32,48,64 FD)
 *  11  1  reserved (0)
 *  12  L  data
 * The first frame's time is the header time, so its offset is 0 and offsets never decrease.
 */
export const CAN_MAX_BYTES = 512 * 1024;
export const MAX_FRAMES_PER_BATCH = 4096;
const FD_LENGTHS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);

export interface CanBatchInput {
  readonly sessionId: number;
  readonly seq: number;
  /** Frame times must be non-decreasing; the batch's time is the first frame's. */
  readonly frames: readonly CanFrame[];
}

export function encodeCanBatch(m: CanBatchInput): Uint8Array {
  const first = m.frames[0];
  if (first === undefined || m.frames.length > MAX_FRAMES_PER_BATCH) {
    throw new RangeError(`1..${MAX_FRAMES_PER_BATCH} frames, got ${m.frames.length}`);
  }
  const w = new ByteWriter(32 + m.frames.length * 20);
  const lengthAt = writeHeader(w, {
    type: MessageType.CanBatch,
    sessionId: m.sessionId,
    seq: m.seq,
    tUs: first.tUs,
  });
  const bodyStart = w.offset;
  w.u16(m.frames.length);
  w.u16(0);
  let prev = first.tUs;
  for (const f of m.frames) {
    const offset = Math.round(f.tUs - first.tUs);
    if (f.tUs < prev || offset > 0xffffffff)
      throw new RangeError(`frame times must be non-decreasing within 71 min`);
    prev = f.tUs;
    w.u32(offset);
    w.u32(f.id);
    w.u8((f.extended ? 1 : 0) | (f.rtr ? 2 : 0) | (f.fd ? 4 : 0) | (f.errorFrame ? 8 : 0));
    w.u8(f.bus);
    w.u8(f.data.byteLength);
    w.u8(0);
    w.bytes(f.data);
  }
  w.patchU32(lengthAt, w.offset - bodyStart);
  return w.finish();
}

export function decodeCanBatch(bytes: Uint8Array): CanBatch {
  const { header, body } = readHeader(bytes, MessageType.CanBatch, CAN_MAX_BYTES);
  const n = body.u16('frame count');
  if (n < 1 || n > MAX_FRAMES_PER_BATCH) fail('bad-field', `frame count ${n} (1..${MAX_FRAMES_PER_BATCH})`);
  body.u16('reserved');
  const frames: CanFrame[] = new Array<CanFrame>(n);
  let prevOffset = 0;
  for (let i = 0; i < n; i++) {
    const offset = body.u32('frame time');
    if (offset < prevOffset) fail('bad-field', `frame ${i}: time goes backwards`);
    if (i === 0 && offset !== 0) fail('bad-field', `frame 0 must be at the batch time (offset ${offset})`);
    prevOffset = offset;
    const id = body.u32('frame id');
    const flags = body.u8('flags');
    if (flags & 0xf0) fail('bad-field', `frame ${i}: unknown flag bits 0x${flags.toString(16)}`);
    const extended = (flags & 1) !== 0;
    const fd = (flags & 4) !== 0;
    if (id > (extended ? 0x1fffffff : 0x7ff)) {
      fail(
        'bad-field',
        `frame ${i}: id 0x${id.toString(16)} too large for a ${extended ? '29' : '11'}-bit id`,
      );
    }
    const bus = body.u8('bus');
    const len = body.u8('data length');
    if (fd ? !FD_LENGTHS.has(len) : len > 8) fail('bad-field', `frame ${i}: data length ${len}`);
    body.u8('reserved');
    frames[i] = {
      tUs: header.tUs + offset,
      id,
      extended,
      rtr: (flags & 2) !== 0,
      fd,
      errorFrame: (flags & 8) !== 0,
      bus,
      data: body.bytesCopy(len, 'frame data'),
    };
  }
  if (body.remaining !== 0) fail('bad-length', `${body.remaining} bytes after the last frame`);
  // A batch spans up to (and including) its last frame: end is exclusive, so one µs past it.
  return { kind: 'can', ...header, endUs: header.tUs + prevOffset + 1, bytes: bytes.byteLength, frames };
}
