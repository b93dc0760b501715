import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alertSchema } from '../../src/streams/contracts/outputs.ts';
import type { StressAlert, StressEstimate } from '../../src/streams/contracts/outputs.ts';
import {
  StressAlertRule,
  stressAlertInput,
  stressAlertOptionsSchema,
} from '../../src/streams/rules/stress-alert.ts';
import type { StressAlertInput, StressAlertOptionsInput } from '../../src/streams/rules/stress-alert.ts';
import { T0_US } from '../support/fixtures.ts';

/** An estimate `s` seconds after T0 with P(high) = p. */
const at = (s: number, p: number): StressAlertInput => ({
  tUs: T0_US + Math.round(s * 1e6),
  pHigh: p,
  level: p >= 0.5 ? 'high' : 'low',
  confidence: 0.9,
});
const us = (s: number): number => T0_US + Math.round(s * 1e6);

/** Feeds P(high) = p every `stepS` seconds over [fromS, toS]; returns the alerts with the time they came at. */
function run(
  rule: StressAlertRule,
  fromS: number,
  toS: number,
  p: number | ((s: number) => number),
  stepS = 1,
) {
  const out: StressAlert[] = [];
  for (let s = fromS; s <= toS + 1e-9; s += stepS) {
    out.push(...rule.onEstimate(at(s, typeof p === 'number' ? p : p(s))));
  }
  return out;
}

test('raises exactly when P(high) ≥ raise has lasted raiseAfterS, not a microsecond earlier', () => {
  const rule = new StressAlertRule('car-7');
  assert.deepEqual(run(rule, 0, 29, 0.7), []);
  assert.deepEqual(rule.onEstimate({ ...at(30, 0.6), tUs: us(30) - 1 }), [], 'one µs short of 30 s');
  const alerts = rule.onEstimate(at(30, 0.6));
  assert.equal(alerts.length, 1);
  const a = alerts[0];
  assert.ok(a);
  assert.deepEqual(alertSchema.parse(a), a);
  assert.equal(a.kind, 'stress_high');
  assert.equal(a.state, 'raised');
  assert.equal(a.vehicleId, 'car-7');
  assert.equal(a.tUs, us(30));
  assert.equal(a.sinceUs, us(0));
  // 30 estimates at 0.7, then 0.6 twice (P = raise threshold counts: ≥).
  assert.ok(Math.abs(a.probability - (30 * 0.7 + 2 * 0.6) / 32) < 1e-12, String(a.probability));
  assert.match(a.message, /P\(high\) ≥ 0.6 for 30.0 s/);
  assert.equal(rule.active, true);
  // Staying high raises nothing more.
  assert.deepEqual(run(rule, 31, 200, 0.9), []);
  assert.deepEqual(rule.stats, { accepted: 32 + 170, outOfOrder: 0, invalid: 0, raised: 1, cleared: 0 });
});

test('raiseAfterS 0 raises on the first estimate at or above the threshold', () => {
  const rule = new StressAlertRule('v', { raiseAfterS: 0 });
  assert.deepEqual(rule.onEstimate(at(0, 0.59)), []);
  assert.equal(rule.onEstimate(at(1, 0.6))[0]?.state, 'raised');
});

test('no flapping: values between the thresholds keep the state, dips below raise restart the run', () => {
  const rule = new StressAlertRule('v');
  // Hovering around the raise threshold (0.59 / 0.61 alternating) never gives 30 s uninterrupted.
  assert.deepEqual(
    run(rule, 0, 600, (s) => (s % 10 === 9 ? 0.59 : 0.61)),
    [],
  );
  assert.equal(rule.active, false);
  // The last dip was at 599 s: 0.61 from 600 s on raises at 630 s.
  const raised = run(rule, 601, 631, 0.61);
  assert.deepEqual(
    raised.map((a) => [a.state, a.sinceUs, a.tUs]),
    [['raised', us(600), us(630)]],
  );
  // In the band (0.4 ≤ P < 0.6) for ten minutes: stays raised.
  assert.deepEqual(
    run(rule, 632, 1232, (s) => 0.4 + (s % 20) / 100),
    [],
  );
  // Hovering around the clear threshold (0.39 / 0.41) never gives 30 s below it.
  assert.deepEqual(
    run(rule, 1233, 1833, (s) => (s % 10 === 0 ? 0.41 : 0.39)),
    [],
  );
  assert.equal(rule.active, true);
  assert.deepEqual(rule.stats.raised, 1);
});

test('a gap longer than maxGapS breaks a run; a gap of exactly maxGapS does not', () => {
  const rule = new StressAlertRule('v', { maxGapS: 5 });
  assert.deepEqual(run(rule, 0, 20, 0.8), []);
  // 20 s → 26 s: 6 s without estimates; the run restarts at 26 s.
  assert.deepEqual(run(rule, 26, 55, 0.8), []);
  assert.deepEqual(
    rule.onEstimate(at(56, 0.8)).map((a) => [a.state, a.sinceUs]),
    [['raised', us(26)]],
  );
  // Clearing: a gap breaks the low run too.
  assert.deepEqual(run(rule, 57, 70, 0.1), []);
  assert.deepEqual(run(rule, 75.000001, 105, 0.1), []);
  assert.equal(rule.onEstimate(at(105.000001, 0.1))[0]?.state, 'cleared');

  const exact = new StressAlertRule('v', { maxGapS: 5 });
  assert.deepEqual(run(exact, 0, 25, 0.8, 5), []);
  assert.deepEqual(
    exact.onEstimate(at(30, 0.8)).map((a) => [a.state, a.sinceUs]),
    [['raised', us(0)]],
  );
});

