import assert from 'node:assert/strict';
import { it } from 'node:test';
import { compareVariants, INT8_THRESHOLDS, int8EnsemblePathFor } from '../../scripts/speech-release.ts';

const row = (
  system: string,
  snrDb: number,
  stoi: number,
  siSdr: number,
  ovrl: number | null,
  subset = 'all',
  category = 'all',
) => ({
  system,
  snrDb,
  category,
  subset,
  mean: { stoi, estoi: stoi - 0.1, siSdr, ovrl },
});

it('compares int8 with float on every AVDCNN row and metric against the written thresholds', () => {
  const float = [
    row('avdcnn-audio', 0, 0.89, 9.8, 2.7),
    row('avdcnn-av', 0, 0.88, 9.0, null), // no DNSMOS: OVRL not compared
    row('noisy', 0, 0.88, 0, 2.5), // the input is not a variant
    row('avdcnn-audio', 0, 0.5, 1, 1, 'av'), // only the 'all' subset
    row('avdcnn-audio', 0, 0.5, 1, 1, 'all', 'car-interior'), // only the pooled rows (category 'all')
  ];
  const int8 = [row('avdcnn-audio', 0, 0.8915, 10.05, 2.69), row('avdcnn-av', 0, 0.88, 9.0, null)];
  const d = compareVariants(float, int8);
  assert.deepEqual(
    d.map((x) => `${x.system}/${x.metric}`),
    [
      'avdcnn-audio/stoi',
      'avdcnn-audio/estoi',
      'avdcnn-audio/siSdr',
      'avdcnn-audio/ovrl',
      'avdcnn-av/stoi',
      'avdcnn-av/estoi',
      'avdcnn-av/siSdr',
    ],
  );
  const bad = d.filter((x) => !x.ok).map((x) => x.metric);
  assert.deepEqual(bad, ['siSdr']); // +0.25 dB > 0.2 dB; +0.0015 STOI and −0.01 OVRL are within
  assert.ok(Math.abs(d[0]!.difference - 0.0015) < 1e-9);
  assert.equal(INT8_THRESHOLDS['siSdr'], 0.2);
  assert.throws(() => compareVariants(float, int8.slice(0, 1)), /lacks avdcnn-av at 0 dB/);
  assert.throws(() => compareVariants([row('noisy', 0, 0.9, 0, 2)], []), /no AVDCNN rows/);
  // A car-only evaluation has no pooled row: its one category's rows are compared.
  const car = (siSdr: number) => [row('avdcnn-audio', 0, 0.89, siSdr, 2.7, 'all', 'car-interior')];
  assert.equal(compareVariants(car(9.8), car(9.7)).length, 4);
});

it('the int8 ensemble manifest sits beside the float one', () => {
  assert.equal(int8EnsemblePathFor('m/avdcnn-causal.ensemble.json'), 'm/avdcnn-causal.int8.ensemble.json');
});
