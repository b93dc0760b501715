/**
 * CAN payload decoding, compiled per message.
 *
 * Bit layout (see dbc.ts for the numbering): a signal is cut into per-byte segments; segment k takes `width`
 * bits of payload byte `byte` starting at that byte's bit `lsb` (0 = least significant) and places them at
 * bit `shift` of the raw value (0 = the raw value's LSB).
 *   Intel (@1): the LSB is at the start bit; value bits go up through the byte, then into the next byte.
 *   Motorola (@0): the start bit is the MSB; value bits go down through the byte (towards its bit 0), then
 *   continue at bit 7 of the NEXT byte. Counting from the LSB, as done here: the LSB sits at big-endian
 *   linear position msbLin + length − 1 (msbLin = 8·byte + 7 − bit), and each more significant segment is
 *   one byte LOWER in the payload.
 *
 * Values
 *   raw is the unsigned bit field, sign-extended from `length` bits for signed signals; IEEE float signals
 *   (SIG_VALTYPE_) reinterpret the 32/64 raw bits. physical = raw × factor + offset (as Vector, cantools and
 *   comma's parser compute it), a double.
 *   ≤ 32 bits: int32 arithmetic. 33..64 bits: the low and high 32-bit halves are assembled separately and
 *   combined as hi · 2^32 + lo, exact for raw values up to 2^53 in magnitude and correctly rounded (one
 *   rounding) beyond; the exact raw value of any signal is available as a bigint from `rawBigInt`.
 *   No BigInt arithmetic runs in the per-frame path.
 *
 * Absent values are NaN: a multiplexed signal whose switch does not select it, or a signal whose bytes lie
 * beyond the frame's actual length (a short frame). A decoded value is never NaN otherwise (factor and
 * offset are finite; a float signal carrying a NaN bit pattern is the one exception, and is reported as
 * absent).
 *
 * Compilation: `compileMessage` builds one function per message. By default it generates straight-line
 * JavaScript with `new Function`: every byte index, shift, mask and constant is inlined, so V8 compiles a
 * message to a handful of loads, shifts and multiplies (measured in bench/features/can.ts). Safety: the
 * generated text contains only integers this module computed and validated, and factor/offset literals
 * printed from finite numbers — never a name, unit, comment or any other string from the DBC — so a
 * hostile DBC cannot inject code. Where code generation from strings is disabled (e.g. node
 * --disallow-code-generation-from-strings) or `codegen: false` is asked for, a closure-based decoder over
 * the same precomputed segments is used; tests check both give identical results.
 */
import type { DbcMessage, DbcSignal, MultiplexRange } from './dbc.ts';

export interface BitSegment {
  /** Payload byte index. */
  readonly byte: number;
  /** First bit taken from that byte (0 = its least significant bit). */
  readonly lsb: number;
  readonly width: number;
  /** Where those bits go in the raw value (0 = its least significant bit). */
  readonly shift: number;
}

/** Segments of a signal, least significant first. */
export function signalSegments(sig: Pick<DbcSignal, 'startBit' | 'length' | 'byteOrder'>): BitSegment[] {
  const segs: BitSegment[] = [];
  const { startBit, length } = sig;
  if (sig.byteOrder === 'intel') {
    let pos = startBit;
    let k = 0;
    while (k < length) {
      const lsb = pos & 7;
      const width = Math.min(8 - lsb, length - k);
      segs.push({ byte: pos >> 3, lsb, width, shift: k });
      pos += width;
      k += width;
    }
  } else {
    const msbLin = (startBit & ~7) + 7 - (startBit & 7);
    const lsbLin = msbLin + length - 1;
    let byte = lsbLin >> 3;
    let lsb = 7 - (lsbLin & 7);
    let k = 0;
    while (k < length) {
      const width = Math.min(8 - lsb, length - k);
      segs.push({ byte, lsb, width, shift: k });
      k += width;
      byte--;
      lsb = 0;
    }
  }
  return segs;
}

