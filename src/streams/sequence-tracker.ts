/**
 * Detects gaps, duplicates and out-of-order messages from (session id, sequence number) per stream key.
 *
 * A new session id means the publisher restarted: its numbering starts afresh, which is not reordering.
 * Pure state machine, single-threaded; memory is bounded by `maxKeys` (least recently used keys are
 * forgotten) and a fixed 1024-message history per key.
 */
export type SeqStatus =
  | { readonly status: 'in-order' }
  | { readonly status: 'new-session' }
  | { readonly status: 'gap'; readonly missing: number }
  | { readonly status: 'duplicate' }
  | { readonly status: 'out-of-order' };

const HISTORY = 1024;
/** A forward jump this large is a reset, not 10^6 lost messages. */
const MAX_GAP = 1 << 20;

interface KeyState {
  sessionId: number;
  highest: number;
  /** Bit i of slot (seq % HISTORY) remembers whether `seq` was seen, for the last HISTORY numbers. */
  seen: Uint8Array;
}

export class SequenceTracker {
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly maxKeys = 10_000) {}

  get size(): number {
    return this.keys.size;
  }

  observe(key: string, sessionId: number, seq: number): SeqStatus {
    let s = this.keys.get(key);
    if (s !== undefined) {
      // Refresh LRU position.
      this.keys.delete(key);
      this.keys.set(key, s);
    }
    if (s === undefined || s.sessionId !== sessionId) {
      s = { sessionId, highest: seq, seen: new Uint8Array(HISTORY) };
      s.seen[seq % HISTORY] = 1;
      this.keys.delete(key);
      this.keys.set(key, s);
      this.evict();
      return { status: 'new-session' };
    }
    const d = (seq - s.highest) | 0; // signed distance modulo 2^32
    if (d > 0) {
      if (d > MAX_GAP) {
        s.highest = seq;
        s.seen.fill(0);
        s.seen[seq % HISTORY] = 1;
        return { status: 'new-session' };
      }
      for (let k = 1; k <= Math.min(d, HISTORY); k++) s.seen[(s.highest + k) % HISTORY] = 0;
      s.highest = seq >>> 0;
      s.seen[seq % HISTORY] = 1;
      return d === 1 ? { status: 'in-order' } : { status: 'gap', missing: d - 1 };
    }
    if (-d >= HISTORY) return { status: 'out-of-order' };
    if (s.seen[seq % HISTORY] === 1) return { status: 'duplicate' };
    s.seen[seq % HISTORY] = 1;
    return { status: 'out-of-order' };
  }

  private evict(): void {
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest === undefined) return;
      this.keys.delete(oldest);
    }
  }
}
