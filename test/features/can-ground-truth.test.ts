/**
 * Acceptance: decoding the real RAV4 log with opendbc's DBC and the RAV4 vehicle profile reproduces comma's
 * own decoded speed and steering angle (../shared/data/can/processed_log, numpy arrays): the n-th decoded
 * frame against the n-th ground-truth sample, max abs difference ≤ 1e-6.
 *
 * How comma derived them (data README, DESIGN "CAN ground truth"): speed = mean of the four WHEEL_SPEEDS
 * signals of 0xAA ÷ 3.6 (m/s); steering angle = STEER_ANGLE + STEER_FRACTION of 0x25 (deg); both from the
 * car's bus can0 only (can1 carries radar tracks, `*tx` frames are what the logger sent). comma's `t` is
 * boot time; the candump timestamps are t + 1533180079.646 s (TIME_OFFSET.txt), which the test also checks
 * pair by pair, so the n-th/n-th pairing is proven frame-aligned rather than assumed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runCanDecode } from '../../src/cli/commands/can-decode.ts';
import type { TextSink } from '../../src/cli/commands/can-decode.ts';
import { parseDbc } from '../../src/streams/features/can/dbc.ts';
import { parseNpy, toFloat64 } from '../../src/streams/features/can/npy.ts';
import { parseVehicleProfileText } from '../../src/streams/features/can/profile.ts';
import { SignalExtractor } from '../../src/streams/features/can/signals.ts';
import { readCandumpFile } from '../../src/streams/readers/candump.ts';
import { REPO_ROOT, SHARED_SKIP, shared } from '../readers/shared-data.ts';

const TOLERANCE = 1e-6;
const TIME_OFFSET_S = 1533180079.646;
const PROFILE = `${REPO_ROOT}/devices/profiles/toyota-rav4-2018.json`;
const DBC = 'can/dbc/toyota_new_mc_pt_generated.dbc';
const LOG = 'can/rav4_2018-08-02--08-34-47_seg40.candump.log';

function truth(name: string): { t: Float64Array; v: Float64Array; shape: readonly number[] } {
  const base = `can/processed_log/CAN/${name}/`;
  const v = parseNpy(readFileSync(shared(`${base}value`)));
  const t = parseNpy(readFileSync(shared(`${base}t`)));
  return { t: toFloat64(t), v: toFloat64(v), shape: v.shape };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

describe('CAN ground truth (comma2k19 RAV4, processed_log)', { skip: SHARED_SKIP }, () => {
  test('speed, steering angle and the four wheel speeds equal comma’s arrays, n-th frame vs n-th sample', async (t) => {
    const db = parseDbc(readFileSync(shared(DBC), 'utf8'));
    const profile = parseVehicleProfileText(readFileSync(PROFILE, 'utf8'));
    const names = [
      'speed',
      'steering_angle',
      'wheel_speed_fl',
      'wheel_speed_fr',
      'wheel_speed_rl',
      'wheel_speed_rr',
    ];
    const ex = new SignalExtractor(db, names, { profile });
    const log = await readCandumpFile(shared(LOG));
    assert.equal(log.frames.length, 135_468);
    const cols: number[][] = names.map(() => []);
    const times: number[][] = names.map(() => []);
    const row = new Float64Array(names.length);
    for (const f of log.frames) {
      if (!ex.decode(f, row)) continue;
      row.forEach((v, i) => {
        if (Number.isNaN(v)) return;
        cols[i]!.push(v);
        times[i]!.push(f.tUs);
      });
    }
    const speed = truth('speed');
    const angle = truth('steering_angle');
    const wheels = truth('wheel_speed');
    assert.deepEqual([speed.shape, angle.shape, wheels.shape], [[4974, 1], [4974], [4974, 4]]);
    assert.equal(cols[0]!.length, 4974);
    assert.equal(cols[1]!.length, 4974);

    const dSpeed = maxAbsDiff(cols[0]!, speed.v);
    const dAngle = maxAbsDiff(cols[1]!, angle.v);
    // comma's wheel_speed columns are FL, FR, RL, RR (row-major (4974, 4)).
    const dWheels = [0, 1, 2, 3].map((c) =>
      maxAbsDiff(
        cols[2 + c]!,
        Array.from({ length: 4974 }, (_, i) => wheels.v[i * 4 + c]!),
      ),
    );
    t.diagnostic(`speed: 4974 samples, max |Δ| = ${dSpeed.toExponential(2)} m/s`);
    t.diagnostic(`steering angle: 4974 samples, max |Δ| = ${dAngle.toExponential(2)} deg`);
    t.diagnostic(
      `wheel speeds FL FR RL RR: max |Δ| = ${dWheels.map((d) => d.toExponential(2)).join(' ')} m/s`,
    );
    assert.ok(dSpeed <= TOLERANCE, `speed max |Δ| ${dSpeed}`);
    assert.ok(dAngle <= TOLERANCE, `steering max |Δ| ${dAngle}`);
    for (const d of dWheels) assert.ok(d <= TOLERANCE, `wheel speed max |Δ| ${d}`);

    // Alignment: every pair is the same frame (candump time = comma t + offset, to the µs).
    for (const [k, gt] of [
      [0, speed],
      [1, angle],
    ] as const) {
      let worst = 0;
      times[k]!.forEach(
        (tUs, i) => (worst = Math.max(worst, Math.abs(tUs / 1e6 - gt.t[i]! - TIME_OFFSET_S))),
      );
      t.diagnostic(
        `${names[k]}: max |candump time − (t + ${TIME_OFFSET_S})| = ${(worst * 1e6).toFixed(2)} µs`,
      );
      assert.ok(worst < 2e-6, `${names[k]} frames are not aligned with the ground truth (${worst} s)`);
    }
    // 0xAA and 0x25 appear only on can0 and are never logger-sent: nothing of theirs was skipped.
    assert.deepEqual([ex.stats.otherBus, ex.stats.txSkipped, ex.stats.framesWithoutValues], [0, 0, 0]);
  });

  test('the same through `can decode --csv` (the CLI path, CSV text with shortest round-trip numbers)', async (t) => {
    const out: string[] = [];
    const sink: TextSink = { write: (s) => (out.push(s), true), on: () => sink, off: () => sink };
    await runCanDecode(
      {
        dbcPath: shared(DBC),
        logPath: shared(LOG),
        profilePath: PROFILE,
        signals: ['speed', 'steering_angle'],
        format: 'csv',
        quiet: true,
      },
      { stdout: sink, stderr: sink },
    );
    const lines = out.join('').trimEnd().split('\n');
    assert.equal(lines[0], 'time_s,speed,steering_angle');
    const speed: number[] = [];
    const angle: number[] = [];
    for (const line of lines.slice(1)) {
      const [, s, a] = line.split(',');
      if (s !== '') speed.push(Number(s));
      if (a !== '') angle.push(Number(a));
    }
    assert.equal(lines.length - 1, 4974 * 2, 'one row per 0xAA and per 0x25 frame (never both in one frame)');
    const dSpeed = maxAbsDiff(speed, truth('speed').v);
    const dAngle = maxAbsDiff(angle, truth('steering_angle').v);
    t.diagnostic(
      `CLI CSV: speed max |Δ| = ${dSpeed.toExponential(2)}, steering max |Δ| = ${dAngle.toExponential(2)}`,
    );
    assert.ok(dSpeed <= TOLERANCE && dAngle <= TOLERANCE);
  });
});
