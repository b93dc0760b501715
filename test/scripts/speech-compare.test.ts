import assert from 'node:assert/strict';
import { it } from 'node:test';
import { STOI_GUARD, comparePooled, compareServing, parsePool } from '../../scripts/speech-compare.ts';
import type { ServingScore } from '../../scripts/speech-serving.ts';

/** A serving score from audio-only means at 0 and 5 dB: [STOI, SI-SDR, OVRL] each. */
const score = (
  at0: [number, number, number],
  at5: [number, number, number],
  meanStoiGain: number,
): ServingScore => {
  const means = (v: [number, number, number]) => ({
    stoi: { noisy: 0.9, avdcnn: v[0] },
    siSdr: { noisy: 0, avdcnn: v[1] },
    ovrl: { noisy: 2.5, avdcnn: v[2] },
  });
  return { strength: 0.7, wins: 6, meanStoiGain, means: { '0': means(at0), '5': means(at5) } };
};

// Validation figures of runs 18, 24 and 21/25 (docs/models/speech-history.md).
const run18 = score([0.8897, 9.82, 2.707], [0.9092, 13.76, 2.816], 0.0077);
const run24 = score([0.8856, 11.38, 2.748], [0.9058, 15.62, 2.862], 0.0039);

it('a candidate that wins the majority but gives up STOI gain is refused by the guard (run 24 against run 18)', () => {
  const v = compareServing(run24, run18);
  assert.equal(v.wins, 4);
  assert.equal(v.losses, 2);
  assert.equal(v.guardPassed, false);
  assert.equal(v.replace, false);
  assert.deepEqual(
    v.comparisons.filter((c) => c.winner === 'incumbent').map((c) => `${c.metric}@${c.snrDb}`),
    ['stoi@0', 'stoi@5'],
  );
});

it('a candidate within the guard replaces on a majority; a tie or a minority keeps the incumbent', () => {
  const close = score([0.889, 10.9, 2.727], [0.9092, 14.9, 2.855], 0.0077 - STOI_GUARD / 2);
  assert.equal(compareServing(close, run18).replace, true);
  assert.equal(compareServing(run18, run18).replace, false); // all ties
  const threeThree = score([0.8898, 9.0, 2.708], [0.9093, 13.0, 2.8], 0.008);
  assert.equal(compareServing(threeThree, run18).wins, 3);
  assert.equal(compareServing(threeThree, run18).replace, false);
  const broken: ServingScore = { ...run18, means: { '0': run18.means['0']! } };
  assert.throws(() => compareServing(broken, run18), /no stoi at 5 dB/);
});

it('the all-categories condition passes at half the comparisons with the guard, fails below half or outside the guard', () => {
  // Pooled over every category: the candidate wins STOI and SI-SDR at 0 dB and STOI at 5 dB (3 of 6).
  const incumbent = score([0.83, 6.0, 2.3], [0.86, 9.0, 2.45], 0.006);
  const half = score([0.831, 6.1, 2.2], [0.861, 8.9, 2.4], 0.007);
  const v = comparePooled(half, incumbent);
  assert.equal(v.wins, 3);
  assert.equal(v.passed, true);
  assert.equal(compareServing(half, incumbent).replace, false); // the majority rule alone would refuse it
  const two = score([0.831, 5.9, 2.2], [0.861, 8.9, 2.4], 0.007);
  assert.equal(comparePooled(two, incumbent).wins, 2);
  assert.equal(comparePooled(two, incumbent).passed, false);
  const lostStoi = score([0.831, 6.1, 2.4], [0.861, 9.1, 2.5], 0.006 - 2 * STOI_GUARD);
  assert.equal(comparePooled(lostStoi, incumbent).wins, 6);
  assert.equal(comparePooled(lostStoi, incumbent).passed, false);
});

it('--pool takes two or more distinct known categories, in the corpus order', () => {
  assert.deepEqual(parsePool('babble,car-interior,street,engine'), [
    'car-interior',
    'engine',
    'street',
    'babble',
  ]);
  assert.throws(() => parsePool('car-interior,kitchen'), /unknown noise category 'kitchen'/);
  assert.throws(() => parsePool('car-interior,car-interior'), /named twice/);
  assert.throws(() => parsePool('car-interior'), /at least two/);
  assert.throws(() => parsePool(''), /unknown noise category ''/);
});
