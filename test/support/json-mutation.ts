/**
 * Mutations of a parsed JSON document for fuzzing the decoders of files a user may hand over (model
 * sidecars): every field's path, and a copy with one field replaced or deleted.
 */
import fc from 'fast-check';

export type JsonPath = readonly (string | number)[];

/** Every field of `v` (arrays: the array, its first and its last element), the root left out. */
export function jsonPaths(v: unknown): JsonPath[] {
  const walk = (x: unknown, at: JsonPath): JsonPath[] => {
    if (Array.isArray(x)) {
      const ends = x.length > 0 ? [...new Set([0, x.length - 1])] : [];
      return [at, ...ends.flatMap((i) => walk(x[i], [...at, i]))];
    }
    if (x !== null && typeof x === 'object')
      return [at, ...Object.entries(x).flatMap(([k, y]) => walk(y, [...at, k]))];
    return [at];
  };
  return walk(v, []).filter((p) => p.length > 0);
}

/** A copy of `v` with the field at `path` replaced by `value` (deleted: `value` undefined). */
export function withField(v: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const out = [...v];
    if (typeof head === 'number' && head < out.length) out[head] = withField(out[head], rest, value);
    return out;
  }
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  const key = String(head);
  if (rest.length === 0 && value === undefined) delete out[key];
  else out[key] = withField(out[key], rest, value);
  return out;
}

/**
 * Values a field is set to in the deterministic sweep (`sweptJson`) and, among arbitrary JSON, in the fuzz:
 * deletion, the wrong types, and numbers a JSON file can hold that are out of any sane range (1e999 parses
 * to Infinity).
 */
export const EDGE_VALUES: readonly unknown[] = [
  undefined,
  null,
  0,
  -1,
  1e9,
  Infinity,
  1e-320,
  '',
  'x',
  '16000',
  [],
  [1],
  {},
  true,
];

/** Every field of `base` set to each of `EDGE_VALUES` in turn, one at a time: [path, value, document]. */
export function sweptJson(base: unknown): [JsonPath, unknown, unknown][] {
  return jsonPaths(base).flatMap((p) =>
    EDGE_VALUES.map((v): [JsonPath, unknown, unknown] => [p, v, withField(base, p, v)]),
  );
}

/** Up to `max` fields of `base` replaced by arbitrary JSON (or deleted), as a fast-check arbitrary. */
export function mutatedJson(base: unknown, max = 3): fc.Arbitrary<unknown> {
  const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...EDGE_VALUES));
  return fc
    .array(fc.tuple(fc.constantFrom(...jsonPaths(base)), replacement), { minLength: 1, maxLength: max })
    .map((ms) => ms.reduce<unknown>((doc, [p, v]) => withField(doc, p, v), base));
}
