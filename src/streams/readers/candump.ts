/**
 * can-utils `candump -l` log reader (and writer).
 *
 * A log line is `(SECONDS.FRACTION) IFACE FRAME[ R| T]`, FRAME in can-utils' compact ASCII form:
 *   123#DEADBEEF            classic frame, 3 hex digits = 11-bit id, 0..8 data bytes ('.' separators allowed)
 *   1ABCDEF0#00             8 hex digits = 29-bit extended id
 *   20000080#0000000000000000  8 digits with bit 29 (0x20000000) set = error frame (id = error class bits)
 *   123#R  123#R5  123#R8_9 remote frame (RTR), optional length 0..8 and raw DLC 9..F for length 8
 *   123#1122_9              classic 8-byte frame with raw DLC 9..F
 *   123##1DEADBEEF          CAN FD: one hex flags digit (1 = BRS, 2 = ESI, 4 = FDF) then 0..64 bytes
 * The interface name is right-aligned by candump (leading spaces). The trailing ` R`/` T` (candump -x) marks
 * received/transmitted frames. Some loggers (comma's, in the RAV4 log under ../shared) instead name the
 * interface `can0tx` for frames the logger itself sent: by default that suffix is split off into `tx: true`
 * and `bus: 'can0'`; `iface` keeps the name as written.
 * CAN XL frames and anything else are reported as malformed lines (with line numbers), never thrown.
 *
 * Time: `tUs` is µs since the epoch as an integer (fractions beyond µs are rounded), exact up to 2^53 µs.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export interface CandumpFrame {
  /** µs since the epoch (integer). */
  readonly tUs: number;
  /** Interface name without a `tx` suffix (see the module comment). */
  readonly bus: string;
  /** Interface name as written in the log. */
  readonly iface: string;
  /** Sent by the logging host: a `…tx` interface name or a trailing ` T`. */
  readonly tx: boolean;
  readonly id: number;
  readonly extended: boolean;
  readonly rtr: boolean;
  readonly fd: boolean;
  /** CAN FD bit-rate switch / error state indicator flags (false for classic frames). */
  readonly brs: boolean;
  readonly esi: boolean;
  readonly errorFrame: boolean;
  /** Raw DLC 9..15 of a classic frame with 8 data bytes (`_D` suffix), else undefined. */
  readonly len8Dlc: number | undefined;
  /** Data bytes; for an RTR frame, empty (its requested length is `rtrLength`). */
  readonly data: Uint8Array;
  /** Requested length of a remote frame (0..8); 0 for other frames. */
  readonly rtrLength: number;
  /** Direction marker written after the frame by `candump -x` (' R' / ' T'), if any. */
  readonly direction: 'R' | 'T' | undefined;
}

export type CandumpLineResult =
  { readonly ok: true; readonly frame: CandumpFrame } | { readonly ok: false; readonly reason: string };

export interface CandumpParseOptions {
  /** Split a trailing `tx` off interface names into `tx: true` (default true). */
  readonly splitTxSuffix?: boolean;
}

const FD_LENGTHS: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);
const MAX_IFACE_LENGTH = 64;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function bad(reason: string): CandumpLineResult {
  return { ok: false, reason };
}

