/**
 * NumPy `.npy` reader (format versions 1.0, 2.0 and 3.0), pure: bytes in, a typed array out.
 *
 * Layout (numpy/lib/format.py, NEP 1): magic "\x93NUMPY", major and minor version bytes, header length
 * (u16 little-endian in 1.0, u32 in 2.0/3.0), then an ASCII (3.0: UTF-8) Python dict literal
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (4974, 1), }` padded with spaces and a newline, then the
 * raw data. The header dict is parsed as a literal, never evaluated.
 *
 * Supported dtypes: booleans `|b1`, integers `i1 i2 i4 i8 u1 u2 u4 u8`, floats `f4 f8`, in either byte order
 * (`<` little, `>` big, `|`/`=` not applicable or native = little here), and fixed-size byte strings `|S<n>`.
 * 64-bit integers come back as BigInt64Array/BigUint64Array (exact); `toFloat64` converts any numeric array.
 * Fortran-ordered arrays are returned in C (row-major) order, so element (i, j) of a 2-D result is at
 * `i * shape[1] + j` whatever the file's order. Object arrays (pickles) are refused.
 */

export type NpyData =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface NpyArray {
  /** The descr as written, e.g. `<f8`, `|S8`. */
  readonly descr: string;
  readonly shape: readonly number[];
  /** Whether the FILE was Fortran-ordered; `data` is C-ordered either way. */
  readonly fortranOrder: boolean;
  /** Numeric elements in C order. For `|S<n>` the raw bytes (`itemSize` per element, NUL-padded). */
  readonly data: NpyData;
  readonly kind: 'b' | 'i' | 'u' | 'f' | 'S';
  readonly itemSize: number;
  /** Number of elements (product of the shape; 1 for a 0-d array). */
  readonly size: number;
}

