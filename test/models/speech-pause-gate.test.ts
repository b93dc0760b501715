import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PAUSE_GATE_RAMP_FRAMES,
  PauseGate,
  frameGainDb,
  pauseGateError,
  pauseGateHoldFrames,
} from '../../src/models/speech/mask/pause-gate.ts';

describe('pause gate', () => {
  it('checks its settings: numbers of dB in [−40, 0]', () => {
    assert.equal(pauseGateError('pauseGateDb', -10), undefined);
    assert.equal(pauseGateError('pauseGateThresholdDb', 0), undefined);
    assert.match(pauseGateError('pauseGateDb', 1)!, /pauseGateDb 1 must be a number of dB in \[-40, 0\]/);
    assert.match(pauseGateError('pauseGateThresholdDb', -40.5)!, /pauseGateThresholdDb -40.5/);
    assert.match(pauseGateError('pauseGateDb', Number.NaN)!, /pauseGateDb NaN/);
    assert.match(pauseGateError('pauseGateDb', '-10')!, /pauseGateDb "-10" must be a number/);
    assert.throws(() => new PauseGate(0, -15, -10), /hold of 0 frames/);
    assert.throws(() => new PauseGate(3, 1, -10), /pauseGateThresholdDb 1/);
  });

  it('holds 300 ms: 38 frames at an 8 ms hop, 30 at 10 ms', () => {
    assert.equal(pauseGateHoldFrames(128 / 16_000), 38);
    assert.equal(pauseGateHoldFrames(0.01), 30);
  });

  it('frame gain: enhanced over noisy power, in dB, without overflow', () => {
    const x = Float64Array.from({ length: 257 }, (_, k) => Math.sin(k));
    assert.ok(Math.abs(frameGainDb(x, x)) < 1e-12);
    const tenDbDown = x.map((v) => v - Math.LN10);
    assert.ok(Math.abs(frameGainDb(x, tenDbDown) + 10) < 1e-9);
    // One bin 20 dB down out of two equal ones: 10·log10((1 + 0.01) / 2).
    assert.ok(Math.abs(frameGainDb([0, 0], [0, -2 * Math.LN10]) - 10 * Math.log10(1.01 / 2)) < 1e-9);
    const loud = x.map((v) => v + 2000); // e^2000 overflows a double
    assert.ok(
      Math.abs(
        frameGainDb(
          loud,
          loud.map((v) => v - Math.LN10),
        ) + 10,
      ) < 1e-9,
    );
    // All bins −∞ cannot come from the STFT (silence is ln ε); such a frame reads 0 dB, not a pause.
    assert.equal(frameGainDb([-Infinity], [-Infinity]), 0);
  });

  it('closes after the hold, ramps over 5 frames, opens at once; NaN and reset end the run', () => {
    const g = new PauseGate(3, -15, -10);
    const feed = (gains: number[]) => gains.map((v) => g.next(v));
    // Two frames below: nothing; the third reaches the hold: the ramp's first step.
    const ramp = Array.from({ length: PAUSE_GATE_RAMP_FRAMES }, (_, i) => (-10 * (i + 1)) / 5);
    assert.deepEqual(feed([-20, -20, -20, -20, -20, -20, -20, -30]), [0, 0, ...ramp, -10]);
    // A frame at the threshold opens it at once and restarts the hold.
    assert.deepEqual(feed([-15, -20, -20, -20]), [0, 0, 0, -2]);
    assert.deepEqual(feed([Number.NaN, -20, -20]), [0, 0, 0]);
    g.reset();
    assert.deepEqual(feed([-20, -20, -20]), [0, 0, -2]);
    // Depth 0: counts, never lowers.
    const none = new PauseGate(1, -15, 0);
    assert.deepEqual(
      [-20, -20].map((v) => none.next(v)),
      [0, 0],
    );
  });
});