test('clears after clearAfterS below the clear threshold, then needs a fresh raiseAfterS to raise again', () => {
  const rule = new StressAlertRule('car-7', { raiseAfterS: 10, clearAfterS: 20 });
  assert.equal(run(rule, 0, 10, 0.9).length, 1);
  // Below clear from 11 s, interrupted at 20 s by a value in the band: the run restarts at 21 s.
  assert.deepEqual(
    run(rule, 11, 40, (s) => (s === 20 ? 0.5 : 0.2)),
    [],
  );
  const cleared = rule.onEstimate(at(41, 0.2));
  assert.equal(cleared.length, 1);
  const c = cleared[0];
  assert.ok(c);
  assert.deepEqual(alertSchema.parse(c), c);
  assert.equal(c.state, 'cleared');
  assert.equal(c.sinceUs, us(21));
  assert.equal(c.tUs, us(41));
  assert.ok(Math.abs(c.probability - 0.2) < 1e-12);
  assert.match(c.message, /no longer high: P\(high\) < 0.4 for 20.0 s/);
  assert.equal(rule.active, false);
  // High again right away: nothing until 10 s of it.
  assert.deepEqual(run(rule, 42, 51, 0.9), []);
  assert.deepEqual(
    rule.onEstimate(at(52, 0.9)).map((a) => [a.state, a.sinceUs]),
    [['raised', us(42)]],
  );
  assert.deepEqual(rule.stats, { accepted: 53, outOfOrder: 0, invalid: 0, raised: 2, cleared: 1 });
});

test('out-of-order and invalid estimates are ignored and counted', () => {
  const rule = new StressAlertRule('v');
  assert.deepEqual(run(rule, 0, 20, 0.8), []);
  assert.deepEqual(rule.onEstimate(at(20, 0.1)), [], 'same tUs as the last one');
  assert.deepEqual(rule.onEstimate(at(3, 0.1)), [], 'older');
  assert.deepEqual(rule.onEstimate({ ...at(21, 0.8), tUs: Number.NaN }), []);
  assert.deepEqual(rule.onEstimate(at(21, Number.NaN)), []);
  assert.deepEqual(rule.onEstimate(at(22, Number.POSITIVE_INFINITY)), []);
  assert.deepEqual(rule.onEstimate(at(23, 1.5)), []);
  assert.deepEqual(rule.onEstimate(at(24, -0.1)), []);
  // None of them broke the run (the ignored ones left no gap > 5 s either).
  assert.deepEqual(run(rule, 25, 29, 0.8), []);
  assert.equal(rule.onEstimate(at(30, 0.8))[0]?.sinceUs, us(0));
  assert.deepEqual(rule.stats, { accepted: 27, outOfOrder: 3, invalid: 4, raised: 1, cleared: 0 });
});

test('stressAlertInput takes P(high) from a published estimate', () => {
  const e: StressEstimate = {
    v: 1,
    vehicleId: 'v',
    tUs: T0_US,
    windowS: 60,
    level: 'high',
    probabilities: { low: 0.1, medium: 0.2, high: 0.7 },
    confidence: 0.8,
    modalities: { hr: 'used', eda: 'used', resp: 'absent', vehicle: 'used', context: 'masked' },
    faults: [],
    model: 'm',
  };
  assert.deepEqual(stressAlertInput(e), { tUs: T0_US, pHigh: 0.7, level: 'high', confidence: 0.8 });
});

test('options: defaults, and RangeError with the offending option for bad values', () => {
  assert.deepEqual(new StressAlertRule('v').options, {
    raiseProbability: 0.6,
    clearProbability: 0.4,
    raiseAfterS: 30,
    clearAfterS: 30,
    maxGapS: 5,
  });
  assert.deepEqual(stressAlertOptionsSchema.parse({}), new StressAlertRule('v').options);
  const bad: [StressAlertOptionsInput, RegExp][] = [
    [{ clearProbability: 0.6 }, /clearProbability: must be < raiseProbability \(hysteresis\)/],
    [{ raiseProbability: 0.3 }, /clearProbability: must be < raiseProbability/],
    [{ raiseProbability: 1.1 }, /raiseProbability: must be ≤ 1/],
    [{ clearProbability: 0 }, /clearProbability: must be > 0/],
    [{ raiseAfterS: -1 }, /raiseAfterS: must be ≥ 0/],
    [{ clearAfterS: -0.5 }, /clearAfterS: must be ≥ 0/],
    [{ maxGapS: 0 }, /maxGapS: must be > 0/],
    [{ raiseAfterS: Number.NaN }, /raiseAfterS/],
    [{ maxGapS: Number.POSITIVE_INFINITY }, /maxGapS/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => new StressAlertRule('v', options),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
      JSON.stringify(options),
    );
  }
});

