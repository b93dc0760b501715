import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServingArgs, takeCameraMode } from '../../scripts/speech-set-serving.ts';

describe('scripts/speech-set-serving: KEY=VALUE arguments', () => {
  it('reads numbers and `none` (remove the key)', () => {
    assert.deepEqual(
      parseServingArgs(['maskExpansionKneeDb=-6', 'maskExpansionRatio=1.5', 'maskFloorDb=none']),
      {
        maskExpansionKneeDb: -6,
        maskExpansionRatio: 1.5,
        maskFloorDb: undefined,
      },
    );
  });
  it('refuses unknown keys, missing or non-numeric values', () => {
    assert.throws(() => parseServingArgs(['gain=2']), /want KEY=VALUE with KEY one of maskFloorDb/);
    assert.throws(() => parseServingArgs(['maskStrength']), /want KEY=VALUE/);
    assert.throws(() => parseServingArgs(['maskStrength=']), /is not a number/);
    assert.throws(() => parseServingArgs(['maskStrength=high']), /high is not a number/);
    assert.throws(() => parseServingArgs(['maskStrength=1=2']), /want KEY=VALUE/);
  });
  it('takes cameraMode=off or none apart from the numeric settings; refuses other values', () => {
    assert.deepEqual(takeCameraMode(['maskStrength=1', 'cameraMode=off']), {
      cameraMode: 'off',
      rest: ['maskStrength=1'],
    });
    assert.deepEqual(takeCameraMode(['cameraMode=none']), { cameraMode: null, rest: [] });
    assert.deepEqual(takeCameraMode(['maskStrength=1']), { cameraMode: undefined, rest: ['maskStrength=1'] });
    assert.throws(() => takeCameraMode(['cameraMode=on']), /cameraMode is off or none/);
  });
});
