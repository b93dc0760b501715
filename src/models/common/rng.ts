/**
 * A seeded, resumable pseudo-random generator for training (shuffling, modality dropout, SNR draws, initial
 * weights in tests). TF.js's own random ops are not resumable, so anything a checkpoint must reproduce draws
 * from here.
 *
 * Algorithm: mulberry32 (32-bit state, period 2³²; statistically fine for data order and augmentation, not
 * for cryptography). Its state after n draws is seed + n·0x6D2B79F5 (mod 2³²), so the whole state is
 * {seed, position} and restoring it is O(1).
 */

export interface RandomState {
  /** The seed the generator started from (uint32). */
  seed: number;
  /** Number of 32-bit draws made since the seed. */
  position: number;
}

const GOLDEN = 0x6d2b79f5;

export class SeededRandom {
  private s: number;
  private n: number;

  constructor(
    readonly seed: number,
    position = 0,
  ) {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    if (!Number.isSafeInteger(position) || position < 0) throw new Error(`bad position ${position}`);
    this.seed = seed >>> 0;
    this.n = position;
    // (seed + position·GOLDEN) mod 2³², exactly (BigInt: the product exceeds 2⁵³ for long runs).
    this.s = Number((BigInt(this.seed) + BigInt(position) * BigInt(GOLDEN)) % 4294967296n);
  }

  static fromState(state: RandomState): SeededRandom {
    return new SeededRandom(state.seed, state.position);
  }

  /** The state to store in a checkpoint. */
  get state(): RandomState {
    return { seed: this.seed, position: this.n };
  }

  /** Next uint32. */
  nextUint32(): number {
    this.s = (this.s + GOLDEN) >>> 0;
    this.n++;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; two draws per value). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A Float32Array of `size` values from `draw` (default uniform [0, 1)). */
  floats(size: number, draw: () => number = () => this.next()): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = draw();
    return out;
  }
}
