import assert from 'node:assert/strict';
import { it } from 'node:test';
import { idealMask } from '../../src/models/speech/ideal-mask.ts';
import { siSdr } from '../../src/models/speech/metrics/sisdr.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { noisySpeechFixture } from '../support/speech-fixtures.ts';

it('idealMask: same length; no noise passes the input; the clean phase and no limits give the clean signal back', async () => {
  const clean = (await noisySpeechFixture()).subarray(0, 16_000);
  const rng = new SeededRandom(5);
  const noisy = clean.map((v) => v + 0.05 * rng.normal());
  for (const kind of ['tmm', 'irm', 'wiener'] as const) {
    const y = idealMask(clean, noisy, { kind });
    assert.equal(y.length, noisy.length);
    assert.ok(
      siSdr(clean, y) > siSdr(clean, noisy) + 3,
      `${kind}: ${siSdr(clean, y)} vs ${siSdr(clean, noisy)}`,
    );
  }
  assert.ok(siSdr(clean, idealMask(clean, clean)) > 60, 'a noiseless input passes');
  const back = idealMask(clean, noisy, { floorDb: -120, ceilingDb: 120, cleanPhaseBelowHz: 8001 });
  // Within what the ln-power ε of the STFT leaves in the quietest bins.
  assert.ok(siSdr(clean, back) > 35, `${siSdr(clean, back)}`);
  assert.throws(() => idealMask(clean, noisy, { floorDb: 3 }), /floor 3 dB above ceiling 0 dB/);
  assert.throws(() => idealMask(clean, noisy.subarray(1)), /idealMask: \d+ clean and \d+ noisy samples/);
});
