import type { CanFrame } from '../../src/streams/contracts/messages.ts';

/** A fixed drive start (2026-01-14T21:00:00Z) in µs, shared by tests. */
export const T0_US = 1_768_424_400_000_000;

/** Small deterministic PRNG (mulberry32) so generated inputs are reproducible from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function canFrame(tUs: number, id: number, data: number[], bus = 0): CanFrame {
  return {
    tUs,
    id,
    extended: id > 0x7ff,
    rtr: false,
    fd: false,
    errorFrame: false,
    bus,
    data: Uint8Array.from(data),
  };
}

/** The parts one after another in one Float32Array. */
export function concatFloat32(parts: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
