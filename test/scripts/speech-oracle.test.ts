import assert from 'node:assert/strict';
import { it } from 'node:test';
import { idealMask } from '../../scripts/speech-oracle.ts';
import { siSdr } from '../../src/models/speech/metrics/sisdr.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { noisySpeechFixture } from '../support/speech-fixtures.ts';

it('idealMask: same length; no noise passes the input; the clean phase and no limits give the clean signal back', async () => {
  const clean = (await noisySpeechFixture()).subarray(0, 16_000);
  const rng = new SeededRandom(5);
  const noisy = clean.map((v) => v + 0.05 * rng.normal());
  for (const kind of ['tmm', 'irm', 'wiener'] as const) {
    const y = idealMask(clean, noisy, -25, kind);
    assert.equal(y.length, noisy.length);
    assert.ok(
      siSdr(clean, y) > siSdr(clean, noisy) + 3,
      `${kind}: ${siSdr(clean, y)} vs ${siSdr(clean, noisy)}`,
    );
  }
  assert.ok(siSdr(clean, idealMask(clean, clean, -25)) > 60, 'a noiseless input passes');
  const back = idealMask(clean, noisy, -120, 'tmm', undefined, 8001, 120);
  // Within what the ln-power ε of the STFT leaves in the quietest bins.
  assert.ok(siSdr(clean, back) > 35, `${siSdr(clean, back)}`);
  assert.throws(() => idealMask(clean, noisy.subarray(1), -25), /idealMask: \d+ clean and \d+ noisy samples/);
});
