/**
 * Paired comparison of speech systems: the statistics (metrics/paired.ts), the per-group rows
 * (paired-comparison.ts) and the stored-result reader of scripts/speech-paired.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ItemResult, SystemScores } from '../../src/models/speech/evaluate.ts';
import {
  EXACT_PERMUTATION_MAX_N,
  MONTE_CARLO_DRAWS,
  pairedStats,
  tQuantile975,
} from '../../src/models/speech/metrics/paired.ts';
import { pairedRows, pairedText } from '../../src/models/speech/paired-comparison.ts';
import { storedEvaluation } from '../../scripts/speech-paired.ts';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('paired statistics', () => {
  it("Student's t quantiles: the table, the interpolation beyond 30 degrees of freedom, the normal limit", () => {
    // Reference values of the two-sided 95 % t quantile (to three decimals), every degree of freedom to 30.
    const reference = [
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
      2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    reference.forEach((q, i) => close(tQuantile975(i + 1), q, 0, `df ${i + 1}`));
    close(tQuantile975(60), 2.0, 1e-12, 'df 60');
    // Between tabled values: the exact quantile for 50 degrees of freedom is 2.0086.
    close(tQuantile975(50), 2.0086, 0.001, 'df 50');
    close(tQuantile975(1_000_000), 1.96, 1e-4, 'df → ∞');
    for (let df = 2; df < 500; df++)
      assert.ok(tQuantile975(df) < tQuantile975(df - 1), `decreasing at ${df}`);
    assert.throws(() => tQuantile975(0), /0 degrees of freedom/);
    assert.throws(() => tQuantile975(2.5), /2\.5 degrees of freedom/);
  });

  it('a worked case: mean, t interval, wins and the exact sign-flip p', () => {
    const s = pairedStats([1, 2, 3, 4]);
    assert.equal(s.n, 4);
    assert.equal(s.meanDiff, 2.5);
    const half = (3.182 * Math.sqrt(5 / 3)) / 2;
    close(s.ci95![0], 2.5 - half, 1e-12, 'low');
    close(s.ci95![1], 2.5 + half, 1e-12, 'high');
    assert.deepEqual([s.wins, s.losses, s.ties], [4, 0, 0]);
    // Only all + and all − reach |Σ| = 10 among 16 assignments.
    assert.equal(s.p, 2 / 16);
    assert.equal(s.exact, true);
    // 1, −1, 2: of the 8 signed sums (±4, ±2 twice, 0 twice) six are at least 2 from zero.
    const t = pairedStats([1, -1, 2]);
    assert.deepEqual([t.wins, t.losses], [2, 1]);
    assert.equal(t.p, 6 / 8);
  });

  it('ties within the tolerance; one item has no interval; none is NaN; non-finite differences are refused', () => {
    const s = pairedStats([0.001, -0.002, 0.5], { tieTolerance: 0.005 });
    assert.deepEqual([s.wins, s.losses, s.ties], [1, 0, 2]);
    const one = pairedStats([0.3]);
    assert.equal(one.ci95, null);
    assert.equal(one.p, 1);
    assert.equal(pairedStats([0.3, 0.5]).ci95, null, 'no interval from one degree of freedom');
    // Differences far below 1 are compared at their own scale: only all + and all − reach |Σ|.
    assert.equal(pairedStats([1e-13, 2e-13, 3e-13, 4e-13]).p, 2 / 16);
    const none = pairedStats([]);
    assert.equal(none.n, 0);
    assert.ok(Number.isNaN(none.meanDiff));
    assert.throws(() => pairedStats([1, NaN]), /difference of NaN is not finite/);
    assert.throws(() => pairedStats([Infinity]), /not finite/);
  });

  it('above the exact limit the p-value is sampled, seeded, and near the exact one', () => {
    const n = EXACT_PERMUTATION_MAX_N + 4;
    const all = pairedStats(new Array<number>(n).fill(1));
    assert.equal(all.exact, false);
    // Exactly 2 of 2^20 assignments reach the observed sum; the sampled p is (1 + hits) / (1 + draws).
    assert.ok(all.p <= 3 / (1 + MONTE_CARLO_DRAWS), `p ${all.p}`);
    // Never 0: the observed assignment counts, (1 + hits) / (1 + draws).
    assert.ok(all.p >= 1 / (1 + MONTE_CARLO_DRAWS), `p ${all.p}`);
    const diffs = Array.from({ length: n }, (_, i) => Math.sin(i + 1) + 0.1);
    const a = pairedStats(diffs, { seed: 3 });
    assert.deepEqual(pairedStats(diffs, { seed: 3 }), a, 'reproducible');
    // The first 16 differences alone have an exact p; adding 4 small ones moves it little.
    const exact = pairedStats(diffs.slice(0, EXACT_PERMUTATION_MAX_N)).p;
    assert.ok(Math.abs(a.p - exact) < 0.15, `sampled ${a.p} vs exact on 16: ${exact}`);
  });

  it('properties: the interval holds the mean; p is in (0, 1], unchanged by a sign flip of all or a scale', () => {
    fc.assert(
      fc.property(
        // Differences on a metric's scale (steps of 1e-4, as the scores are given), not subnormal ones that a
        // scale could round to zero.
        fc.array(
          fc.integer({ min: -100_000, max: 100_000 }).map((i) => i / 10_000),
          { minLength: 3, maxLength: 10 },
        ),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (d, k) => {
          const s = pairedStats(d);
          assert.ok(s.ci95![0] <= s.meanDiff + 1e-9 && s.meanDiff <= s.ci95![1] + 1e-9);
          assert.ok(s.p > 0 && s.p <= 1);
          assert.equal(pairedStats(d.map((v) => -v)).p, s.p);
          assert.equal(pairedStats(d.map((v) => v * k)).p, s.p);
          assert.equal(s.wins + s.losses + s.ties, d.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const scores = (stoi: number | null, ovrl?: number): SystemScores => ({
  stoi,
  estoi: stoi,
  siSdr: stoi === null ? null : stoi * 10,
  segSnr: null,
  dnsmos: ovrl === undefined ? null : { sig: ovrl, bak: ovrl, ovrl, p808: ovrl },
  rtf: null,
  processingS: null,
  errors: [],
});
const item = (id: string, snrDb: number, hasVideo: boolean, systems: Record<string, SystemScores>) =>
  ({
    id,
    utterance: id,
    speaker: 's',
    noise: 'n',
    category: 'car-interior',
    snrDb,
    inputSnrDb: snrDb,
    noiseStart: 0,
    wrapped: false,
    seconds: 1,
    hasVideo,
    cleanDnsmos: null,
    systems,
  }) as unknown as ItemResult;

describe('paired rows per group', () => {
  const items = [
    item('a', 0, true, { noisy: scores(0.5), ref: scores(0.8, 3), sys: scores(0.9, 2.5), av: scores(0.95) }),
    item('b', 0, false, { noisy: scores(0.5), ref: scores(0.7, 3), sys: scores(0.6, 2.9) }),
    item('c', 5, false, { noisy: scores(0.6), ref: scores(0.8), sys: scores(null) }),
  ];

  it('each system but the reference and the noisy input, on the items both ran, per SNR and subset', () => {
    const rows = pairedRows(items, ['noisy', 'ref', 'sys', 'av'], 'ref');
    assert.deepEqual(
      rows.map((r) => `${r.snrDb}|${r.subset}|${r.system}`),
      ['0|all|sys', '0|all|av', '0|av|sys', '0|av|av', '5|all|sys'],
    );
    const sys0 = rows[0]!;
    assert.equal(sys0.reference, 'ref');
    assert.equal(sys0.metrics.stoi!.n, 2);
    close(sys0.metrics.stoi!.meanDiff, 0, 1e-12, 'mean of +0.1 and −0.1');
    assert.deepEqual([sys0.metrics.stoi!.wins, sys0.metrics.stoi!.losses], [1, 1]);
    close(sys0.metrics.ovrl!.meanDiff, -0.3, 1e-12, 'OVRL');
    assert.equal(sys0.metrics.segSnr, null, 'no item has the metric');
    assert.equal(rows[1]!.metrics.stoi!.n, 1, 'av ran on one item only');
    assert.equal(rows[4]!.metrics.stoi, null, 'a null score is left out');
  });

  it('an utterance counts once: its mixtures with several noises are averaged before the statistics', () => {
    const noise = (it: ItemResult, category: string) => ({ ...it, id: `${it.id}|${category}`, category });
    const two = [
      noise(item('u1', 0, false, { ref: scores(0.5), sys: scores(0.6) }), 'car-interior'),
      noise(item('u1', 0, false, { ref: scores(0.5), sys: scores(0.8) }), 'street'),
      noise(item('u2', 0, false, { ref: scores(0.5), sys: scores(0.4) }), 'car-interior'),
      noise(item('u2', 0, false, { ref: scores(0.5), sys: scores(0.4) }), 'street'),
    ];
    const all = pairedRows(two, ['ref', 'sys'], 'ref').find((r) => r.category === 'all')!;
    const st = all.metrics.stoi!;
    assert.equal(st.n, 2, 'two utterances, not four mixtures');
    close(st.meanDiff, (0.2 - 0.1) / 2, 1e-12, 'mean of the utterance means +0.2 and −0.1');
    assert.deepEqual([st.wins, st.losses], [1, 1]);
    const car = pairedRows(two, ['ref', 'sys'], 'ref').find((r) => r.category === 'car-interior')!;
    assert.equal(car.metrics.stoi!.n, 2);
  });

  it('an utterance counts once with several noise offsets too (eval speech --offsets)', () => {
    const at = (it: ItemResult, start: number) => ({ ...it, id: `${it.id}@${start}`, noiseStart: start });
    const mixtures = [
      at(item('u1', 0, false, { ref: scores(0.5), sys: scores(0.6) }), 0),
      at(item('u1', 0, false, { ref: scores(0.5), sys: scores(0.7) }), 100),
      at(item('u1', 0, false, { ref: scores(0.5), sys: scores(0.8) }), 200),
      at(item('u2', 0, false, { ref: scores(0.5), sys: scores(0.45) }), 0),
      at(item('u2', 0, false, { ref: scores(0.5), sys: scores(0.35) }), 100),
      at(item('u2', 0, false, { ref: scores(0.5), sys: scores(0.4) }), 200),
    ];
    const st = pairedRows(mixtures, ['ref', 'sys'], 'ref')[0]!.metrics.stoi!;
    assert.equal(st.n, 2, 'two utterances, not six mixtures');
    close(st.meanDiff, (0.2 - 0.1) / 2, 1e-12, 'mean of the utterance means +0.2 and −0.1');
  });

  it('as text: one block per group, a line per metric with a value', () => {
    const text = pairedText(pairedRows(items, ['noisy', 'ref', 'sys'], 'ref'));
    assert.match(text, /^SNR 0 dB, noise: car-interior: paired against ref/m);
    assert.match(text, /^sys\s+STOI\s+2\s+\+0\.0000\s+—\s+1\/1\/0\s+1\.000$/m);
    assert.match(text, /^sys\s+DNSMOS OVRL\s+2\s+-0\.300/m);
    assert.doesNotMatch(text, /segSNR/);
  });
});

describe('scripts/speech-paired.ts: a stored result', () => {
  it('reads items and the systems run; names what is missing', () => {
    const ok = storedEvaluation(
      { items: [{ systems: {} }], systems: { run: ['noisy', 'rnnoise'] } },
      'f.json',
    );
    assert.deepEqual(ok.systems, ['noisy', 'rnnoise']);
    assert.throws(() => storedEvaluation(null, 'f.json'), /f\.json: not an eval speech --json result/);
    assert.throws(() => storedEvaluation({ items: [] }, 'f.json'), /no list of the systems run/);
    assert.throws(
      () => storedEvaluation({ items: [null], systems: { run: [] } }, 'f.json'),
      /item 0 has no systems' scores/,
    );
  });
});