/** Bytes a frame needs for the signal to be present. */
export function signalMinLength(sig: Pick<DbcSignal, 'startBit' | 'length' | 'byteOrder'>): number {
  let max = 0;
  for (const s of signalSegments(sig)) max = Math.max(max, s.byte + 1);
  return max;
}

/** Splits segments at raw bit 32 into those of the low and of the high 32-bit half. */
function splitAt32(segs: readonly BitSegment[]): { lo: BitSegment[]; hi: BitSegment[] } {
  const lo: BitSegment[] = [];
  const hi: BitSegment[] = [];
  for (const s of segs) {
    if (s.shift + s.width <= 32) lo.push(s);
    else if (s.shift >= 32) hi.push({ ...s, shift: s.shift - 32 });
    else {
      const w = 32 - s.shift;
      lo.push({ byte: s.byte, lsb: s.lsb, width: w, shift: s.shift });
      hi.push({ byte: s.byte, lsb: s.lsb + w, width: s.width - w, shift: 0 });
    }
  }
  return { lo, hi };
}

/** Unsigned 32-bit assembly of segments whose shifts lie in 0..31. */
function assemble32(data: Uint8Array, segs: readonly BitSegment[]): number {
  let v = 0;
  for (const s of segs) v |= ((data[s.byte]! >>> s.lsb) & ((1 << s.width) - 1)) << s.shift;
  return v >>> 0;
}

/**
 * The exact raw value (after sign extension; float signals: the unsigned bit pattern), or undefined when
 * the frame is too short. Slow path for signals wider than 53 bits and for checks.
 */
export function rawBigInt(sig: DbcSignal, data: Uint8Array): bigint | undefined {
  if (data.length < signalMinLength(sig)) return undefined;
  let v = 0n;
  for (const s of signalSegments(sig))
    v |= BigInt((data[s.byte]! >>> s.lsb) & ((1 << s.width) - 1)) << BigInt(s.shift);
  if (sig.signed && sig.valueType === 'integer') return BigInt.asIntN(sig.length, v);
  return v;
}

const scratch = new DataView(new ArrayBuffer(8));

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits, true);
  return scratch.getFloat32(0, true);
}

function float64FromBits(lo: number, hi: number): number {
  scratch.setUint32(0, lo >>> 0, true);
  scratch.setUint32(4, hi >>> 0, true);
  return scratch.getFloat64(0, true);
}

/** Raw value of one signal as a double (NaN if the frame is too short). Uncompiled reference path. */
export function decodeRaw(sig: DbcSignal, data: Uint8Array): number {
  if (data.length < signalMinLength(sig)) return NaN;
  const segs = signalSegments(sig);
  if (sig.length <= 32) {
    const u = assemble32(data, segs);
    if (sig.valueType === 'float32') return float32FromBits(u);
    if (!sig.signed) return u;
    return sig.length === 32 ? u | 0 : (u << (32 - sig.length)) >> (32 - sig.length);
  }
  const { lo, hi } = splitAt32(segs);
  const l = assemble32(data, lo);
  let h = assemble32(data, hi);
  if (sig.valueType === 'float64') return float64FromBits(l, h);
  if (sig.signed) h = sig.length === 64 ? h | 0 : (h << (64 - sig.length)) >> (64 - sig.length);
  return h * 4294967296 + l;
}

/** Physical value of one signal (NaN if absent because the frame is too short; multiplexing NOT checked). */
export function decodeSignal(sig: DbcSignal, data: Uint8Array): number {
  const r = decodeRaw(sig, data);
  if (Number.isNaN(r)) return NaN;
  return r * sig.factor + sig.offset;
}

// ---------------------------------------------------------------------------------------------------------
// Compiled messages
// ---------------------------------------------------------------------------------------------------------

