/**
 * ECG feature throughput: samples/s through streaming QRS detection + RR series + HRV, on one thread (one
 * core), compared with the real-time rate one vehicle needs (500 Hz ECG).
 *
 * Input: 30 min of MIT-BIH record 100 (MLII, 360 Hz) from ../shared when present, else the committed 6 s
 * fixture looped to 30 min. The signal is fed in 1 s chunks (as messages arrive), the beats go to the RR
 * stream, and HRV (time and frequency domain) is computed once per second of signal over the trailing 120 s,
 * as a live pipeline updating every second would. One warm-up pass precedes the timed pass.
 *
 * Run alone: `node --import tsx bench/features/ecg.ts`; `npm run bench` calls `benchEcg()`.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readWfdbRecordFile } from '../../src/streams/readers/wfdb.ts';
import { EcgBeatStream } from '../../src/streams/features/ecg/beat-stream.ts';
import { RrStream } from '../../src/streams/features/ecg/rr.ts';
import type { RrPoint } from '../../src/streams/features/ecg/rr.ts';
import { computeHrv } from '../../src/streams/features/hrv.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SHARED = resolve(process.env['DRIVESENSE_SHARED_DATA'] ?? resolve(REPO, '../shared/data'));
/** The rate one vehicle's ECG must be processed at (Hz). */
const REALTIME_HZ = 500;
const DURATION_S = 30 * 60;
const HRV_WINDOW_S = 120;

async function loadSignal(): Promise<{ samples: Float32Array; rateHz: number; source: string }> {
  const full = resolve(SHARED, 'physio/mitdb/100.hea');
  if (existsSync(full)) {
    const rec = await readWfdbRecordFile(full);
    const s = rec.signals[0]!;
    return { samples: s.physical, rateHz: s.rateHz, source: 'mitdb 100 MLII (30 min, 360 Hz)' };
  }
  const rec = await readWfdbRecordFile(resolve(REPO, 'test/fixtures/readers/mitdb100-6s.hea'));
  const s = rec.signals[0]!;
  const n = Math.round(DURATION_S * s.rateHz);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += s.physical.length)
    out.set(s.physical.subarray(0, Math.min(s.physical.length, n - i)), i);
  return { samples: out, rateHz: s.rateHz, source: 'mitdb100-6s fixture looped to 30 min (360 Hz)' };
}

interface PassResult {
  beats: number;
  hrvWindows: number;
  qrsMs: number;
  hrvMs: number;
}

function pass(samples: Float32Array, rateHz: number): PassResult {
  const stream = new EcgBeatStream();
  const rrStream = new RrStream();
  const chunk = Math.round(rateHz);
  const rr: RrPoint[] = [];
  let beats = 0;
  let hrvWindows = 0;
  let qrsMs = 0;
  let hrvMs = 0;
  for (let i = 0, k = 0; i < samples.length; i += chunk, k++) {
    const t0 = performance.now();
    const b = stream.push({ samples: samples.subarray(i, i + chunk), tUs: (i / rateHz) * 1e6, rateHz });
    for (const p of rrStream.pushBeats(b)) rr.push(p);
    beats += b.length;
    const t1 = performance.now();
    // HRV over the trailing window, once per second of signal.
    const endUs = ((i + chunk) / rateHz) * 1e6;
    const startUs = endUs - HRV_WINDOW_S * 1e6;
    let first = rr.length;
    while (first > 0 && rr[first - 1]!.tUs >= startUs) first--;
    if (first > 0) rr.splice(0, first);
    computeHrv({ tUs: Float64Array.from(rr, (p) => p.tUs), rrMs: Float64Array.from(rr, (p) => p.rrMs) });
    hrvWindows++;
    const t2 = performance.now();
    qrsMs += t1 - t0;
    hrvMs += t2 - t1;
  }
  beats += stream.flush().length;
  return { beats, hrvWindows, qrsMs, hrvMs };
}

export async function benchEcg(): Promise<Record<string, unknown>> {
  const { samples, rateHz, source } = await loadSignal();
  pass(samples, rateHz); // warm-up (JIT)
  const r = pass(samples, rateHz);
  const totalMs = r.qrsMs + r.hrvMs;
  const samplesPerS = samples.length / (totalMs / 1000);
  return {
    name: 'ecg features (QRS + RR + HRV)',
    source,
    rateHz,
    samples: samples.length,
    signalSeconds: samples.length / rateHz,
    beats: r.beats,
    hrvWindows: r.hrvWindows,
    hrvWindowS: HRV_WINDOW_S,
    wallMs: Number(totalMs.toFixed(1)),
    qrsMs: Number(r.qrsMs.toFixed(1)),
    hrvMs: Number(r.hrvMs.toFixed(1)),
    samplesPerS: Math.round(samplesPerS),
    qrsOnlySamplesPerS: Math.round(samples.length / (r.qrsMs / 1000)),
    hrvMsPerWindow: Number((r.hrvMs / r.hrvWindows).toFixed(3)),
    realtimeHz: REALTIME_HZ,
    /** How many 500 Hz ECG streams one core keeps up with (QRS + RR + HRV once per second each). */
    realtimeRatio: Number((samplesPerS / REALTIME_HZ).toFixed(0)),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchEcg(), null, 2));
}