export class NpyError extends Error {
  override name = 'NpyError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new NpyError('not a .npy file (bad magic)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0)
    throw new NpyError(`unsupported .npy version ${major}.${minor}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else {
    if (bytes.length < 12) throw new NpyError('truncated header');
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length)
    throw new NpyError(`header of ${headerLen} bytes runs past the end of the file`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );
  const dict = parseHeaderDict(header);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shapeV = dict.get('shape');
  if (typeof descr !== 'string')
    throw new NpyError(`header needs a string 'descr' (structured dtypes are not supported)`);
  if (typeof fortran !== 'boolean') throw new NpyError(`header needs a boolean 'fortran_order'`);
  if (!Array.isArray(shapeV)) throw new NpyError(`header needs a tuple 'shape'`);
  const shape = shapeV.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw new NpyError(`bad dimension ${String(d)} in shape`);
    return d;
  });
  const size = shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([biufS])(\d+)$/.exec(descr);
  if (m === null) throw new NpyError(`unsupported dtype '${descr}'`);
  const order = m[1]!;
  const kind = m[2] as NpyArray['kind'];
  const itemSize = Number(m[3]);
  const valid =
    kind === 'S'
      ? itemSize >= 1
      : kind === 'f'
        ? itemSize === 4 || itemSize === 8
        : kind === 'b'
          ? itemSize === 1
          : [1, 2, 4, 8].includes(itemSize);
  if (!valid) throw new NpyError(`unsupported dtype '${descr}'`);
  const nbytes = size * itemSize;
  if (bytes.length - dataStart < nbytes)
    throw new NpyError(
      `data truncated: shape (${shape.join(', ')}) needs ${nbytes} bytes, file has ${bytes.length - dataStart}`,
    );
  const bigEndian = order === '>';
  // Copy into a fresh, aligned buffer (the data offset in a file need not be aligned to the item size).
  // Not bytes.slice(): on a Node Buffer that is a view sharing memory, not a copy.
  const raw = new Uint8Array(nbytes);
  raw.set(bytes.subarray(dataStart, dataStart + nbytes));
  let data = typedView(kind, itemSize, raw, size, bigEndian);
  if (fortran && shape.length > 1) data = fortranToC(data, shape, kind === 'S' ? itemSize : 1);
  return { descr, shape, fortranOrder: fortran, data, kind, itemSize, size };
}

function typedView(
  kind: NpyArray['kind'],
  itemSize: number,
  raw: Uint8Array,
  n: number,
  bigEndian: boolean,
): NpyData {
  if (kind === 'S' || itemSize === 1) {
    if (kind === 'i') return new Int8Array(raw.buffer, 0, n);
    return raw;
  }
  const dv = new DataView(raw.buffer);
  const le = !bigEndian;
  const key = `${kind}${itemSize}`;
  switch (key) {
    case 'f8': {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getFloat64(i * 8, le);
      return a;
    }
    case 'f4': {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getFloat32(i * 4, le);
      return a;
    }
    case 'i2': {
      const a = new Int16Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getInt16(i * 2, le);
      return a;
    }
    case 'u2': {
      const a = new Uint16Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getUint16(i * 2, le);
      return a;
    }
    case 'i4': {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getInt32(i * 4, le);
      return a;
    }
    case 'u4': {
      const a = new Uint32Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getUint32(i * 4, le);
      return a;
    }
    case 'i8': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getBigInt64(i * 8, le);
      return a;
    }
    case 'u8': {
      const a = new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = dv.getBigUint64(i * 8, le);
      return a;
    }
    default:
      throw new NpyError(`unsupported dtype ${kind}${itemSize}`);
  }
}

/** Reorders column-major elements (each `unit` array slots wide) to row-major. */
function fortranToC<T extends NpyData>(src: T, shape: readonly number[], unit: number): T {
  const ctor = src.constructor as new (n: number) => T;
  const out = new ctor(src.length);
  const nd = shape.length;
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(nd).fill(0);
  // Fortran strides (in elements).
  const fStride = new Array<number>(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fStride[d] = s;
    s *= shape[d]!;
  }
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d]! * fStride[d]!;
    for (let u = 0; u < unit; u++)
      (out as unknown as number[])[c * unit + u] = (src as unknown as number[])[f * unit + u]!;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      if (idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Numeric elements as doubles (64-bit integers beyond 2^53 are rounded). */
export function toFloat64(a: NpyArray): Float64Array {
  if (a.kind === 'S') throw new NpyError(`'${a.descr}' is not numeric`);
  if (a.data instanceof Float64Array) return a.data;
  const out = new Float64Array(a.size);
  const d = a.data;
  for (let i = 0; i < a.size; i++) out[i] = Number(d[i]!);
  return out;
}

/** Element i of a `|S<n>` array as bytes with numpy's trailing NULs removed. */
export function npyBytesAt(a: NpyArray, i: number): Uint8Array {
  if (a.kind !== 'S') throw new NpyError(`'${a.descr}' is not a byte-string array`);
  if (!Number.isInteger(i) || i < 0 || i >= a.size) throw new RangeError(`index ${i} out of range`);
  const d = a.data as Uint8Array;
  let end = (i + 1) * a.itemSize;
  while (end > i * a.itemSize && d[end - 1] === 0) end--;
  return d.subarray(i * a.itemSize, end);
}

// ---------------------------------------------------------------------------------------------------------
// Header: a Python literal dict of str keys → str | bool | int tuple
// ---------------------------------------------------------------------------------------------------------

type PyValue = string | boolean | number | PyValue[];

function parseHeaderDict(text: string): Map<string, PyValue> {
  let i = 0;
  const fail = (why: string): never => {
    throw new NpyError(`bad header at ${i}: ${why} in ${JSON.stringify(text.trim().slice(0, 80))}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(i));
    if (m === null) return fail('unsupported value');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    return Number(m[0].replace(/L$/, ''));
  };
  const out = new Map<string, PyValue>();
  ws();
  if (text[i] !== '{') fail('expected "{"');
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const k = value();
    if (typeof k !== 'string') fail('dict keys must be strings');
    ws();
    if (text[i] !== ':') fail('expected ":"');
    i++;
    out.set(k as string, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail('expected "," or "}"');
  }
  ws();
  if (i !== text.length) fail('trailing characters');
  return out;
}
