/**
 * RR-interval series and instantaneous heart rate, from detected beats (EcgBeat) or from chest-strap RR
 * messages (RrIntervals), as one series type; and the ectopic/artefact rule used by HRV.
 *
 * Conventions: an RR point is (tUs, rrMs): the interval in ms between two consecutive beats, stamped with the
 * time of the beat that ends it (µs since the epoch). Instantaneous HR at that time = 60 000 / rrMs (bpm).
 * - From ECG beats: intervals only between consecutive beats of the same detection segment (never across a
 *   gap, NaN run or rate change: the beats in between are unknown).
 * - From a strap message (`RrIntervals`): `tUs` is the beat ending rrMs[0], and rrMs[k] ends at
 *   tUs + (rrMs[1] + … + rrMs[k]) ms, as the contract (src/streams/contracts/messages.ts) defines.
 *
 * Ectopic/artefact rule (`classifyRr`), applied before HRV (Task Force 1996 asks for NN intervals, i.e.
 * normal-to-normal; this is the usual threshold filter, cf. Malik et al. 1993's 20 % rule):
 * 1. out of range: RR < 300 ms or > 2000 ms (HR above 200 or below 30 bpm) is an artefact;
 * 2. ectopic/artefact: |RR − m| > 20 % of m, where m is the median of the in-range intervals among the 5
 *    before and 5 after it (itself excluded). With fewer than 2 such neighbours the interval is kept. A
 *    premature beat flags both its short interval and the compensatory long one.
 * The rule looks 5 intervals ahead, so in a live stream the last 5 intervals' classification is provisional;
 * HRV over a closed window uses the window's own intervals.
 */
import type { RrIntervals } from '../../contracts/messages.ts';
import type { EcgBeat } from './beat-stream.ts';

export interface RrSeries {
  /** Time of the beat ending each interval, µs since the epoch; ascending. */
  readonly tUs: Float64Array;
  /** Interval lengths, ms. */
  readonly rrMs: Float64Array;
}

export interface RrPoint {
  readonly tUs: number;
  readonly rrMs: number;
}

export const RR_MIN_MS = 300;
export const RR_MAX_MS = 2000;

/** RR intervals between consecutive beats of the same segment (beats in time order). */
export function rrFromBeats(beats: readonly EcgBeat[]): RrSeries {
  const t: number[] = [];
  const rr: number[] = [];
  for (let i = 1; i < beats.length; i++) {
    const a = beats[i - 1]!;
    const b = beats[i]!;
    if (a.segment !== b.segment || !(b.tUs > a.tUs)) continue;
    t.push(b.tUs);
    rr.push((b.tUs - a.tUs) / 1000);
  }
  return { tUs: Float64Array.from(t), rrMs: Float64Array.from(rr) };
}

/** The intervals of one chest-strap message with the times of the beats ending them. */
export function rrFromStrap(msg: RrIntervals): RrSeries {
  const n = msg.rrMs.length;
  const tUs = new Float64Array(n);
  const rrMs = new Float64Array(n);
  let t = msg.tUs;
  for (let i = 0; i < n; i++) {
    const v = msg.rrMs[i]!;
    if (i > 0) t += v * 1000;
    tUs[i] = Math.round(t);
    rrMs[i] = v;
  }
  return { tUs, rrMs };
}

/** Instantaneous heart rate (bpm) of each interval: 60 000 / rrMs. */
export function instantaneousHr(rrMs: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rrMs.length);
  for (let i = 0; i < out.length; i++) out[i] = 60_000 / rrMs[i]!;
  return out;
}

/** Concatenates series (each ascending) and keeps the points within [startUs, endUs). */
export function concatRr(parts: readonly RrSeries[], startUs = -Infinity, endUs = Infinity): RrSeries {
  const pts: RrPoint[] = [];
  for (const p of parts) {
    for (let i = 0; i < p.tUs.length; i++) {
      const t = p.tUs[i]!;
      if (t >= startUs && t < endUs) pts.push({ tUs: t, rrMs: p.rrMs[i]! });
    }
  }
  pts.sort((a, b) => a.tUs - b.tUs);
  return { tUs: Float64Array.from(pts, (p) => p.tUs), rrMs: Float64Array.from(pts, (p) => p.rrMs) };
}

/**
 * Streaming RR builder: beats in, RR points out. Keeps the last beat so that intervals spanning two calls
 * are formed once; an interval never spans a segment change. Strap messages pass through `pushStrap`.
 */
export class RrStream {
  private last: EcgBeat | undefined;

  pushBeats(beats: readonly EcgBeat[]): RrPoint[] {
    const out: RrPoint[] = [];
    for (const b of beats) {
      const a = this.last;
      if (a !== undefined && a.segment === b.segment && b.tUs > a.tUs) {
        out.push({ tUs: b.tUs, rrMs: (b.tUs - a.tUs) / 1000 });
      }
      this.last = b;
    }
    return out;
  }

  pushStrap(msg: RrIntervals): RrPoint[] {
    const s = rrFromStrap(msg);
    return Array.from(s.tUs, (t, i) => ({ tUs: t, rrMs: s.rrMs[i]! }));
  }
}

export interface RrClassification {
  /** 1 = kept (normal-to-normal), 0 = rejected. */
  readonly kept: Uint8Array;
  readonly outOfRange: number;
  readonly ectopic: number;
}

export interface RrRuleOptions {
  readonly minMs?: number;
  readonly maxMs?: number;
  /** Neighbours on each side for the local median (default 5). */
  readonly halfWindow?: number;
  /** Largest accepted relative deviation from the local median (default 0.2). */
  readonly maxDeviation?: number;
}

/** Applies the ectopic/artefact rule above to an RR series (ms). */
export function classifyRr(rrMs: ArrayLike<number>, options: RrRuleOptions = {}): RrClassification {
  const minMs = options.minMs ?? RR_MIN_MS;
  const maxMs = options.maxMs ?? RR_MAX_MS;
  const half = options.halfWindow ?? 5;
  const maxDev = options.maxDeviation ?? 0.2;
  const n = rrMs.length;
  const inRange = new Uint8Array(n);
  let outOfRange = 0;
  for (let i = 0; i < n; i++) {
    const v = rrMs[i]!;
    if (Number.isFinite(v) && v >= minMs && v <= maxMs) inRange[i] = 1;
    else outOfRange++;
  }
  const kept = Uint8Array.from(inRange);
  let ectopic = 0;
  const nb: number[] = [];
  for (let i = 0; i < n; i++) {
    if (inRange[i] === 0) continue;
    nb.length = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(n - 1, i + half); k++) {
      if (k !== i && inRange[k] === 1) nb.push(rrMs[k]!);
    }
    if (nb.length < 2) continue;
    nb.sort((a, b) => a - b);
    const m = nb.length % 2 === 1 ? nb[nb.length >> 1]! : (nb[nb.length / 2 - 1]! + nb[nb.length / 2]!) / 2;
    if (Math.abs(rrMs[i]! - m) > maxDev * m) {
      kept[i] = 0;
      ectopic++;
    }
  }
  return { kept, outOfRange, ectopic };
}
