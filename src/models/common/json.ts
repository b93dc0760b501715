/** Checks on parsed JSON of files a user may hand over (model sidecars, manifests). */

/** A JSON object: not null, not an array. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as an error message shows it: a number as written (NaN, Infinity too), anything else as JSON. */
export function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === undefined ? 'undefined' : JSON.stringify(v);
}