/** Parses one log line. Never throws; a malformed line gives `{ ok: false, reason }`. */
export function parseCandumpLine(line: string, options: CandumpParseOptions = {}): CandumpLineResult {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
  let i = 0;
  while (i < end && isBlank(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== 40 /* ( */) return bad('expected "(" and a timestamp');
  i++;
  // Timestamp: seconds '.' fraction.
  let sec = 0;
  const secStart = i;
  while (i < end) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    sec = sec * 10 + (c - 48);
    i++;
  }
  const secDigits = i - secStart;
  if (secDigits === 0 || secDigits > 12) return bad('timestamp seconds must be 1..12 digits');
  if (line.charCodeAt(i) !== 46 /* . */) return bad('timestamp needs a "." and a fraction');
  i++;
  const fracStart = i;
  let frac = 0;
  while (i < end) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    frac = frac * 10 + (c - 48);
    i++;
  }
  const fracDigits = i - fracStart;
  if (fracDigits === 0 || fracDigits > 9) return bad('timestamp fraction must be 1..9 digits');
  if (line.charCodeAt(i) !== 41 /* ) */) return bad('expected ")" after the timestamp');
  i++;
  const fracUs = fracDigits <= 6 ? frac * 10 ** (6 - fracDigits) : Math.round(frac / 10 ** (fracDigits - 6));
  const tUs = sec * 1_000_000 + fracUs;
  if (!Number.isSafeInteger(tUs)) return bad('timestamp too large');
  // Interface name (candump right-aligns it, so several spaces may precede it).
  const sp = i;
  while (i < end && isBlank(line.charCodeAt(i))) i++;
  if (i === sp) return bad('expected a space after the timestamp');
  const ifStart = i;
  while (i < end && !isBlank(line.charCodeAt(i))) i++;
  const iface = line.slice(ifStart, i);
  if (iface.length === 0) return bad('missing interface name');
  if (iface.length > MAX_IFACE_LENGTH) return bad('interface name too long');
  const sp2 = i;
  while (i < end && isBlank(line.charCodeAt(i))) i++;
  if (i === sp2 || i >= end) return bad('missing frame after the interface name');
  const frameStart = i;
  while (i < end && !isBlank(line.charCodeAt(i))) i++;
  const frameEnd = i;
  // Optional direction flag (checked after the frame, so a broken frame is reported as such).
  let direction: 'R' | 'T' | undefined;
  let trailing: string | undefined;
  if (i < end) {
    while (i < end && isBlank(line.charCodeAt(i))) i++;
    const rest = line.slice(i, end);
    if (rest === 'R' || rest === 'T') direction = rest;
    else trailing = rest;
  }
  let bus = iface;
  let tx = direction === 'T';
  if (options.splitTxSuffix !== false && iface.length > 2 && iface.endsWith('tx')) {
    bus = iface.slice(0, -2);
    tx = true;
  }
  const r = parseFrame(line, frameStart, frameEnd, tUs, bus, iface, tx, direction);
  if (r.ok && trailing !== undefined) return bad(`unexpected "${truncate(trailing, 20)}" after the frame`);
  return r;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function parseFrame(
  s: string,
  start: number,
  end: number,
  tUs: number,
  bus: string,
  iface: string,
  tx: boolean,
  direction: 'R' | 'T' | undefined,
): CandumpLineResult {
  let i = start;
  let idVal = 0;
  while (i < end && s.charCodeAt(i) !== 35 /* # */) {
    const h = hexVal(s.charCodeAt(i));
    if (h < 0) return bad(`bad hex digit "${s[i]}" in the CAN id`);
    idVal = idVal * 16 + h;
    i++;
    if (i - start > 8) return bad('CAN id longer than 8 hex digits');
  }
  if (i >= end) return bad('frame has no "#"');
  const idDigits = i - start;
  let extended: boolean;
  let errorFrame = false;
  let id: number;
  if (idDigits === 3) {
    if (idVal > 0x7ff) return bad(`standard id 0x${idVal.toString(16)} exceeds 0x7FF`);
    extended = false;
    id = idVal;
  } else if (idDigits === 8) {
    if (idVal >= 0x40000000) return bad(`id 0x${idVal.toString(16)} has RTR/EFF flag bits set`);
    if (idVal >= 0x20000000) {
      errorFrame = true;
      extended = false;
      id = idVal - 0x20000000;
    } else {
      extended = true;
      id = idVal;
    }
  } else return bad(`CAN id must be 3 or 8 hex digits, got ${idDigits}`);
  i++; // '#'
  let rtr = false;
  let fd = false;
  let flags = 0;
  let rtrLength = 0;
  let len8Dlc: number | undefined;
  let data: Uint8Array;
  if (i < end && s.charCodeAt(i) === 35) {
    // CAN FD
    i++;
    if (errorFrame) return bad('error frames cannot be CAN FD');
    if (i >= end) return bad('CAN FD frame needs a flags digit');
    flags = hexVal(s.charCodeAt(i));
    if (flags < 0 || flags > 7) return bad(`bad CAN FD flags "${s[i]}"`);
    i++;
    const d = parseHexBytes(s, i, end, 64);
    if (typeof d === 'string') return bad(d);
    if (!FD_LENGTHS.has(d.length)) return bad(`CAN FD length ${d.length} is not a valid FD length`);
    fd = true;
    data = d;
  } else {
    // CAN XL (`prio#flags:sdt:af#data`) has ':' in the second field.
    for (let k = i; k < end; k++)
      if (s.charCodeAt(k) === 58 /* : */) return bad('CAN XL frames are not supported');
    const c = s.charCodeAt(i);
    if (c === 82 /* R */ || c === 114 /* r */) {
      rtr = true;
      data = EMPTY;
      i++;
      if (i < end) {
        const l = hexVal(s.charCodeAt(i));
        if (l < 0 || l > 8) return bad('RTR length must be 0..8');
        rtrLength = l;
        i++;
        if (i < end) {
          if (s.charCodeAt(i) !== 95 /* _ */ || rtrLength !== 8 || i + 2 !== end)
            return bad('malformed RTR suffix');
          const dlc = hexVal(s.charCodeAt(i + 1));
          if (dlc < 9) return bad('raw DLC must be 9..F');
          len8Dlc = dlc;
        }
      }
    } else {
      let dataEnd = end;
      for (let k = i; k < end; k++) {
        if (s.charCodeAt(k) === 95 /* _ */) {
          if (k + 2 !== end) return bad('malformed raw DLC suffix');
          const dlc = hexVal(s.charCodeAt(k + 1));
          if (dlc < 9) return bad('raw DLC must be 9..F');
          len8Dlc = dlc;
          dataEnd = k;
          break;
        }
      }
      const d = parseHexBytes(s, i, dataEnd, 8);
      if (typeof d === 'string') return bad(d);
      if (len8Dlc !== undefined && d.length !== 8) return bad('raw DLC needs 8 data bytes');
      data = d;
    }
  }
  // One object literal with a fixed field order keeps every frame the same hidden class.
  const frame: CandumpFrame = {
    tUs,
    bus,
    iface,
    tx,
    id,
    extended,
    rtr,
    fd,
    brs: (flags & 1) !== 0,
    esi: (flags & 2) !== 0,
    errorFrame,
    len8Dlc,
    data,
    rtrLength,
    direction,
  };
  return { ok: true, frame };
}

