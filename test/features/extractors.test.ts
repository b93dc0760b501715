import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, it } from 'node:test';
import type { PhysioChunk } from '../../src/streams/contracts/messages.ts';
import { decodePhysio, decodeRr, encodePhysio, encodeRr } from '../../src/streams/contracts/physio.ts';
import { decodeWeather, encodeWeather } from '../../src/streams/contracts/weather.ts';
import { decodeCanBatch, encodeCanBatch } from '../../src/streams/contracts/can.ts';
import { loadCanProfile } from '../../src/streams/features/can/load.ts';
import { SignalExtractor } from '../../src/streams/features/can/signals.ts';
import { CardiacExtractor } from '../../src/streams/features/cardiac.ts';
import { DrivingExtractor } from '../../src/streams/features/driving-extractor.ts';
import { ContextExtractor } from '../../src/streams/features/context.ts';
import type { Drive } from '../../src/streams/readers/sample-drive.ts';
import { loadDrive } from '../../src/streams/readers/sample-drive.ts';
import { T0_US } from '../support/fixtures.ts';

/** The extractors on the committed sample drive (60 s of drivedb drive05, highway: ECG 496 Hz, HR channel). */
let drive: Drive;
before(async () => {
  drive = await loadDrive(fileURLToPath(new URL('../../devices/sample-drive', import.meta.url)));
});

/** The drive's ECG (and its device HR channel, `withHr`) as 250 ms wire chunks, through the real codec. */
function chunks(opts: { withEcg: boolean; withHr: boolean; flatFromS?: number }): PhysioChunk[] {
  const ecg = drive.ecg;
  assert.ok(ecg);
  const byKind = (k: string) => ecg.channels.find((c) => c.kind === k);
  const e = byKind('ecg');
  const hr = byKind('hr');
  assert.ok(e && hr);
  const out: PhysioChunk[] = [];
  for (let k = 0; k * 0.25 < ecg.durationUs / 1e6; k++) {
    const slice = (c: { rateHz: number; samples: Float32Array }) =>
      c.samples.slice(Math.round(k * 0.25 * c.rateHz), Math.round((k + 1) * 0.25 * c.rateHz));
    const ecgSamples = slice(e);
    if (opts.flatFromS !== undefined && k * 0.25 >= opts.flatFromS) ecgSamples.fill(0.1);
    const channels = [
      ...(opts.withEcg ? [{ kind: 'ecg' as const, rateHz: e.rateHz, samples: ecgSamples }] : []),
      ...(opts.withHr ? [{ kind: 'hr' as const, rateHz: hr.rateHz, samples: slice(hr) }] : []),
    ];
    out.push(
      decodePhysio(
        encodePhysio({ sessionId: 1, seq: k, tUs: ecg.tUs + k * 250_000, sampleFormat: 'float32', channels }),
      ),
    );
  }
  return out;
}

function run(x: CardiacExtractor, input: PhysioChunk[]) {
  const t0 = drive.ecg?.tUs ?? 0;
  const rows = [];
  let next = 1;
  for (const c of input) {
    x.onMessage(c);
    while (c.endUs >= t0 + next * 1e6) {
      rows.push({ s: next, row: x.onWindow(t0 + (next - 1) * 1e6, t0 + next * 1e6) });
      next++;
    }
  }
  return rows;
}

