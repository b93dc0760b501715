/**
 * ECG acceptance on the real recordings in ../shared/data (skipped when it is absent):
 * - QRS detection on MIT-BIH 100 and QT database sel100, sel16265, sel16272: Se and +P ≥ 99.5 % (AAMI beat
 *   annotations, whole record, ±150 ms), one parameter set for all;
 * - the full MIT-BIH 100 record streamed in random chunk sizes gives exactly the whole-record beats;
 * - drivedb drive05 and drive06 (496 Hz ECG): detected heart rate vs the record's own HR channel, median
 *   absolute difference ≤ 2 bpm;
 * - signal quality: clean records are usable throughout; drive05's disconnected stretch is flagged flat.
 *
 * How detected and device heart rate are aligned (drivedb):
 * - Ours: instantaneous HR (60 000 / RR) of each NN interval (rr.ts rule: 300–2000 ms, within 20 % of the
 *   local median), stamped with the beat that ends the interval.
 * - Device: the HR channel (15.5 Hz, bpm) holds the device's beat-to-beat HR, updated when it detects a beat.
 *   Samples ≤ 0 (dropouts; drive05 has 4632 zero frames while its ECG is disconnected) and values outside
 *   30–220 bpm are excluded and counted.
 * - Latency: the device publishes a beat's HR some time after the R peak. It is measured, not assumed: the
 *   median over our beats of (first change of the HR channel after the beat − beat time), counting changes
 *   within 1.5 s (≈ 0.3 s on both drives). The HR channel's times are moved earlier by it.
 * - Per-second medians of both; seconds where either side has no value are excluded (counted); the figure is
 *   the median over seconds of |ours − device|. As a check free of any latency estimate, the same is done on
 *   5 s windows without the shift.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readWfdbRecordFile } from '../../src/streams/readers/wfdb.ts';
import { EcgBeatStream, detectBeats } from '../../src/streams/features/ecg/beat-stream.ts';
import type { EcgBeat } from '../../src/streams/features/ecg/beat-stream.ts';
import { classifyRr, rrFromBeats } from '../../src/streams/features/ecg/rr.ts';
import { ecgQuality } from '../../src/streams/features/ecg/quality.ts';
import { evalQrs } from '../../src/cli/commands/eval-qrs.ts';
import { SHARED_SKIP, shared } from '../readers/shared-data.ts';

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

describe('QRS detection on MIT-BIH and QT database records', { skip: SHARED_SKIP }, () => {
  for (const rec of ['mitdb/100', 'qtdb/sel100', 'qtdb/sel16265', 'qtdb/sel16272']) {
    test(`${rec}: Se and +P ≥ 99.5 %`, async (t) => {
      const r = await evalQrs({ record: shared(`physio/${rec}`) });
      t.diagnostic(
        `${rec} ${r.signal.name} ${r.signal.rateHz} Hz: Se ${(100 * r.sensitivity!).toFixed(2)} % ` +
          `+P ${(100 * r.positivePredictivity!).toFixed(2)} % TP ${r.tp} FN ${r.fn} FP ${r.fp} ` +
          `(reference ${r.reference}, detected ${r.detected}, search-back ${r.searchBackBeats}, ` +
          `mean |error| ${r.meanAbsErrorMs!.toFixed(1)} ms)`,
      );
      assert.ok(r.reference > 800, 'reference beats were read');
      assert.ok(r.sensitivity! >= 0.995, `Se ${r.sensitivity}`);
      assert.ok(r.positivePredictivity! >= 0.995, `+P ${r.positivePredictivity}`);
    });
  }
});

describe('streaming on a full record', { skip: SHARED_SKIP }, () => {
  test('mitdb 100 in random chunk sizes (1–4000 samples) gives exactly the whole-record beats', async () => {
    const rec = await readWfdbRecordFile(shared('physio/mitdb/100.hea'));
    const x = rec.signals[0]!.physical;
    const t0 = 1_600_000_000_000_000;
    const whole = detectBeats(x, 360, t0);
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const stream = new EcgBeatStream();
    const got: EcgBeat[] = [];
    for (let i = 0; i < x.length;) {
      const n = 1 + Math.floor(next() * 4000);
      got.push(...stream.push({ samples: x.subarray(i, i + n), tUs: t0 + (i * 1e6) / 360, rateHz: 360 }));
      i += n;
    }
    got.push(...stream.flush());
    assert.equal(got.length, 2273);
    assert.deepEqual(got, whole);
  });
});

interface HrComparison {
  latencyS: number;
  perSecond: { median: number; p90: number; compared: number; excluded: number };
  fiveSecondNoShift: { median: number; compared: number };
  deviceZero: number;
  deviceImplausible: number;
  beats: number;
  rejectedIntervals: number;
  seconds: number;
}

/** Compares detected HR with the drivedb HR channel as documented at the top of this file. */
async function compareWithDeviceHr(name: string): Promise<HrComparison> {
  const rec = await readWfdbRecordFile(shared(`physio/drivedb/${name}.hea`));
  const ecg = rec.signals.find((s) => s.name === 'ECG')!;
  const hr = rec.signals.find((s) => s.name === 'HR')!;
  assert.equal(ecg.rateHz, 496);
  const beats = detectBeats(ecg.physical, ecg.rateHz);
  const rr = rrFromBeats(beats);
  const cls = classifyRr(rr.rrMs);
  const ours: { tS: number; bpm: number }[] = [];
  for (let i = 0; i < rr.rrMs.length; i++) {
    if (cls.kept[i] === 1) ours.push({ tS: rr.tUs[i]! / 1e6, bpm: 60_000 / rr.rrMs[i]! });
  }
  // Device samples and their exclusions.
  let deviceZero = 0;
  let deviceImplausible = 0;
  const device: { tS: number; bpm: number }[] = [];
  for (let i = 0; i < hr.physical.length; i++) {
    const v = hr.physical[i]!;
    if (!(v > 0)) deviceZero++;
    else if (v < 30 || v > 220) deviceImplausible++;
    else device.push({ tS: i / hr.rateHz, bpm: v });
  }
  // Device latency: first change of the channel after each of our beats (within 1.5 s).
  const changes: number[] = [];
  for (let i = 1; i < hr.physical.length; i++)
    if (hr.physical[i] !== hr.physical[i - 1]) changes.push(i / hr.rateHz);
  const lags: number[] = [];
  let j = 0;
  for (const b of beats) {
    const t = b.tUs / 1e6;
    while (j < changes.length && changes[j]! < t) j++;
    if (j < changes.length && changes[j]! - t <= 1.5) lags.push(changes[j]! - t);
  }
  const latencyS = median(lags);
  const seconds = Math.floor(ecg.physical.length / ecg.rateHz);
  const compare = (windowS: number, shiftS: number): number[] => {
    const n = Math.floor(seconds / windowS);
    const a: number[][] = Array.from({ length: n }, () => []);
    const d: number[][] = Array.from({ length: n }, () => []);
    for (const p of ours) {
      const k = Math.floor(p.tS / windowS);
      if (k < n) a[k]!.push(p.bpm);
    }
    for (const p of device) {
      const k = Math.floor((p.tS - shiftS) / windowS);
      if (k >= 0 && k < n) d[k]!.push(p.bpm);
    }
    const diffs: number[] = [];
    for (let k = 0; k < n; k++)
      if (a[k]!.length > 0 && d[k]!.length > 0) diffs.push(Math.abs(median(a[k]!) - median(d[k]!)));
    return diffs;
  };
  const perSecond = compare(1, latencyS).sort((x, y) => x - y);
  const five = compare(5, 0);
  return {
    latencyS,
    perSecond: {
      median: median(perSecond),
      p90: perSecond[Math.floor(0.9 * perSecond.length)]!,
      compared: perSecond.length,
      excluded: seconds - perSecond.length,
    },
    fiveSecondNoShift: { median: median(five), compared: five.length },
    deviceZero,
    deviceImplausible,
    beats: beats.length,
    rejectedIntervals: cls.outOfRange + cls.ectopic,
    seconds,
  };
}

