import assert from 'node:assert/strict';
import { it } from 'node:test';
import { chooseStrength, scoreStrength } from '../../scripts/speech-serving.ts';

const rows = (snr: number, noisy: [number, number, number], avdcnn: [number, number, number]) =>
  (['noisy', 'avdcnn-audio'] as const).map((system) => {
    const [stoi, siSdr, ovrl] = system === 'noisy' ? noisy : avdcnn;
    return { system, snrDb: snr, subset: 'all', mean: { stoi, siSdr, ovrl } };
  });

it('scores a strength by the comparisons won over the noisy input and the mean STOI gain', () => {
  const s = scoreStrength(0.7, [
    ...rows(0, [0.9, 0, 2.5], [0.88, 5, 2.7]), // STOI lost, SI-SDR and OVRL won
    ...rows(5, [0.92, 5, 2.6], [0.93, 8, 2.5]), // STOI and SI-SDR won, OVRL lost
    ...rows(5, [0, 0, 0], [1, 1, 1]).map((r) => ({ ...r, subset: 'av' })), // other subsets do not count
  ]);
  assert.equal(s.wins, 4);
  assert.ok(Math.abs(s.meanStoiGain - (-0.02 + 0.01) / 2) < 1e-12);
  assert.equal(s.means['0']!['siSdr']!.avdcnn, 5);
  assert.throws(() => scoreStrength(1, rows(0, [0.9, 0, 2.5], [0.9, 0, 2.5])), /at 5 dB/);
});

it('chooses the most wins, then the higher STOI gain, then the larger strength', () => {
  const mk = (strength: number, wins: number, meanStoiGain: number) => ({
    strength,
    wins,
    meanStoiGain,
    means: {},
  });
  assert.equal(chooseStrength([mk(1, 4, -0.06), mk(0.7, 5, -0.03), mk(0.5, 4, 0.01)]).strength, 0.7);
  assert.equal(chooseStrength([mk(1, 4, -0.06), mk(0.5, 4, -0.01)]).strength, 0.5);
  assert.equal(chooseStrength([mk(0.5, 6, 0.01), mk(1, 6, 0.01)]).strength, 1);
  assert.throws(() => chooseStrength([]), /no strengths/);
});
