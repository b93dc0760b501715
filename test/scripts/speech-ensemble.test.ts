import assert from 'node:assert/strict';
import { it } from 'node:test';
import { averageSignals, ensembleLoader } from '../../scripts/speech-ensemble.ts';

it('averages equally long signals sample by sample; refuses none or unequal lengths', () => {
  const a = Float32Array.from([1, 2, 3, -4]);
  const b = Float32Array.from([3, 0, -3, 4]);
  assert.deepEqual([...averageSignals([a, b])], [2, 1, 0, 0]);
  assert.deepEqual([...averageSignals([a])], [...a]);
  assert.throws(() => averageSignals([]), /no signals/);
  assert.throws(() => averageSignals([a, b.subarray(1)]), /signals of 4 and 3 samples/);
});

it('the ensemble loader refuses a missing member model by name', async () => {
  await assert.rejects(
    ensembleLoader(['/nonexistent/a.onnx'])('ignored.onnx'),
    /\/nonexistent\/a\.onnx not found/,
  );
});
