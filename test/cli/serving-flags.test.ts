/**
 * The serving-setting flags shared by `drivesense enhance` and `drivesense eval speech`
 * (src/cli/serving-flags.ts): parsing, the checks, and the one-line description of what is in force.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from '../../src/cli/command.ts';
import { parseCommandArgs } from '../../src/cli/command.ts';
import { SERVING_FLAG_OPTIONS, describeServing, servingFromArgs } from '../../src/cli/serving-flags.ts';
import { SERVING_NONE } from '../../src/models/speech/mask/settings.ts';

const cmd: Command = {
  name: 'x',
  summary: '',
  help: '',
  options: SERVING_FLAG_OPTIONS,
  run: () => Promise.resolve(0),
};
const parse = (...argv: string[]) => servingFromArgs(parseCommandArgs(cmd, argv));

describe('serving flags', () => {
  it('parses the flags given into their keys, leaving the others out', () => {
    assert.deepEqual(parse(), {});
    assert.deepEqual(parse('--mask-floor-db=-12', '--mask-strength-av', '1.3', '--pause-gate-db=-20'), {
      maskFloorDb: -12,
      maskStrengthVisual: 1.3,
      pauseGateDb: -20,
    });
  });

  it("refuses a value out of its stage's range, empty, or not finite, naming the flag", () => {
    for (const [arg, why] of [
      ['--mask-floor-db=3', /^--mask-floor-db: maskFloorDb 3 must be a number ≤ 0, got "3"$/],
      ['--mask-floor-db=', /^--mask-floor-db: "" is not a finite number$/],
      ['--mask-floor-db=-Infinity', /^--mask-floor-db: "-Infinity" is not a finite number$/],
      ['--mask-floor-db=-1e400', /^--mask-floor-db: "-1e400" is not a finite number$/],
      ['--mask-strength=1.5', /^--mask-strength: maskStrength 1.5 must be a number in \(0, 1\]/],
      ['--mask-expansion-ratio=x', /^--mask-expansion-ratio: "x" is not a finite number$/],
    ] as const)
      assert.throws(
        () => parse(arg),
        (e: Error) => e.name === 'UsageError' && why.test(e.message),
        arg,
      );
  });

  it('describes the settings in force: those away from none, a qualifier only where its stage is on', () => {
    assert.equal(describeServing([SERVING_NONE]), 'none');
    // A threshold and a knee whose stages are off are not named.
    assert.equal(
      describeServing([{ ...SERVING_NONE, pauseGateThresholdDb: -15, maskExpansionKneeDb: -6 }]),
      'none',
    );
    assert.equal(
      describeServing([
        { ...SERVING_NONE, pauseGateDb: -20, pauseGateThresholdDb: -15, maskStrengthVisual: 1.3 },
        { ...SERVING_NONE, maskExpansionRatio: 1.5, maskExpansionKneeDb: -6, maskStrengthVisual: 1 },
      ]),
      'maskStrengthVisual 1.3 / 1, maskExpansionKneeDb 0 / -6, maskExpansionRatio 1 / 1.5, pauseGateDb -20 / 0, ' +
        'pauseGateThresholdDb -15 / -40',
    );
  });
});