const EMPTY = new Uint8Array(0);

/** Hex byte pairs with optional '.' separators between bytes; returns the bytes or an error string. */
function parseHexBytes(s: string, start: number, end: number, max: number): Uint8Array | string {
  const out = new Uint8Array(Math.min(max, (end - start) >> 1));
  let n = 0;
  let i = start;
  while (i < end) {
    if (s.charCodeAt(i) === 46 /* . */ && n > 0 && i + 1 < end) {
      i++;
    }
    if (i + 1 >= end) return 'odd number of hex digits in the data';
    const hi = hexVal(s.charCodeAt(i));
    const lo = hexVal(s.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return `bad hex byte "${s.slice(i, i + 2)}" in the data`;
    if (n >= max) return `more than ${max} data bytes`;
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return n === out.length ? out : out.slice(0, n);
}

export interface CandumpFrameInput {
  readonly tUs: number;
  readonly iface?: string;
  readonly bus: string;
  readonly tx?: boolean;
  readonly id: number;
  readonly extended: boolean;
  readonly rtr?: boolean;
  readonly fd?: boolean;
  readonly brs?: boolean;
  readonly esi?: boolean;
  readonly errorFrame?: boolean;
  readonly len8Dlc?: number | undefined;
  readonly rtrLength?: number;
  readonly data: Uint8Array;
  readonly direction?: 'R' | 'T' | undefined;
}

/**
 * Formats a frame as a `candump -l` line (no newline), upper-case hex as candump writes it. The interface
 * name is `iface` when given, else `bus`. Throws a RangeError for a frame that cannot be written.
 */
export function formatCandumpLine(f: CandumpFrameInput): string {
  if (!Number.isSafeInteger(f.tUs) || f.tUs < 0) throw new RangeError(`bad time ${f.tUs}`);
  const sec = Math.floor(f.tUs / 1_000_000);
  const us = f.tUs - sec * 1_000_000;
  const ts = `(${String(sec).padStart(10, '0')}.${String(us).padStart(6, '0')})`;
  let id: string;
  if (f.errorFrame === true) {
    if (f.id > 0x1fffffff || f.id < 0) throw new RangeError(`bad error class 0x${f.id.toString(16)}`);
    id = (f.id + 0x20000000).toString(16).toUpperCase().padStart(8, '0');
  } else if (f.extended) {
    if (f.id > 0x1fffffff || f.id < 0) throw new RangeError(`bad extended id 0x${f.id.toString(16)}`);
    id = f.id.toString(16).toUpperCase().padStart(8, '0');
  } else {
    if (f.id > 0x7ff || f.id < 0) throw new RangeError(`bad standard id 0x${f.id.toString(16)}`);
    id = f.id.toString(16).toUpperCase().padStart(3, '0');
  }
  let body: string;
  if (f.fd === true) {
    if (!FD_LENGTHS.has(f.data.length)) throw new RangeError(`bad CAN FD length ${f.data.length}`);
    body = `${id}##${((f.brs === true ? 1 : 0) | (f.esi === true ? 2 : 0)).toString(16).toUpperCase()}${hex(f.data)}`;
  } else if (f.rtr === true) {
    const n = f.rtrLength ?? 0;
    body = `${id}#R${n > 0 ? n : ''}${f.len8Dlc !== undefined ? `_${f.len8Dlc.toString(16).toUpperCase()}` : ''}`;
  } else {
    if (f.data.length > 8) throw new RangeError(`classic frame with ${f.data.length} bytes`);
    body = `${id}#${hex(f.data)}${f.len8Dlc !== undefined ? `_${f.len8Dlc.toString(16).toUpperCase()}` : ''}`;
  }
  const iface = f.iface ?? f.bus;
  if (iface.length === 0 || /\s/.test(iface)) throw new RangeError(`bad interface name "${iface}"`);
  return `${ts} ${iface} ${body}${f.direction !== undefined ? ` ${f.direction}` : ''}`;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).toUpperCase().padStart(2, '0');
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Streaming and whole-text decoding
// ---------------------------------------------------------------------------------------------------------

export interface CandumpMalformedLine {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
  /** The line, cut to 200 characters. */
  readonly text: string;
}

export interface CandumpStats {
  lines: number;
  frames: number;
  blank: number;
  malformedCount: number;
  /** The first `maxMalformedKept` malformed lines (the count above covers all). */
  readonly malformed: CandumpMalformedLine[];
}

export interface CandumpDecoderOptions extends CandumpParseOptions {
  /** Lines longer than this are malformed (and not buffered beyond it). Default 4096. */
  readonly maxLineLength?: number;
  /** Malformed lines kept for reporting (all are counted). Default 1000. */
  readonly maxMalformedKept?: number;
}

/**
 * Incremental decoder: push text or UTF-8 bytes in chunks of any size, get the frames of every completed line.
 * Memory is bounded by `maxLineLength` whatever the input. Not thread-safe; one decoder per stream.
 */
export class CandumpDecoder {
  readonly stats: CandumpStats = { lines: 0, frames: 0, blank: 0, malformedCount: 0, malformed: [] };
  readonly #opts: Required<CandumpDecoderOptions>;
  readonly #utf8 = new TextDecoder('utf-8');
  #partial = '';
  #overlong = false;

  constructor(options: CandumpDecoderOptions = {}) {
    this.#opts = {
      splitTxSuffix: options.splitTxSuffix ?? true,
      maxLineLength: options.maxLineLength ?? 4096,
      maxMalformedKept: options.maxMalformedKept ?? 1000,
    };
  }

  push(chunk: string | Uint8Array): CandumpFrame[] {
    const text = typeof chunk === 'string' ? chunk : this.#utf8.decode(chunk, { stream: true });
    const out: CandumpFrame[] = [];
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      this.#appendPartial(text.slice(from, nl));
      this.#line(this.#partial, out);
      this.#partial = '';
      this.#overlong = false;
      from = nl + 1;
    }
    this.#appendPartial(text.slice(from));
    return out;
  }

  /** Flushes the last line (one without a final newline). */
  end(): CandumpFrame[] {
    const out: CandumpFrame[] = [];
    this.#appendPartial(this.#utf8.decode());
    if (this.#partial.length > 0 || this.#overlong) this.#line(this.#partial, out);
    this.#partial = '';
    this.#overlong = false;
    return out;
  }

  #appendPartial(s: string): void {
    if (this.#overlong) return;
    const room = this.#opts.maxLineLength + 1 - this.#partial.length;
    if (s.length > room) {
      this.#partial += s.slice(0, room);
      this.#overlong = true;
    } else this.#partial += s;
  }

  #line(text: string, out: CandumpFrame[]): void {
    const st = this.stats;
    st.lines++;
    if (this.#overlong || text.length > this.#opts.maxLineLength) {
      this.#malformed(st.lines, `line longer than ${this.#opts.maxLineLength} characters`, text);
      return;
    }
    if (text.trim().length === 0) {
      st.blank++;
      return;
    }
    const r = parseCandumpLine(text, this.#opts);
    if (r.ok) {
      st.frames++;
      out.push(r.frame);
    } else this.#malformed(st.lines, r.reason, text);
  }

  #malformed(line: number, reason: string, text: string): void {
    this.stats.malformedCount++;
    if (this.stats.malformed.length < this.#opts.maxMalformedKept) {
      this.stats.malformed.push({ line, reason, text: truncate(text.replace(/\r$/, ''), 200) });
    }
  }
}

