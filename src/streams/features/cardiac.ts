import type { PhysioChunk, SensorMessage } from '../contracts/messages.ts';
import { EcgBeatStream } from './ecg/beat-stream.ts';
import { ecgQuality } from './ecg/quality.ts';
import type { RrPoint } from './ecg/rr.ts';
import { RrStream } from './ecg/rr.ts';
import type { FeatureRow, WindowFeatureExtractor } from './extractor.ts';
import { hrvInWindow } from './hrv.ts';

/**
 * Cardiac features per window (measurement `cardiac`), from whichever source the vehicle has: raw ECG
 * (QRS detector), chest-strap RR intervals, or a device heart-rate channel (drivedb drives 07–11).
 *
 * Time: the QRS detector decides a beat up to `decisionDelayMs` after it (search-back), so the features of
 * a window describe the span ending `decisionDelayMs` before the window's end: heart rate over `hrWindowMs`,
 * HRV over `hrvWindowMs`. Signal quality is that of the window's own ECG samples.
 * Memory: RR points of the last `hrvWindowMs + decisionDelayMs`, ECG chunks of the current window.
 */
export interface CardiacOptions {
  readonly hrWindowMs: number;
  readonly hrvWindowMs: number;
  readonly decisionDelayMs: number;
}

export const CARDIAC_DEFAULTS: CardiacOptions = {
  hrWindowMs: 10_000,
  hrvWindowMs: 60_000,
  decisionDelayMs: 2500,
};

export class CardiacExtractor implements WindowFeatureExtractor {
  readonly measurement = 'cardiac';
  readonly stream = 'ecg' as const;
  private readonly beats = new EcgBeatStream();
  private readonly rr = new RrStream();
  private points: RrPoint[] = [];
  private hrSamples: { tUs: number; bpm: number }[] = [];
  private ecgChunks: { tUs: number; rateHz: number; samples: Float32Array }[] = [];
  private source: 'ecg' | 'rr' | 'hr-channel' | null = null;

  constructor(private readonly opts: CardiacOptions = CARDIAC_DEFAULTS) {}

  onMessage(m: SensorMessage): void {
    if (m.kind === 'rr') {
      this.source = 'rr';
      this.points.push(...this.rr.pushStrap(m));
      return;
    }
    if (m.kind !== 'physio') return;
    const ecg = m.channels.find((c) => c.kind === 'ecg');
    if (ecg !== undefined) {
      this.source = 'ecg';
      this.ecgChunks.push({ tUs: m.tUs, rateHz: ecg.rateHz, samples: ecg.samples });
      this.points.push(...this.rr.pushBeats(this.beats.pushPhysio(m)));
      return;
    }
    this.addHrChannel(m);
  }

  private addHrChannel(m: PhysioChunk): void {
    const hr = m.channels.find((c) => c.kind === 'hr');
    if (hr === undefined) return;
    this.source ??= 'hr-channel';
    hr.samples.forEach((bpm, i) => {
      // Devices report 0 (or nonsense) while they have no beat: excluded, not averaged in.
      if (Number.isFinite(bpm) && bpm >= 30 && bpm <= 220)
        this.hrSamples.push({ tUs: m.tUs + (i / hr.rateHz) * 1e6, bpm });
    });
  }

  onWindow(startUs: number, endUs: number): FeatureRow | null {
    const toUs = endUs - this.opts.decisionDelayMs * 1000;
    const horizonUs = toUs - this.opts.hrvWindowMs * 1000;
    this.points = this.points.filter((p) => p.tUs >= horizonUs);
    this.hrSamples = this.hrSamples.filter((p) => p.tUs >= toUs - this.opts.hrWindowMs * 1000);
    const windowChunks = this.ecgChunks.filter((c) => c.tUs >= startUs && c.tUs < endUs);
    this.ecgChunks = this.ecgChunks.filter((c) => c.tUs >= endUs);
    if (this.source === null) return null;

    const fields: Record<string, number | boolean> = {};
    if (this.source === 'hr-channel') {
      const inSpan = this.hrSamples.filter((p) => p.tUs < toUs);
      if (inSpan.length === 0) return null;
      fields['hr_bpm'] = inSpan.reduce((a, p) => a + p.bpm, 0) / inSpan.length;
      return { fields, tags: { source: this.source } };
    }
    const series = {
      tUs: Float64Array.from(this.points, (p) => p.tUs),
      rrMs: Float64Array.from(this.points, (p) => p.rrMs),
    };
    const hr = hrvInWindow(series, toUs - this.opts.hrWindowMs * 1000, toUs);
    const hrv = hrvInWindow(series, horizonUs, toUs);
    const put = (name: string, v: number | null) => {
      if (v !== null && Number.isFinite(v)) fields[name] = v;
    };
    put('hr_bpm', hr.meanHrBpm);
    fields['beats'] = hr.intervals;
    put('sdnn_ms', hrv.sdnnMs);
    put('rmssd_ms', hrv.rmssdMs);
    put('pnn50_pct', hrv.pnn50Pct);
    put('lf_ms2', hrv.lfMs2);
    put('hf_ms2', hrv.hfMs2);
    put('lf_hf', hrv.lfHf);
    fields['hrv_intervals'] = hrv.intervals;
    fields['rr_rejected'] = hrv.rejectedEctopic + hrv.rejectedOutOfRange;
    if (windowChunks.length > 0) {
      const rate = windowChunks[0]?.rateHz ?? 0;
      const n = windowChunks.reduce((a, c) => a + c.samples.length, 0);
      const all = new Float32Array(n);
      let at = 0;
      for (const c of windowChunks) {
        all.set(c.samples, at);
        at += c.samples.length;
      }
      const q = ecgQuality(all, rate);
      fields['ecg_usable'] = q.usable;
      fields['ecg_flat'] = q.flat.flag;
      fields['ecg_saturated'] = q.saturation.flag;
      fields['ecg_noisy'] = q.noise.flag;
      fields['ecg_electrode_off'] = q.electrodeOff.flag;
    }
    return { fields, tags: { source: this.source } };
  }
}
