import type { SensorMessage } from './contracts/messages.ts';
import type { InputStream } from './contracts/topics.ts';
import type { IngestEvent } from './ingest.ts';

/**
 * Per-stream window summary: counts of messages, samples, gaps, duplicates and invalid payloads, and
 * min/mean/max/RMS per channel. A mutable accumulator, pure (no I/O, no clock).
 *
 * Channels: ECG chunks name theirs by kind (`ecg`, `eda`, `eda2` for a second EDA channel, …), RR
 * messages `rr` (ms), audio `pcm`, weather one per numeric `current` field; CAN and camera messages have
 * no sample values (frames and bytes are counted).
 */
export interface ChannelStats {
  n: number;
  min: number;
  max: number;
  sum: number;
  sumSq: number;
}

export interface StreamSummary {
  stream: InputStream;
  messages: number;
  samples: number;
  bytes: number;
  invalid: number;
  gaps: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  /** Non-finite samples (excluded from the statistics) and clipped audio samples. */
  nonFinite: number;
  clipped: number;
  channels: Map<string, ChannelStats>;
}

export function emptySummary(stream: InputStream): StreamSummary {
  return {
    stream,
    messages: 0,
    samples: 0,
    bytes: 0,
    invalid: 0,
    gaps: 0,
    missing: 0,
    duplicates: 0,
    outOfOrder: 0,
    nonFinite: 0,
    clipped: 0,
    channels: new Map(),
  };
}

function addValues(s: StreamSummary, channel: string, values: ArrayLike<number>): void {
  let c = s.channels.get(channel);
  if (c === undefined) {
    c = { n: 0, min: Infinity, max: -Infinity, sum: 0, sumSq: 0 };
    s.channels.set(channel, c);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    c.n++;
    if (v < c.min) c.min = v;
    if (v > c.max) c.max = v;
    c.sum += v;
    c.sumSq += v * v;
  }
}

function addMessage(s: StreamSummary, m: SensorMessage): void {
  switch (m.kind) {
    case 'physio': {
      const seen = new Map<string, number>();
      for (const ch of m.channels) {
        const k = (seen.get(ch.kind) ?? 0) + 1;
        seen.set(ch.kind, k);
        addValues(s, k === 1 ? ch.kind : `${ch.kind}${k}`, ch.samples);
        s.samples += ch.samples.length;
        s.nonFinite += ch.nonFinite;
      }
      return;
    }
    case 'rr':
      addValues(s, 'rr', m.rrMs);
      s.samples += m.rrMs.length;
      return;
    case 'audio':
      addValues(s, 'pcm', m.samples);
      s.samples += m.samples.length;
      s.nonFinite += m.nonFinite;
      s.clipped += m.clipped;
      return;
    case 'can':
      s.samples += m.frames.length;
      return;
    case 'camera':
      s.samples += 1;
      return;
    case 'weather':
      for (const [k, v] of Object.entries(m.current)) if (typeof v === 'number') addValues(s, k, [v]);
      s.samples += 1;
      return;
  }
}

/** Adds one ingest event of this stream to the summary. Duplicates are counted but add no data. */
export function addEvent(s: StreamSummary, ev: IngestEvent): StreamSummary {
  if (ev.kind === 'unroutable') return s;
  if (ev.kind === 'invalid') {
    s.invalid++;
    return s;
  }
  const seq = ev.seq;
  if (seq.status === 'duplicate') {
    s.duplicates++;
    return s;
  }
  if (seq.status === 'gap') {
    s.gaps++;
    s.missing += seq.missing;
  } else if (seq.status === 'out-of-order') {
    s.outOfOrder++;
  }
  s.messages++;
  s.bytes += ev.message.bytes;
  addMessage(s, ev.message);
  return s;
}

/** The stream's main channel, whose statistics go into the `window_summary` row. */
export const PRIMARY_CHANNEL: Readonly<Record<InputStream, string | null>> = {
  ecg: 'ecg',
  can: null,
  weather: 'temperature_2m',
  audio: 'pcm',
  camera: null,
};

export function channelFigures(c: ChannelStats): {
  n: number;
  min: number;
  mean: number;
  max: number;
  rms: number;
} {
  return { n: c.n, min: c.min, mean: c.sum / c.n, max: c.max, rms: Math.sqrt(c.sumSq / c.n) };
}