function deviceHr(fromS: number, toS: number): number {
  const hr = drive.ecg?.channels.find((c) => c.kind === 'hr');
  assert.ok(hr);
  const xs = Array.from(hr.samples.slice(Math.round(fromS * hr.rateHz), Math.round(toS * hr.rateHz))).filter(
    (v) => v > 30,
  );
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

it('heart rate from the ECG follows the device HR channel; HRV and quality are reported', () => {
  const rows = run(new CardiacExtractor(), chunks({ withEcg: true, withHr: true }));
  assert.equal(rows.length, 60);
  for (const { s, row } of rows.filter((r) => r.s >= 15)) {
    assert.ok(row);
    assert.equal(row.tags?.['source'], 'ecg');
    const hr = row.fields['hr_bpm'] as number;
    // The row describes the 10 s ending 2.5 s before the window end.
    const expected = deviceHr(s - 12.5, s - 2.5);
    assert.ok(Math.abs(hr - expected) < 3, `${s} s: ${hr.toFixed(1)} vs device ${expected.toFixed(1)} bpm`);
    assert.equal(row.fields['ecg_usable'], true);
    assert.ok((row.fields['rmssd_ms'] as number) > 0 && (row.fields['sdnn_ms'] as number) > 0);
  }
  const last = rows.at(-1)?.row;
  assert.ok(last && typeof last.fields['hf_ms2'] === 'number', 'HF needs ≥ 13 s of RR: present after 60 s');
});

it('an ECG gone flat is flagged in its windows and beats stop counting', () => {
  const rows = run(new CardiacExtractor(), chunks({ withEcg: true, withHr: false, flatFromS: 30 }));
  const at = (s: number) => rows.find((r) => r.s === s)?.row;
  assert.equal(at(20)?.fields['ecg_flat'], false);
  assert.equal(at(45)?.fields['ecg_flat'], true);
  assert.equal(at(45)?.fields['ecg_usable'], false);
  assert.equal(at(50)?.fields['beats'], 0, 'no beats in the 10 s ending at 47.5 s');
  assert.equal(at(50)?.fields['hr_bpm'], undefined, 'no heart rate rather than a made-up one');
});

it('uses the device HR channel when there is no raw ECG (drivedb drives 07–11)', () => {
  const rows = run(new CardiacExtractor(), chunks({ withEcg: false, withHr: true }));
  const row = rows.find((r) => r.s === 30)?.row;
  assert.equal(row?.tags?.['source'], 'hr-channel');
  assert.ok(Math.abs((row?.fields['hr_bpm'] as number) - deviceHr(17.5, 27.5)) < 0.5);
});

it('takes chest-strap RR intervals directly', () => {
  const x = new CardiacExtractor();
  // 800 ms beats for 30 s: 75 bpm, no variability.
  for (let m = 0; m < 3; m++) {
    const rrMs = Array.from({ length: 12 }, () => 800);
    x.onMessage(decodeRr(encodeRr({ sessionId: 5, seq: m, tUs: T0_US + m * 12 * 800_000, rrMs })));
  }
  const row = x.onWindow(T0_US + 29_000_000, T0_US + 30_000_000);
  assert.equal(row?.tags?.['source'], 'rr');
  assert.equal(row?.fields['hr_bpm'], 75);
  assert.equal(row?.fields['rmssd_ms'], 0);
  assert.equal(row?.fields['ecg_usable'], undefined, 'no ECG samples, no ECG quality');
});

it('context rows come once per observation, at its time, with missing fields left out', () => {
  const x = new ContextExtractor();
  assert.equal(x.onWindow(), null);
  x.onMessage(
    decodeWeather(
      encodeWeather({
        v: 1,
        session: 1,
        seq: 1,
        tUs: T0_US,
        current: { temperature_2m: 12, weather_code: 45 },
      }),
    ),
  );
  const row = x.onWindow();
  assert.equal(row?.tUs, T0_US);
  assert.equal(row?.fields['temperature_c'], 12);
  assert.equal(row?.fields['wmo_fog'], 1);
  assert.equal(row?.fields['wmo_category'], 'fog');
  assert.equal(row?.fields['wind_speed_ms'], undefined);
  assert.ok((row?.fields['missing'] as number) >= 5);
  assert.equal(x.onWindow(), null, 'reported once');
});

it('driving features from the sample drive’s CAN through the wire codec match a direct decode of the log', async () => {
  const resources = await loadCanProfile(
    fileURLToPath(new URL('../../devices/profiles/toyota-rav4-2018.json', import.meta.url)),
  );
  const can = drive.can;
  assert.ok(can);
  const x = new DrivingExtractor(resources, { spanMs: 10_000 });
  const t0 = can.frames[0]?.tUs ?? 0;
  const endUs = t0 + 12_000_000;
  // 100 ms batches on the wire, bus numbers from the interface names (can0 → 0, can1 → 1).
  const frames = can.frames.filter((f) => f.tUs < endUs);
  for (let i = 0; i < frames.length;) {
    let j = i;
    while (j < frames.length && j - i < 300 && (frames[j]?.tUs ?? 0) < (frames[i]?.tUs ?? 0) + 100_000) j++;
    const batch = frames.slice(i, j).map((f) => ({ ...f, bus: Number(f.bus.replace('can', '')) }));
    x.onMessage(decodeCanBatch(encodeCanBatch({ sessionId: 1, seq: i, frames: batch })));
    i = j;
  }
  const row = x.onWindow(endUs - 1_000_000, endUs);
  assert.ok(row);
  // Independently: decode the log's own frames (bus names as logged) and average speed over the span.
  const direct = new SignalExtractor(resources.db, ['speed'], { profile: resources.profile });
  const out = new Float64Array(1);
  const speeds: number[] = [];
  for (const f of frames) {
    if (f.tUs >= endUs - 10_000_000 && direct.decode(f, out) && !Number.isNaN(out[0] as number))
      speeds.push(out[0] as number);
  }
  const mean = speeds.reduce((a, b) => a + b, 0) / speeds.length;
  assert.ok(speeds.length > 500, `${speeds.length} speed samples`);
  assert.ok(
    Math.abs((row.fields['speed_mean'] as number) - mean) < 1e-9,
    `${row.fields['speed_mean']} vs ${mean}`,
  );
  assert.ok(mean > 10 && mean < 40, 'a highway speed in m/s');
  assert.equal(row.fields['status'], 'ok');
  assert.equal(typeof row.fields['steering_entropy'], 'number');
  assert.equal(x.onWindow(endUs + 60_000_000, endUs + 61_000_000), null, 'nothing in the span: no row');
});
