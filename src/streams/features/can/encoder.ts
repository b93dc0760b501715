/**
 * CAN payload encoding: the inverse of decoder.ts (used by the drive simulator and by tests). Pure.
 *
 * physical → raw = round((physical − offset) / factor), clamped to the signal's raw range
 * ([0, 2^length − 1] unsigned, [−2^(length−1), 2^(length−1) − 1] signed, stored as two's complement), then
 * written bit by bit through the same per-byte segments the decoder reads (`signalSegments`), so Intel and
 * Motorola layouts are exactly the decoder's. Float signals (SIG_VALTYPE_) store the IEEE bits of
 * (physical − offset) / factor unrounded. The DBC's [minimum|maximum] is NOT applied (many DBCs leave it
 * [0|0]); only the bit width limits the value. Hence decodeSignal(encodeSignal(x)) equals x quantised to
 * the factor and clamped to the representable range.
 *
 * Lengths ≤ 32 bits use number arithmetic; wider signals go through BigInt (exact to 64 bits).
 */
import type { DbcMessage, DbcSignal } from './dbc.ts';
import { signalMinLength, signalSegments } from './decoder.ts';

const scratch = new DataView(new ArrayBuffer(8));

/** Unsigned bit pattern (0 ≤ bits < 2^length) of a physical value, as a bigint. */
function rawBits(sig: DbcSignal, physical: number): bigint {
  const scaled = (physical - sig.offset) / sig.factor;
  if (sig.valueType === 'float32') {
    scratch.setFloat32(0, scaled, true);
    return BigInt(scratch.getUint32(0, true));
  }
  if (sig.valueType === 'float64') {
    scratch.setFloat64(0, scaled, true);
    return scratch.getBigUint64(0, true);
  }
  const n = BigInt(sig.length);
  const lo = sig.signed ? -(1n << (n - 1n)) : 0n;
  const hi = sig.signed ? (1n << (n - 1n)) - 1n : (1n << n) - 1n;
  // Round half up (as Math.round) but in the bigint domain, so values beyond 2^53 stay integral.
  const rounded = Math.round(scaled);
  let raw = Number.isFinite(rounded) ? BigInt(rounded) : rounded > 0 ? hi : lo;
  if (raw < lo) raw = lo;
  if (raw > hi) raw = hi;
  return BigInt.asUintN(sig.length, raw);
}

/** Unsigned bit pattern for signals up to 32 bits (the fast path). */
function rawBits32(sig: DbcSignal, physical: number): number {
  const len = sig.length;
  const lo = sig.signed ? -(2 ** (len - 1)) : 0;
  const hi = sig.signed ? 2 ** (len - 1) - 1 : 2 ** len - 1;
  const raw = Math.min(hi, Math.max(lo, Math.round((physical - sig.offset) / sig.factor)));
  return raw < 0 ? raw + 2 ** len : raw;
}

/**
 * Writes `physical` into `data` (in place, touching only the signal's bits). Throws a RangeError for a NaN
 * value or when `data` is too short for the signal.
 */
export function encodeSignal(sig: DbcSignal, physical: number, data: Uint8Array): void {
  if (Number.isNaN(physical)) throw new RangeError(`${sig.name}: cannot encode NaN`);
  if (data.length < signalMinLength(sig))
    throw new RangeError(`${sig.name}: needs ${signalMinLength(sig)} bytes, the payload has ${data.length}`);
  const segs = signalSegments(sig);
  if (sig.valueType === 'integer' && sig.length <= 32) {
    const bits = rawBits32(sig, physical);
    for (const s of segs) {
      const mask = (1 << s.width) - 1;
      const v = Math.floor(bits / 2 ** s.shift) & mask;
      data[s.byte] = (data[s.byte]! & ~(mask << s.lsb)) | (v << s.lsb);
    }
    return;
  }
  const bits = rawBits(sig, physical);
  for (const s of segs) {
    const mask = (1 << s.width) - 1;
    const v = Number((bits >> BigInt(s.shift)) & BigInt(mask));
    data[s.byte] = (data[s.byte]! & ~(mask << s.lsb)) | (v << s.lsb);
  }
}

/**
 * A payload of `msg.size` bytes carrying `values` (physical, by signal name); unspecified signals are raw 0.
 * Multiplexing is not checked: the caller sets the switch value a multiplexed signal needs.
 */
export function encodeMessage(msg: DbcMessage, values: Readonly<Record<string, number>>): Uint8Array {
  const data = new Uint8Array(msg.size);
  for (const [name, v] of Object.entries(values)) {
    const sig = msg.signals.find((s) => s.name === name);
    if (sig === undefined) throw new RangeError(`message ${msg.name} has no signal ${name}`);
    encodeSignal(sig, v, data);
  }
  return data;
}
