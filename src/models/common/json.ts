/** Checks on parsed JSON of files a user may hand over (model sidecars, manifests). */

/** A JSON object: not null, not an array. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as an error message shows it: a number as written (NaN, Infinity too), anything else as JSON. */
export function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === undefined ? 'undefined' : JSON.stringify(v);
}

/**
 * Why `v` is not a list of `length` values each passing `ok` (undefined when it is): names `field`, and the
 * first value that fails by its index, with `want` saying what each must be.
 */
export function numberListError(
  field: string,
  v: unknown,
  length: number,
  ok: (x: unknown) => boolean,
  want: string,
): string | undefined {
  if (!Array.isArray(v) || v.length !== length)
    return `${field} must be a list of ${length} numbers, got ${Array.isArray(v) ? v.length : shown(v)}`;
  const bad = v.findIndex((x) => !ok(x));
  return bad >= 0 ? `${field}[${bad}] ${shown(v[bad])} must be ${want}` : undefined;
}
