import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  chooseStrength,
  chooseVisualStrength,
  scoreStrength,
  scoreVisualStrength,
} from '../../scripts/speech-serving.ts';

const rows = (snr: number, noisy: [number, number, number], avdcnn: [number, number, number]) =>
  (['noisy', 'avdcnn-audio'] as const).map((system) => {
    const [stoi, siSdr, ovrl] = system === 'noisy' ? noisy : avdcnn;
    return { system, snrDb: snr, category: 'all', subset: 'all', mean: { stoi, siSdr, ovrl } };
  });

it('scores a strength by the comparisons won over the noisy input and the mean STOI gain', () => {
  const s = scoreStrength(0.7, [
    // One category's rows come before the pooled ones (as eval speech orders them) and do not count.
    ...rows(0, [0.9, 0, 2.5], [0.95, 9, 3]).map((r) => ({ ...r, category: 'car-interior' })),
    ...rows(0, [0.9, 0, 2.5], [0.88, 5, 2.7]), // STOI lost, SI-SDR and OVRL won
    ...rows(5, [0.92, 5, 2.6], [0.93, 8, 2.5]), // STOI and SI-SDR won, OVRL lost
    ...rows(5, [0, 0, 0], [1, 1, 1]).map((r) => ({ ...r, subset: 'av' })), // other subsets do not count
  ]);
  assert.equal(s.wins, 4);
  assert.ok(Math.abs(s.meanStoiGain - (-0.02 + 0.01) / 2) < 1e-12);
  assert.equal(s.means['0']!['siSdr']!.avdcnn, 5);
  assert.throws(() => scoreStrength(1, rows(0, [0.9, 0, 2.5], [0.9, 0, 2.5])), /at 5 dB/);
  // One category evaluated: eval speech writes only that category's rows, and they are the pooled ones.
  const carOnly = [...rows(0, [0.9, 0, 2.5], [0.88, 5, 2.7]), ...rows(5, [0.92, 5, 2.6], [0.93, 8, 2.5])].map(
    (r) => ({ ...r, category: 'car-interior' }),
  );
  assert.equal(scoreStrength(0.7, carOnly).wins, 4);
  // Two categories without their pooled row: refused rather than one category taken for both.
  const street = carOnly.map((r) => ({ ...r, category: 'street' }));
  assert.throws(() => scoreStrength(0.7, [...carOnly, ...street]), /at 0 dB/);
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

const gridRows = (snr: number, system: string, v: [number, number, number, number, number]) => {
  const [stoi, estoi, siSdr, segSnr, ovrl] = v;
  return { system, snrDb: snr, category: 'all', subset: 'av', mean: { stoi, estoi, siSdr, segSnr, ovrl } };
};

it('scores an audio-visual strength by the comparisons won over the audio-only mode on the GRID clips', () => {
  const audio = [
    { ...gridRows(0, 'avdcnn-audio', [0.9, 0.9, 20, 9, 3]), category: 'street' }, // one category: not counted
    gridRows(0, 'avdcnn-audio', [0.83, 0.73, 10, 0.9, 2.74]),
    gridRows(5, 'avdcnn-audio', [0.85, 0.77, 13.5, 3.4, 2.76]),
    { ...gridRows(0, 'avdcnn-audio', [0, 0, 0, 0, 0]), subset: 'all' }, // other subsets do not count
  ];
  const av = [
    gridRows(0, 'avdcnn-av', [0.84, 0.72, 10.2, 1.1, 2.74]), // ESTOI lost, OVRL equal (not a win)
    gridRows(5, 'avdcnn-av', [0.86, 0.78, 13.4, 3.5, 2.8]), // SI-SDR lost
  ];
  const s = scoreVisualStrength(0.8, audio, av);
  assert.equal(s.wins, 7);
  assert.deepEqual(s.means['0']!['estoi'], { audio: 0.73, av: 0.72 });
  assert.throws(() => scoreVisualStrength(0.8, audio, av.slice(0, 1)), /GRID clips at 5 dB/);
});

it('chooses the audio-visual strength with the most wins, then nearest the audio-only one, then the smaller', () => {
  const mk = (strength: number, wins: number) => ({ strength, wins, means: {} });
  assert.equal(chooseVisualStrength([mk(0.7, 6), mk(0.8, 10), mk(1, 9)], 0.7).strength, 0.8);
  assert.equal(chooseVisualStrength([mk(0.5, 8), mk(0.7, 8), mk(1, 8)], 0.7).strength, 0.7);
  assert.equal(chooseVisualStrength([mk(0.8, 8), mk(0.6, 8)], 0.7).strength, 0.6);
  assert.throws(() => chooseVisualStrength([], 0.7), /no audio-visual strengths/);
});