export interface CompiledMessage {
  readonly message: DbcMessage;
  /** The decoded signals in output order: the requested ones, then any multiplexer switches they need. */
  readonly signals: readonly DbcSignal[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Whether the generated (true) or the closure (false) implementation runs. */
  readonly generated: boolean;
  /**
   * Decodes `data` into `out[0 .. signals.length)`: physical values, NaN where absent. Allocation-free.
   * `out` must have room for `signals.length` values.
   */
  decode(data: Uint8Array, out: Float64Array): void;
  /** Convenience: present signals by name (allocates). */
  decodeToRecord(data: Uint8Array): Record<string, number>;
}

export interface CompileOptions {
  /** Only these signals (by name) plus the switches they depend on; default all. */
  readonly signals?: readonly string[];
  /** Generate specialised code (default true); false forces the closure implementation. */
  readonly codegen?: boolean;
}

/** Signals to decode, switches before the signals they select, plus the output order. */
function planSignals(
  msg: DbcMessage,
  names: readonly string[] | undefined,
): { order: DbcSignal[]; out: DbcSignal[] } {
  const byName = new Map(msg.signals.map((s) => [s.name, s] as const));
  const wanted: DbcSignal[] = [];
  if (names === undefined) wanted.push(...msg.signals);
  else
    for (const n of names) {
      const s = byName.get(n);
      if (s === undefined) throw new Error(`message ${msg.name} has no signal ${n}`);
      if (!wanted.includes(s)) wanted.push(s);
    }
  const out = [...wanted];
  const order: DbcSignal[] = [];
  const visit = (s: DbcSignal): void => {
    if (order.includes(s)) return;
    if (s.multiplexedBy !== undefined) {
      const sw = byName.get(s.multiplexedBy.switchName);
      if (sw === undefined)
        throw new Error(`${msg.name}.${s.name}: switch ${s.multiplexedBy.switchName} missing`);
      if (!out.includes(sw)) out.push(sw);
      visit(sw);
    }
    order.push(s);
  };
  for (const s of out) visit(s);
  return { order, out };
}

export function compileMessage(msg: DbcMessage, options: CompileOptions = {}): CompiledMessage {
  const { order, out } = planSignals(msg, options.signals);
  const indexOf = new Map(out.map((s, i) => [s.name, i] as const));
  let decode: ((data: Uint8Array, out: Float64Array) => void) | undefined;
  let generated = false;
  if (options.codegen !== false) {
    try {
      decode = generate(order, indexOf);
      generated = true;
    } catch (e) {
      // Code generation from strings disabled: fall back. Anything else is a bug: rethrow.
      if (!(e instanceof EvalError)) throw e;
    }
  }
  decode ??= closures(order, indexOf);
  const fn = decode;
  return {
    message: msg,
    signals: out,
    indexOf,
    generated,
    decode: fn,
    decodeToRecord(data: Uint8Array): Record<string, number> {
      const buf = new Float64Array(out.length);
      fn(data, buf);
      const r: Record<string, number> = {};
      out.forEach((s, i) => {
        const v = buf[i]!;
        if (!Number.isNaN(v)) r[s.name] = v;
      });
      return r;
    },
  };
}

/** A finite number as a JS literal (the only non-integer text that reaches generated code). */
function numLit(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`non-finite constant ${x}`);
  if (Object.is(x, -0)) return '(-0)';
  return `(${String(x)})`;
}

function intLit(x: number): string {
  if (!Number.isSafeInteger(x)) throw new RangeError(`bad integer ${x}`);
  return String(x);
}

/** Expression for one segment, 0..2^32 as int32 bits (shifted into place). */
function segExpr(s: BitSegment): string {
  const b = `d[${intLit(s.byte)}]`;
  let e: string;
  if (s.lsb === 0 && s.width === 8) e = b;
  else if (s.lsb === 0) e = `(${b} & ${intLit((1 << s.width) - 1)})`;
  else if (s.lsb + s.width === 8) e = `(${b} >>> ${intLit(s.lsb)})`;
  else e = `((${b} >>> ${intLit(s.lsb)}) & ${intLit((1 << s.width) - 1)})`;
  return s.shift === 0 ? e : `(${e} << ${intLit(s.shift)})`;
}