test('the options schema and the constructor accept the same options (property)', () => {
  const num = fc.oneof(
    fc.constantFrom(-1, 0, 0.4, 0.6, 1, 1.5, 5, 30, Number.NaN),
    fc.double({ min: -2, max: 60, noNaN: true }),
  );
  const options = fc.record(
    { raiseProbability: num, clearProbability: num, raiseAfterS: num, clearAfterS: num, maxGapS: num },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(options, (o) => {
      let threw = false;
      try {
        new StressAlertRule('v', o);
      } catch (e) {
        assert.ok(e instanceof RangeError);
        threw = true;
      }
      assert.equal(threw, !stressAlertOptionsSchema.safeParse(o).success);
    }),
  );
});

test('alerts alternate raised/cleared and each follows a full uninterrupted run (property)', () => {
  const step = fc.record({
    dtMs: fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 1, max: 1000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 9000 }) },
      { weight: 1, arbitrary: fc.integer({ min: -3000, max: 0 }) },
    ),
    p: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(0, 0.29, 0.3, 0.39, 0.4, 0.41, 0.59, 0.6, 0.61, 0.7, 0.9, 1) },
      { weight: 3, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -0.5, 2) },
    ),
    // Long stretches of one regime so that runs do complete.
    repeat: fc.integer({ min: 1, max: 40 }),
  });
  const opts = fc.record({
    raiseProbability: fc.constantFrom(0.6, 0.7, 0.9),
    clearProbability: fc.constantFrom(0.3, 0.4, 0.5),
    raiseAfterS: fc.constantFrom(0, 1, 5, 10),
    clearAfterS: fc.constantFrom(0, 1, 5, 10),
    maxGapS: fc.constantFrom(0.5, 2, 5),
  });
  fc.assert(
    fc.property(opts, fc.array(step, { minLength: 10, maxLength: 60 }), (o, steps) => {
      const rule = new StressAlertRule('v', o);
      const accepted: { tUs: number; p: number }[] = [];
      const alerts: { alert: StressAlert; index: number }[] = [];
      let tMs = 0;
      let outOfOrder = 0;
      let invalid = 0;
      for (const s of steps) {
        for (let r = 0; r < s.repeat; r++) {
          tMs += r === 0 ? s.dtMs : Math.abs(s.dtMs) + 1;
          const tUs = T0_US + tMs * 1000;
          const last = accepted[accepted.length - 1];
          const out = rule.onEstimate({ tUs, pHigh: s.p, level: 'x', confidence: 1 });
          if (last !== undefined && tUs <= last.tUs) outOfOrder++;
          else if (!(s.p >= 0 && s.p <= 1)) invalid++;
          else accepted.push({ tUs, p: s.p });
          assert.ok(out.length <= 1);
          for (const a of out) alerts.push({ alert: a, index: accepted.length - 1 });
        }
      }
      const maxGapUs = o.maxGapS * 1e6;
      alerts.forEach(({ alert, index }, n) => {
        assert.equal(alert.state, n % 2 === 0 ? 'raised' : 'cleared', 'alerts alternate, starting raised');
        assert.ok(alertSchema.safeParse(alert).success);
        const raised = alert.state === 'raised';
        const inRun = (p: number) => (raised ? p >= o.raiseProbability : p < o.clearProbability);
        const needUs = (raised ? o.raiseAfterS : o.clearAfterS) * 1e6;
        const start = accepted.findIndex((e) => e.tUs === alert.sinceUs);
        assert.ok(start >= 0 && start <= index);
        const previous = alerts[n - 1];
        if (previous) assert.ok(start > previous.index, 'the run began after the previous alert');
        const span = accepted.slice(start, index + 1);
        assert.equal(alert.tUs, accepted[index]?.tUs);
        for (let i = 0; i < span.length; i++) {
          const e = span[i];
          assert.ok(e && inRun(e.p), `P(high) ${e?.p} inside the ${alert.state} run`);
          const prev = span[i - 1];
          if (prev) assert.ok(e.tUs - prev.tUs <= maxGapUs, 'no gap inside the run');
        }
        assert.ok(alert.tUs - alert.sinceUs >= needUs, 'the run lasted long enough');
        const before = accepted[index - 1];
        if (index > start && before) assert.ok(before.tUs - alert.sinceUs < needUs, 'raised/cleared at once');
        const mean = span.reduce((sum, e) => sum + e.p, 0) / span.length;
        assert.ok(Math.abs(alert.probability - mean) < 1e-9);
      });
      assert.equal(rule.active, alerts.length % 2 === 1);
      const st = rule.stats;
      assert.deepEqual(
        [st.accepted, st.outOfOrder, st.invalid, st.raised, st.cleared],
        [accepted.length, outOfOrder, invalid, Math.ceil(alerts.length / 2), Math.floor(alerts.length / 2)],
      );
    }),
    { numRuns: 300 },
  );
});