export interface CandumpLog {
  readonly frames: CandumpFrame[];
  readonly stats: CandumpStats;
}

/** Decodes a whole log held in memory. */
export function parseCandump(text: string | Uint8Array, options: CandumpDecoderOptions = {}): CandumpLog {
  const d = new CandumpDecoder(options);
  const frames = d.push(text);
  for (const f of d.end()) frames.push(f);
  return { frames, stats: d.stats };
}

/**
 * Streams frames from chunks (e.g. a file or socket stream). Malformed lines are counted in `decoder.stats`,
 * which the caller can read during and after iteration.
 */
export async function* decodeCandumpStream(
  source: AsyncIterable<string | Uint8Array>,
  decoder: CandumpDecoder = new CandumpDecoder(),
): AsyncGenerator<CandumpFrame, CandumpStats, undefined> {
  for await (const chunk of source) {
    yield* decoder.push(chunk);
  }
  yield* decoder.end();
  return decoder.stats;
}

// ---------------------------------------------------------------------------------------------------------
// Files (.log or gzip-compressed .gz, detected by the gzip magic bytes)
// ---------------------------------------------------------------------------------------------------------

async function openMaybeGzip(path: string): Promise<Readable> {
  const probe = createReadStream(path, { start: 0, end: 1 });
  const head: Buffer[] = [];
  for await (const b of probe) head.push(b as Buffer);
  const magic = Buffer.concat(head);
  const raw = createReadStream(path);
  if (magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    return raw.pipe(gunzip);
  }
  return raw;
}

/** Streams the frames of a candump log file, plain or gzip-compressed. */
export async function* streamCandumpFile(
  path: string,
  decoder: CandumpDecoder = new CandumpDecoder(),
): AsyncGenerator<CandumpFrame, CandumpStats, undefined> {
  const stream = await openMaybeGzip(path);
  try {
    return yield* decodeCandumpStream(stream as AsyncIterable<Uint8Array>, decoder);
  } catch (e) {
    // I/O and gunzip errors (malformed lines never throw).
    throw new Error(`candump ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    stream.destroy();
  }
}

/** Reads a whole candump log file (plain or gzip) into memory. */
export async function readCandumpFile(
  path: string,
  options: CandumpDecoderOptions = {},
): Promise<CandumpLog> {
  const decoder = new CandumpDecoder(options);
  const frames: CandumpFrame[] = [];
  for await (const f of streamCandumpFile(path, decoder)) frames.push(f);
  return { frames, stats: decoder.stats };
}