function rangesExpr(v: string, ranges: readonly MultiplexRange[]): string {
  return ranges
    .map((r) =>
      r.lo === r.hi ? `${v} === ${intLit(r.lo)}` : `(${v} >= ${intLit(r.lo)} && ${v} <= ${intLit(r.hi)})`,
    )
    .join(' || ');
}

function generate(
  order: readonly DbcSignal[],
  indexOf: ReadonlyMap<string, number>,
): (data: Uint8Array, out: Float64Array) => void {
  const lines: string[] = ['"use strict";', 'const n = d.length;', 'let u = 0, l = 0, h = 0, r = 0;'];
  const switchVar = new Map<string, string>();
  order.forEach((sig, k) => {
    const idx = intLit(indexOf.get(sig.name)!);
    const segs = signalSegments(sig);
    const need = intLit(signalMinLength(sig));
    const conds = [`n >= ${need}`];
    if (sig.multiplexedBy !== undefined)
      conds.push(`(${rangesExpr(switchVar.get(sig.multiplexedBy.switchName)!, sig.multiplexedBy.ranges)})`);
    const body: string[] = [];
    if (sig.length <= 32) {
      const or = segs.map(segExpr).join(' | ');
      if (sig.valueType === 'float32') body.push(`r = F32((${or}) >>> 0);`);
      else if (!sig.signed) body.push(sig.length === 32 ? `r = (${or}) >>> 0;` : `r = ${or};`);
      else if (sig.length === 32) body.push(`r = (${or}) | 0;`);
      else body.push(`u = ${or};`, `r = (u << ${intLit(32 - sig.length)}) >> ${intLit(32 - sig.length)};`);
    } else {
      const { lo, hi } = splitAt32(segs);
      body.push(`l = (${lo.map(segExpr).join(' | ')}) >>> 0;`);
      const hiOr = hi.map(segExpr).join(' | ');
      if (sig.valueType === 'float64') body.push(`h = (${hiOr}) >>> 0;`, 'r = F64(l, h);');
      else {
        if (!sig.signed) body.push(`h = (${hiOr}) >>> 0;`);
        else if (sig.length === 64) body.push(`h = (${hiOr}) | 0;`);
        else body.push(`h = ((${hiOr}) << ${intLit(64 - sig.length)}) >> ${intLit(64 - sig.length)};`);
        body.push('r = h * 4294967296 + l;');
      }
    }
    if (sig.isMultiplexer) {
      const v = `s${intLit(k)}`;
      switchVar.set(sig.name, v);
      lines.push(`let ${v} = NaN;`);
      body.push(`${v} = r;`);
    }
    const phys =
      sig.factor === 1 && sig.offset === 0 ? 'r' : `r * ${numLit(sig.factor)} + ${numLit(sig.offset)}`;
    // A float signal may carry a NaN pattern: it stays NaN (= absent), consistent with the contract.
    body.push(`out[${idx}] = ${phys};`);
    lines.push(`if (${conds.join(' && ')}) { ${body.join(' ')} } else out[${idx}] = NaN;`);
  });
  // Numbers only reach this text (see the module comment).
  const factory = new Function('F32', 'F64', `return function decode(d, out) {\n${lines.join('\n')}\n};`) as (
    f32: typeof float32FromBits,
    f64: typeof float64FromBits,
  ) => (data: Uint8Array, out: Float64Array) => void;
  return factory(float32FromBits, float64FromBits);
}

type RawFn = (d: Uint8Array) => number;

