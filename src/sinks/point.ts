/**
 * A time-series point as every sink receives it.
 *
 * Time convention: `timeNs` is event time in nanoseconds since the Unix epoch, as a bigint because
 * nanosecond timestamps exceed 2^53. Numbers are written as floats, bigints as integers (`123i`).
 */
export type FieldValue = number | bigint | boolean | string;

export interface Point {
  readonly measurement: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly timeNs: bigint;
}

/** Microseconds since the epoch (a safe JS number until the year 2255) to nanoseconds. */
export function usToNs(tUs: number): bigint {
  return BigInt(Math.round(tUs)) * 1000n;
}
