/**
 * Replays a drivedb record as the sensor messages a car would publish (pure), so training, evaluation and
 * the live pipeline share the input path (`StressMessageSource` → `StressInputBuilder`).
 *
 * Channels go out in chunks of `chunkS`, one physio message per rate group (as the contracts allow),
 * stamped `t0Us + i0 / rate`: raw ECG when the record's HR comes from QRS detection, else the device HR
 * channel; EDA (foot then hand, drivedb's order; hand alone when only one); respiration. The marker channel
 * is never sent.
 * Replay starts at `fromS` (evaluation: the initial rest, where calibration begins).
 */
import type { PhysioChannelKind, PhysioChunk } from '../../streams/contracts/messages.ts';
import type { StressRecord, UniformSeries } from './records.ts';

/** Event time of a replayed record's second 0 (any fixed epoch works; this is 2026-01-14T21:00:00Z). */
export const REPLAY_T0_US = 1_768_424_400_000_000;

export interface ReplayOptions {
  readonly fromS?: number;
  readonly toS?: number;
  readonly chunkS?: number;
  readonly t0Us?: number;
  /** Replace a channel's samples (fault injection in the sensor-failure study). */
  readonly transform?: (kind: PhysioChannelKind, s: UniformSeries) => UniformSeries;
}

/** One second's worth (chunkS) of messages at a time, in time order: [fromS + k·chunkS, … + chunkS). */
export function* replayRecord(
  rec: StressRecord,
  options: ReplayOptions = {},
): Generator<{
  readonly endS: number;
  readonly messages: readonly PhysioChunk[];
}> {
  const chunkS = options.chunkS ?? 1;
  const fromS = options.fromS ?? 0;
  const toS = Math.min(options.toS ?? rec.durationS, rec.durationS);
  const t0Us = options.t0Us ?? REPLAY_T0_US;
  const tf = options.transform ?? ((_k: PhysioChannelKind, s: UniformSeries) => s);
  const channels: { kind: PhysioChannelKind; s: UniformSeries }[] = [];
  if (rec.ecg !== undefined) channels.push({ kind: 'ecg', s: tf('ecg', rec.ecg) });
  else if (rec.hrChannel !== undefined) channels.push({ kind: 'hr', s: tf('hr', rec.hrChannel) });
  // EDA as drivedb orders it (foot, hand); a single EDA channel is the hand site (source.ts).
  if (rec.footGsr !== undefined && rec.handGsr !== undefined)
    channels.push({ kind: 'eda', s: tf('eda', rec.footGsr) });
  if (rec.handGsr !== undefined) channels.push({ kind: 'eda', s: tf('eda', rec.handGsr) });
  if (rec.resp !== undefined) channels.push({ kind: 'resp', s: tf('resp', rec.resp) });
  // One message per rate group, channels in the order above.
  const groups = new Map<number, typeof channels>();
  for (const c of channels) groups.set(c.s.rateHz, [...(groups.get(c.s.rateHz) ?? []), c]);
  let seq = 0;
  for (let a = fromS; a < toS - 1e-9; a += chunkS) {
    const b = Math.min(toS, a + chunkS);
    const messages: PhysioChunk[] = [];
    for (const [rateHz, group] of groups) {
      const i0 = Math.max(0, Math.ceil(a * rateHz - 1e-9));
      const i1 = Math.ceil(b * rateHz - 1e-9);
      const out = group
        .map(({ kind, s }) => {
          const samples = s.samples.subarray(Math.min(i0, s.samples.length), Math.min(i1, s.samples.length));
          let nonFinite = 0;
          for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i]!)) nonFinite++;
          return { kind, rateHz, samples, nonFinite };
        })
        .filter((c) => c.samples.length === i1 - i0);
      if (out.length === 0 || i1 <= i0) continue;
      messages.push({
        kind: 'physio',
        sessionId: 1,
        seq: seq++,
        tUs: t0Us + (i0 / rateHz) * 1e6,
        endUs: t0Us + (i1 / rateHz) * 1e6,
        bytes: out.reduce((n, c) => n + c.samples.length * 4, 0),
        sampleFormat: 'float32',
        channels: out,
      });
    }
    yield { endS: b, messages };
  }
}