describe('drivedb: detected heart rate vs the device HR channel', { skip: SHARED_SKIP }, () => {
  for (const name of ['drive05', 'drive06']) {
    test(`${name}: median |detected − device| ≤ 2 bpm (per-second medians)`, async (t) => {
      const c = await compareWithDeviceHr(name);
      t.diagnostic(
        `${name}: ${c.beats} beats over ${c.seconds} s, ${c.rejectedIntervals} RR intervals rejected; device ` +
          `latency ${(1000 * c.latencyS).toFixed(0)} ms; per second: median |Δ| ${c.perSecond.median.toFixed(2)} ` +
          `bpm, p90 ${c.perSecond.p90.toFixed(2)} bpm, ${c.perSecond.compared} s compared, ` +
          `${c.perSecond.excluded} s excluded; 5 s windows without shift: median |Δ| ` +
          `${c.fiveSecondNoShift.median.toFixed(2)} bpm; device samples excluded: ${c.deviceZero} zero, ` +
          `${c.deviceImplausible} outside 30–220 bpm`,
      );
      assert.ok(c.latencyS > 0 && c.latencyS < 1, `device latency ${c.latencyS} s`);
      assert.ok(c.perSecond.median <= 2, `median ${c.perSecond.median} bpm`);
      assert.ok(c.fiveSecondNoShift.median <= 2, `5 s median ${c.fiveSecondNoShift.median} bpm`);
      // Most of the drive is compared (drive05 loses its ~300 s disconnection).
      assert.ok(
        c.perSecond.compared >= 0.9 * c.seconds,
        `${c.perSecond.compared} of ${c.seconds} s compared`,
      );
    });
  }
});

describe('signal quality on real records', { skip: SHARED_SKIP }, () => {
  test('mitdb 100 and the QT records: every 10 s window usable', async () => {
    for (const rec of ['mitdb/100', 'qtdb/sel100', 'qtdb/sel16265', 'qtdb/sel16272']) {
      const r = await readWfdbRecordFile(shared(`physio/${rec}.hea`));
      const s = r.signals[0]!;
      const w = Math.round(10 * s.rateHz);
      for (let i = 0; i + w <= s.physical.length; i += w) {
        const q = ecgQuality(s.physical.subarray(i, i + w), s.rateHz);
        assert.ok(q.usable, `${rec} at ${i / s.rateHz} s: ${JSON.stringify(q)}`);
      }
    }
  });

  test('drive05: the disconnected stretch (1890–2180 s) is flagged flat and yields no beats', async () => {
    const r = await readWfdbRecordFile(shared('physio/drivedb/drive05.hea'));
    const ecg = r.signals.find((s) => s.name === 'ECG')!;
    const w = Math.round(10 * ecg.rateHz);
    for (let s = 1890; s < 2180; s += 10) {
      const i = Math.round(s * ecg.rateHz);
      const q = ecgQuality(ecg.physical.subarray(i, i + w), ecg.rateHz);
      assert.equal(q.flat.flag, true, `window at ${s} s`);
      assert.equal(q.usable, false);
    }
    const beats = detectBeats(ecg.physical, ecg.rateHz).filter((b) => b.tUs >= 1890e6 && b.tUs < 2180e6);
    assert.equal(beats.length, 0);
  });
});
