import { fail } from './errors.ts';

/**
 * The 24-byte header every binary message starts with (little-endian; docs/contracts.md has the table).
 *
 *  off size field
 *    0   2  magic "DS" (0x44 0x53)
 *    2   1  version (1)
 *    3   1  message type (MessageType)
 *    4   4  source session id, u32, random per publisher start
 *    8   4  sequence number, u32, per session, +1 per message (wraps)
 *   12   8  first-sample time, i64 µs since the Unix epoch
 *   20   4  body length in bytes, u32 (must equal the bytes that follow)
 */
export const MAGIC0 = 0x44;
export const MAGIC1 = 0x53;
export const VERSION = 1;
export const HEADER_BYTES = 24;

export enum MessageType {
  Physio = 1,
  RrIntervals = 2,
  CanBatch = 3,
  Audio = 4,
  CameraFrame = 5,
}

export interface Header {
  readonly type: MessageType;
  readonly sessionId: number;
  readonly seq: number;
  /** First-sample time, µs since the Unix epoch (event time; never arrival time). */
  readonly tUs: number;
}

/** Event times outside [2000-01-01, 2200-01-01) are refused: they are clock faults, not data. */
export const MIN_TIME_US = 946_684_800_000_000;
export const MAX_TIME_US = 7_258_118_400_000_000;

/** Bounds-checked little-endian reader over a byte range; every overrun is a `truncated` DecodeError. */
export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(n: number, what: string): number {
    if (this.offset + n > this.bytes.byteLength) {
      fail('truncated', `${what} needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.need(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  i64(what: string): bigint {
    return this.view.getBigInt64(this.need(8, what), true);
  }
  f32(what: string): number {
    return this.view.getFloat32(this.need(4, what), true);
  }
  /** A copy, so decoded messages never alias the MQTT client's buffers. */
  bytesCopy(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.slice(at, at + n);
  }
  /** Little-endian int16 samples, copied into an aligned array. */
  int16Array(n: number, what: string): Int16Array {
    const at = this.need(n * 2, what);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getInt16(at + 2 * i, true);
    return out;
  }
  float32Array(n: number, what: string): Float32Array {
    const at = this.need(n * 4, what);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat32(at + 4 * i, true);
    return out;
  }
}

/** Growable little-endian writer used by the encoders. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  offset = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): number {
    if (this.offset + n > this.buf.byteLength) {
      const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.offset + n));
      next.set(this.buf);
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  // Each write reserves its room first: `this.view.setX(this.room(n), …)` would call the view from before
  // a growth (the callee is resolved before the arguments), writing out of bounds.
  u8(v: number): void {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  i64(v: bigint): void {
    const at = this.room(8);
    this.view.setBigInt64(at, v, true);
  }
  f32(v: number): void {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
  }
  int16Array(a: ArrayLike<number>): void {
    const at = this.room(a.length * 2);
    for (let i = 0; i < a.length; i++) this.view.setInt16(at + 2 * i, a[i] as number, true);
  }
  float32Array(a: ArrayLike<number>): void {
    const at = this.room(a.length * 4);
    for (let i = 0; i < a.length; i++) this.view.setFloat32(at + 4 * i, a[i] as number, true);
  }
  /** Patch a u32 at an absolute offset (the body length, once the body is written). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  finish(): Uint8Array {
    return this.buf.subarray(0, this.offset);
  }
}

export function checkTimeUs(tUs: number, what = 'first-sample time'): void {
  if (!Number.isFinite(tUs) || tUs < MIN_TIME_US || tUs >= MAX_TIME_US) {
    fail('bad-field', `${what} ${tUs} µs is outside 2000-01-01..2200-01-01`);
  }
}

export function writeHeader(w: ByteWriter, h: Header): number {
  checkTimeUs(h.tUs);
  if (!Number.isInteger(h.sessionId) || h.sessionId < 0 || h.sessionId > 0xffffffff) {
    throw new RangeError(`session id ${h.sessionId} is not a u32`);
  }
  if (!Number.isInteger(h.seq) || h.seq < 0 || h.seq > 0xffffffff) {
    throw new RangeError(`sequence ${h.seq} is not a u32`);
  }
  w.u8(MAGIC0);
  w.u8(MAGIC1);
  w.u8(VERSION);
  w.u8(h.type);
  w.u32(h.sessionId);
  w.u32(h.seq);
  w.i64(BigInt(Math.round(h.tUs)));
  const lengthAt = w.offset;
  w.u32(0);
  return lengthAt;
}

/**
 * Reads and checks the header. `maxBytes` is the stream's size cap: a payload above it is `oversized`
 * before any parsing happens.
 */
export function readHeader(
  bytes: Uint8Array,
  expected: MessageType | readonly MessageType[],
  maxBytes: number,
): {
  header: Header;
  body: ByteReader;
} {
  if (bytes.byteLength > maxBytes) fail('oversized', `${bytes.byteLength} bytes > cap of ${maxBytes}`);
  if (bytes.byteLength < HEADER_BYTES)
    fail('truncated', `${bytes.byteLength} bytes < ${HEADER_BYTES}-byte header`);
  const r = new ByteReader(bytes);
  if (r.u8('magic') !== MAGIC0 || r.u8('magic') !== MAGIC1)
    fail('bad-magic', 'payload does not start with "DS"');
  const version = r.u8('version');
  if (version !== VERSION) fail('unsupported-version', `version ${version}, this build reads ${VERSION}`);
  const type = r.u8('type');
  const allowed = Array.isArray(expected) ? expected : [expected];
  if (!allowed.includes(type)) {
    fail('wrong-type', `message type ${type} on a stream that carries ${allowed.join('/')}`);
  }
  const sessionId = r.u32('session id');
  const seq = r.u32('sequence');
  const t = r.i64('time');
  if (t < BigInt(MIN_TIME_US) || t >= BigInt(MAX_TIME_US)) {
    fail('bad-field', `first-sample time ${t} µs is outside 2000-01-01..2200-01-01`);
  }
  const bodyLength = r.u32('body length');
  if (bodyLength !== r.remaining) {
    fail(
      bodyLength > r.remaining ? 'truncated' : 'bad-length',
      `body length ${bodyLength} != ${r.remaining} bytes present`,
    );
  }
  return { header: { type: type as MessageType, sessionId, seq, tUs: Number(t) }, body: r };
}

/** A random u32 session id for a publisher's lifetime (so a restart is not mistaken for reordering). */
export function newSessionId(random: () => number = Math.random): number {
  return Math.floor(random() * 0x1_0000_0000) >>> 0;
}
