/**
 * InfluxDB 1.x line protocol encoder. Pure: no I/O, no clock.
 *
 * One point becomes one line, without the trailing newline:
 *
 *     measurement[,tagKey=tagValue...] fieldKey=fieldValue[,fieldKey=fieldValue...] timestampNs
 *
 * Time convention: the timestamp is `point.timeNs` written as an integer number of nanoseconds since the
 * Unix epoch, so the write must use `precision=ns` (the InfluxDB default). InfluxDB 1.x accepts
 * -9223372036854775806 ≤ t ≤ 9223372036854775806; a point outside is rejected here.
 *
 * Escaping (checked against a real influxd 1.6.7, see test/sinks/influx-sink.test.ts):
 * - measurement: `,` and space are backslash-escaped;
 * - tag keys, tag values, field keys: `,`, `=` and space are backslash-escaped;
 * - string field values: written in double quotes, with `"` and `\` backslash-escaped; every other
 *   character, newlines included, is written as is (InfluxDB keeps newlines inside quoted strings).
 * - tags are sorted by key (code-point order, which is UTF-8 byte order, as InfluxDB recommends).
 *
 * Characters line protocol cannot carry in identifiers (measurement, tag keys, tag values, field keys) are
 * normalised first, by {@link normalizeIdentifier}, and what is stored is the normalised text:
 * - a line feed becomes the two characters `\n` and a carriage return `\r` (as Telegraf writes them), so a
 *   name can never split the line;
 * - a run of backslashes directly before `,`, `=`, space, `"`, or at the end of the identifier is removed:
 *   the 1.x parser has no escape for a backslash there (a trailing `\` escapes the separator after it and
 *   breaks the line; in measurements and field keys `\,`, `\=` and `\"` are read back without the
 *   backslash, and `x\\\"y` as a field key makes influxd drop the point while answering 204).
 * Backslashes anywhere else, tabs, quotes, `#` after the first character and all of Unicode round-trip.
 *
 * Values:
 * - `number` is a float, written in JavaScript's shortest round-trip form (`0.1`, `1e+21`, `-0`), which
 *   InfluxDB parses back to the same float64. NaN and ±Infinity cannot be represented: such fields are
 *   omitted and listed in `omittedFields`.
 * - `bigint` is a signed 64-bit integer (`123i`); outside [-2^63, 2^63-1] the field is omitted likewise.
 * - `boolean` is `true`/`false`; `string` is quoted as above (sent as UTF-8: a lone UTF-16 surrogate
 *   becomes U+FFFD).
 *
 * Rejection policy: {@link encodePoint} returns `{ ok: false, reason }` (and {@link toLineProtocol} returns
 * null) for a point that cannot be written: no representable field left, an empty measurement (after
 * normalisation), a measurement starting with `#` (the line would be a comment and silently ignored),
 * an empty tag or field key, two tag keys or two field keys that normalise to the same text, or a
 * timestamp out of range. A tag whose value is empty is left out: InfluxDB treats an empty tag value
 * and a missing tag as the same thing.
 */
import type { FieldValue, Point } from './point.ts';

/** Smallest and largest timestamps InfluxDB 1.x accepts, in ns since the epoch. */
export const MIN_TIME_NS = -9_223_372_036_854_775_806n;
export const MAX_TIME_NS = 9_223_372_036_854_775_806n;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export type EncodeResult =
  | { readonly ok: true; readonly line: string; readonly omittedFields: readonly string[] }
  | { readonly ok: false; readonly reason: string };

const NEEDS_NORMALISING = /[\n\r\\]/;
const UNSAFE_BACKSLASHES = /\\+(?=[,= "]|$)/g;

/** The text InfluxDB will store for an identifier (measurement, tag key/value, field key). */
export function normalizeIdentifier(name: string): string {
  if (!NEEDS_NORMALISING.test(name)) return name;
  return name.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(UNSAFE_BACKSLASHES, '');
}

/** Escapes an already normalised measurement name. */
export function escapeMeasurement(normalized: string): string {
  return /[, ]/.test(normalized) ? normalized.replace(/[, ]/g, '\\$&') : normalized;
}

/** Escapes an already normalised tag key, tag value or field key. */
export function escapeKey(normalized: string): string {
  return /[,= ]/.test(normalized) ? normalized.replace(/[,= ]/g, '\\$&') : normalized;
}

/** A string field value, quoted and escaped. */
export function quoteString(value: string): string {
  return `"${/["\\]/.test(value) ? value.replace(/["\\]/g, '\\$&') : value}"`;
}

/** A finite float in its shortest round-trip form; -0 keeps its sign. */
export function formatFloat(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

/** The encoded field value, or undefined when the value cannot be represented. */
export function formatFieldValue(value: FieldValue): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? formatFloat(value) : undefined;
    case 'bigint':
      return value >= INT64_MIN && value <= INT64_MAX ? `${value}i` : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return quoteString(value);
  }
}

/** Code-point order (= UTF-8 byte order, which InfluxDB uses), unlike `<` on UTF-16 code units. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Encodes one point, or says why it cannot be written. */
export function encodePoint(point: Point): EncodeResult {
  if (point.timeNs < MIN_TIME_NS || point.timeNs > MAX_TIME_NS) {
    return { ok: false, reason: 'timestamp out of range' };
  }
  const measurement = normalizeIdentifier(point.measurement);
  if (measurement === '') return { ok: false, reason: 'empty measurement' };
  if (measurement.startsWith('#')) return { ok: false, reason: "measurement starts with '#'" };

  const tags: [string, string][] = [];
  const tagKeys = new Set<string>();
  for (const [rawKey, rawValue] of Object.entries(point.tags)) {
    const key = normalizeIdentifier(rawKey);
    if (key === '') return { ok: false, reason: 'empty tag key' };
    if (tagKeys.has(key)) return { ok: false, reason: 'duplicate tag key after normalisation' };
    tagKeys.add(key);
    const value = normalizeIdentifier(rawValue);
    if (value !== '') tags.push([key, value]);
  }
  tags.sort((a, b) => compareCodePoints(a[0], b[0]));

  let fields = '';
  const omittedFields: string[] = [];
  const fieldKeys = new Set<string>();
  for (const [rawKey, value] of Object.entries(point.fields)) {
    const key = normalizeIdentifier(rawKey);
    if (key === '') return { ok: false, reason: 'empty field key' };
    if (fieldKeys.has(key)) return { ok: false, reason: 'duplicate field key after normalisation' };
    fieldKeys.add(key);
    const encoded = formatFieldValue(value);
    if (encoded === undefined) {
      omittedFields.push(rawKey);
      continue;
    }
    fields += `${fields === '' ? '' : ','}${escapeKey(key)}=${encoded}`;
  }
  if (fields === '') {
    return { ok: false, reason: omittedFields.length > 0 ? 'no representable field' : 'no fields' };
  }

  let line = escapeMeasurement(measurement);
  for (const [key, value] of tags) line += `,${escapeKey(key)}=${escapeKey(value)}`;
  line += ` ${fields} ${point.timeNs}`;
  return { ok: true, line, omittedFields };
}

/** One line of line protocol (no trailing newline), or null when the point cannot be written. */
export function toLineProtocol(point: Point): string | null {
  const result = encodePoint(point);
  return result.ok ? result.line : null;
}