function rawClosure(sig: DbcSignal): RawFn {
  const segs = signalSegments(sig);
  const len = sig.length;
  if (len <= 32) {
    const first = segs[0]!;
    const assemble: RawFn =
      segs.length === 1
        ? (
            (b, lsb, mask, shift) => (d: Uint8Array) =>
              ((d[b]! >>> lsb) & mask) << shift
          )(first.byte, first.lsb, (1 << first.width) - 1, first.shift)
        : (d: Uint8Array) => assemble32(d, segs);
    if (sig.valueType === 'float32') return (d) => float32FromBits(assemble(d) >>> 0);
    if (!sig.signed) return len === 32 ? (d) => assemble(d) >>> 0 : assemble;
    if (len === 32) return (d) => assemble(d) | 0;
    const k = 32 - len;
    return (d) => (assemble(d) << k) >> k;
  }
  const { lo, hi } = splitAt32(segs);
  if (sig.valueType === 'float64') return (d) => float64FromBits(assemble32(d, lo), assemble32(d, hi));
  if (!sig.signed) return (d) => assemble32(d, hi) * 4294967296 + assemble32(d, lo);
  const k = 64 - len;
  return len === 64
    ? (d) => (assemble32(d, hi) | 0) * 4294967296 + assemble32(d, lo)
    : (d) => ((assemble32(d, hi) << k) >> k) * 4294967296 + assemble32(d, lo);
}

function closures(
  order: readonly DbcSignal[],
  indexOf: ReadonlyMap<string, number>,
): (data: Uint8Array, out: Float64Array) => void {
  interface Step {
    readonly idx: number;
    readonly need: number;
    readonly raw: RawFn;
    readonly factor: number;
    readonly offset: number;
    /** Slot in `switches` this signal's raw value is stored to, or -1. */
    readonly switchSlot: number;
    /** Slot of the switch it depends on, or -1. */
    readonly dependsOn: number;
    readonly ranges: readonly MultiplexRange[];
  }
  const slotOf = new Map<string, number>();
  const steps: Step[] = order.map((sig) => {
    const switchSlot = sig.isMultiplexer ? slotOf.size : -1;
    if (sig.isMultiplexer) slotOf.set(sig.name, switchSlot);
    return {
      idx: indexOf.get(sig.name)!,
      need: signalMinLength(sig),
      raw: rawClosure(sig),
      factor: sig.factor,
      offset: sig.offset,
      switchSlot,
      dependsOn: sig.multiplexedBy === undefined ? -1 : slotOf.get(sig.multiplexedBy.switchName)!,
      ranges: sig.multiplexedBy?.ranges ?? [],
    };
  });
  const switches = new Float64Array(slotOf.size);
  return (d, out) => {
    switches.fill(NaN);
    const n = d.length;
    for (const st of steps) {
      let present = n >= st.need;
      if (present && st.dependsOn >= 0) {
        const v = switches[st.dependsOn]!;
        present = st.ranges.some((r) => v >= r.lo && v <= r.hi);
      }
      if (!present) {
        out[st.idx] = NaN;
        continue;
      }
      const r = st.raw(d);
      if (st.switchSlot >= 0) switches[st.switchSlot] = r;
      out[st.idx] = r * st.factor + st.offset;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Whole database
// ---------------------------------------------------------------------------------------------------------

/**
 * Looks up and lazily compiles messages by (id, extended). Not thread-safe (one per stream); compiled
 * messages are cached for the decoder's lifetime.
 */
export class CanDatabaseDecoder {
  readonly #standard = new Map<number, DbcMessage>();
  readonly #extended = new Map<number, DbcMessage>();
  readonly #compiled = new Map<DbcMessage, CompiledMessage>();
  constructor(
    messages: readonly DbcMessage[],
    private readonly options: Pick<CompileOptions, 'codegen'> = {},
  ) {
    for (const m of messages) (m.extended ? this.#extended : this.#standard).set(m.id, m);
  }

  messageFor(id: number, extended: boolean): DbcMessage | undefined {
    return (extended ? this.#extended : this.#standard).get(id);
  }

  /** The compiled message (all signals) for a frame id, or undefined if the DBC does not define it. */
  compiled(id: number, extended: boolean): CompiledMessage | undefined {
    const m = this.messageFor(id, extended);
    if (m === undefined) return undefined;
    let c = this.#compiled.get(m);
    if (c === undefined) {
      c = compileMessage(m, this.options);
      this.#compiled.set(m, c);
    }
    return c;
  }
}
