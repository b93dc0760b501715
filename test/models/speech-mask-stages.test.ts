/**
 * The mask's serving stages one by one (src/models/speech/mask/), the settings' resolution and checks, the
 * chain that composes them, and the prediction decoding in front of it. The enhancer's own tests
 * (speech-enhancer*.test.ts) hold the stages in place end to end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaskChain } from '../../src/models/speech/mask/chain.ts';
import { dbToLogPower } from '../../src/models/speech/mask/db.ts';
import { expandGain } from '../../src/models/speech/mask/expansion.ts';
import { maskFloorError } from '../../src/models/speech/mask/floor.ts';
import { PAUSE_GATE_RAMP_FRAMES } from '../../src/models/speech/mask/pause-gate.ts';
import {
  SERVING_NONE,
  SPEECH_SERVING_KEYS,
  definedServing,
  resolveServing,
  servingSettingError,
} from '../../src/models/speech/mask/settings.ts';
import type { SpeechServingSettings } from '../../src/models/speech/mask/settings.ts';
import { GainSmoother, smoothLogGain } from '../../src/models/speech/mask/smoothing.ts';
import { frameStrength, maskStrengthError, strengthGain } from '../../src/models/speech/mask/strength.ts';
import { decodePrediction, trainingFloorLog } from '../../src/models/speech/prediction.ts';

/** Every stage at "none". */
const NONE: SpeechServingSettings = resolveServing({}, {});
const LN10 = Math.LN10;

describe('mask stages', () => {
  it('strength: α·d, deepened (α > 1) never below the training floor, nothing below the mask floor', () => {
    assert.equal(strengthGain(-4, 1, -Infinity, -Infinity), -4);
    assert.equal(strengthGain(-4, 0.5, -Infinity, -Infinity), -2);
    assert.equal(strengthGain(-4, 1.5, -5, -Infinity), -5, 'deepened to the training floor, not −6');
    assert.equal(strengthGain(-7, 1.5, -5, -Infinity), -7, 'a gain already below the training floor stays');
    assert.equal(strengthGain(-4, 0.5, -Infinity, -1), -1, 'the mask floor bounds it');
    assert.equal(frameStrength(0.5, 1.5, 0, 5), 0.5);
    assert.equal(frameStrength(0.5, 1.5, 5, 5), 1.5);
    assert.equal(frameStrength(0.5, 1.5, 2, 5), 0.9, 'blended by the share of crops in the context');
    assert.equal(frameStrength(0.8, 0.8, 3, 5), 0.8);
    assert.equal(maskStrengthError('maskStrength', 1), undefined);
    assert.match(maskStrengthError('maskStrength', 1.2)!, /maskStrength 1.2 must be a number in \(0, 1\]/);
    assert.equal(maskStrengthError('maskStrengthVisual', 2), undefined);
    assert.match(maskStrengthError('maskStrengthVisual', 0)!, /\(0, 2\]/);
  });

  it('expansion: below the knee K + r·(g − K), bounded by the training floor and the mask floor', () => {
    assert.equal(expandGain(-1, -2, 3, -Infinity, -Infinity), -1, 'at or above the knee: untouched');
    assert.equal(expandGain(-3, -2, 3, -Infinity, -Infinity), -5);
    assert.equal(expandGain(-3, -2, 1, -Infinity, -Infinity), -3, 'ratio 1: none');
    assert.equal(expandGain(-3, -2, 3, -4, -Infinity), -4, 'not below the training floor');
    assert.equal(expandGain(-4.5, -2, 3, -4, -Infinity), -4.5, 'a gain below the training floor stays');
    assert.equal(expandGain(-3, -2, 3, -Infinity, -3.5), -3.5, 'not below the mask floor');
  });

  it('smoothLogGain: the mean over a window truncated at the edges, then the one-pole step in time', () => {
    const g = Float64Array.from([-4, 0, -2, -6, 0]);
    assert.deepEqual(Array.from(smoothLogGain(g, 1, 0, null)), Array.from(g));
    assert.deepEqual(Array.from(smoothLogGain(g, 3, 0, null)), [-2, -2, -8 / 3, -8 / 3, -3]);
    assert.deepEqual(Array.from(smoothLogGain(g, 5, 0, null)), [-2, -3, -2.4, -2, -8 / 3]);
    const last = Float64Array.from([0, -10, 0, 0, -10]);
    const t = smoothLogGain(g, 1, 0.5, last);
    assert.deepEqual(Array.from(t), [-2, -5, -1, -3, -5]);
    assert.deepEqual(
      Array.from(smoothLogGain(g, 1, 0.5, null)),
      Array.from(g),
      'no last frame: no time step',
    );
  });

  it('GainSmoother: carries the last frame, forgets it on reset, refuses bad settings', () => {
    const s = new GainSmoother(1, 0.5);
    assert.equal(s.active, true);
    assert.equal(new GainSmoother(1, 0).active, false);
    assert.deepEqual(Array.from(s.next(Float64Array.of(-2, 0))), [-2, 0]);
    assert.deepEqual(Array.from(s.next(Float64Array.of(0, -4))), [-1, -2]);
    s.reset();
    assert.deepEqual(Array.from(s.next(Float64Array.of(0, -4))), [0, -4]);
    assert.throws(() => new GainSmoother(2, 0), /maskSmoothingBins 2 must be an odd integer/);
    assert.throws(() => new GainSmoother(3, 1), /maskSmoothingTime 1 must be/);
  });

  it('settings: one check per key, each by its stage; resolution options → metadata → none', () => {
    const good: SpeechServingSettings = {
      maskFloorDb: -20,
      maskStrength: 0.7,
      maskStrengthVisual: 1.3,
      maskSmoothingBins: 3,
      maskSmoothingTime: 0.2,
      maskExpansionKneeDb: -6,
      maskExpansionRatio: 1.5,
      pauseGateDb: -15,
      pauseGateThresholdDb: -20,
    };
    for (const k of SPEECH_SERVING_KEYS) assert.equal(servingSettingError(k, good[k]), undefined, k);
    const bad: SpeechServingSettings = {
      maskFloorDb: 1,
      maskStrength: 0,
      maskStrengthVisual: 2.5,
      maskSmoothingBins: 4,
      maskSmoothingTime: -0.1,
      maskExpansionKneeDb: -41,
      maskExpansionRatio: 0.5,
      pauseGateDb: 3,
      pauseGateThresholdDb: -50,
    };
    for (const k of SPEECH_SERVING_KEYS)
      assert.match(servingSettingError(k, bad[k]) ?? '', new RegExp(`^${k} `));
    assert.equal(servingSettingError('maskFloorDb', '0'), 'maskFloorDb "0" must be a number ≤ 0', 'a string');
    assert.equal(servingSettingError('maskFloorDb', NaN), 'maskFloorDb NaN must be a number ≤ 0');
    assert.equal(maskFloorError(-Infinity), undefined, '−Infinity: no floor');

    assert.deepEqual(SERVING_NONE, NONE, 'nothing given, nothing in the metadata: every stage at none');
    assert.deepEqual(NONE, {
      maskFloorDb: -Infinity,
      maskStrength: 1,
      maskStrengthVisual: 1,
      maskSmoothingBins: 1,
      maskSmoothingTime: 0,
      maskExpansionKneeDb: 0,
      maskExpansionRatio: 1,
      pauseGateDb: 0,
      pauseGateThresholdDb: -40,
    });
    const meta = { maskStrength: 0.8, maskStrengthVisual: 1.2, pauseGateDb: -10 };
    assert.equal(resolveServing(meta, {}).maskStrengthVisual, 1.2);
    assert.equal(
      resolveServing(meta, { maskStrength: 0.6 }).maskStrengthVisual,
      0.6,
      'a given α stands for both',
    );
    assert.equal(resolveServing(meta, { maskStrengthVisual: 1.5 }).maskStrengthVisual, 1.5);
    assert.equal(resolveServing({ maskStrength: 0.8 }, {}).maskStrengthVisual, 0.8);
    assert.equal(
      resolveServing({ ...meta, cameraMode: 'off' }, { maskStrengthVisual: 1.5 }).maskStrengthVisual,
      0.8,
      'a model served without the camera reports the strength it applies',
    );
    assert.equal(resolveServing(meta, {}).pauseGateThresholdDb, -40, 'a depth alone: the lowest threshold');
    assert.equal(resolveServing(meta, { pauseGateDb: 0 }).pauseGateDb, 0, 'an option overrides the metadata');
    assert.throws(() => resolveServing({}, { maskExpansionRatio: 11 }), /maskExpansionRatio 11 must be/);
    assert.deepEqual(definedServing({ maskFloorDb: -10, maskStrength: undefined }), { maskFloorDb: -10 });
  });

  it('prediction: decoded by the target, non-finite values replaced by the noisy power and counted', () => {
    const x = Float32Array.of(1, 2, 3);
    const out = new Float64Array(3);
    assert.equal(decodePrediction({ kind: 'raw' }, -Infinity, x, Float32Array.of(0, NaN, 5), out), 1);
    assert.deepEqual(Array.from(out), [0, 2, 5]);
    decodePrediction(
      { kind: 'global', mean: [1, 1, 1], std: [2, 2, 2] },
      -Infinity,
      x,
      Float32Array.of(0, 1, -1),
      out,
    );
    assert.deepEqual(Array.from(out), [1, 3, -1]);
    const floor = trainingFloorLog({ kind: 'gain', gainFloorDb: -20 });
    assert.ok(Math.abs(floor - -2 * LN10) < 1e-12, `${floor}`);
    decodePrediction({ kind: 'gain', gainFloorDb: -20 }, floor, x, Float32Array.of(1, 0.5, 0), out);
    assert.equal(out[0], 1, 'gain 1: the noisy power');
    assert.ok(Math.abs(out[1]! - (2 + 2 * Math.log(0.5))) < 1e-12, `${out[1]}`);
    assert.equal(out[2], 3 + floor, 'a gain ≤ 0 takes the floor');
    decodePrediction(
      { kind: 'log-gain', gainFloorDb: -20, scale: 2 },
      floor,
      x,
      Float32Array.of(-0.5, 1, -100),
      out,
    );
    assert.deepEqual(Array.from(out), [0, 2, 3 + floor]);
    assert.equal(trainingFloorLog({ kind: 'raw' }), -Infinity);
  });

  it('chain: with every stage at none, the gain is min(ŷ, x) − x, never louder than the input', () => {
    const chain = new MaskChain({ settings: NONE, trainingFloorLog: -Infinity, hopS: 0.008 });
    const x = Float32Array.of(0, -1, 2);
    assert.deepEqual(Array.from(chain.apply(x, [1, -3, 2], 1)), [0, -3, 2]);
  });

  it('chain: the stages in order — strength, floor, expansion, then smoothing', () => {
    const floorLog = dbToLogPower(-30);
    const settings: SpeechServingSettings = {
      ...NONE,
      maskStrength: 0.5,
      maskFloorDb: -30,
      maskExpansionKneeDb: -3,
      maskExpansionRatio: 2,
      maskSmoothingBins: 3,
    };
    const chain = new MaskChain({ settings, trainingFloorLog: -Infinity, hopS: 0.008 });
    const x = Float32Array.of(0, 0, 0);
    const y = [-4, -20, 0];
    const out = chain.apply(x, y, 0.5);
    const knee = dbToLogPower(-3);
    const g = y.map((d) => {
      const s = Math.max(0.5 * d, floorLog);
      return s < knee ? Math.max(knee + 2 * (s - knee), floorLog) : s;
    });
    const want = [(g[0]! + g[1]!) / 2, (g[0]! + g[1]! + g[2]!) / 3, (g[1]! + g[2]!) / 2];
    for (let k = 0; k < 3; k++)
      assert.ok(Math.abs(out[k]! - want[k]!) < 1e-6, `bin ${k}: ${out[k]} vs ${want[k]}`);
  });

  it('chain: the pause gate closes after the hold on low frames, and a failed run restarts it', () => {
    const settings: SpeechServingSettings = { ...NONE, pauseGateDb: -20, pauseGateThresholdDb: -10 };
    // 10 ms hop: the 300 ms hold is 30 frames.
    const chain = new MaskChain({ settings, trainingFloorLog: -Infinity, hopS: 0.01 });
    const x = Float32Array.of(0, 0);
    const low = [dbToLogPower(-15), dbToLogPower(-15)];
    const frame = (): number => chain.apply(x, low, 1)[0]!;
    for (let t = 0; t < 29; t++) assert.ok(Math.abs(frame() - low[0]!) < 1e-6, `frame ${t}: open`);
    // The 30th low frame reaches the hold: the first step of the ramp.
    const first = frame();
    assert.ok(Math.abs(first - (low[0]! + dbToLogPower(-20 / PAUSE_GATE_RAMP_FRAMES))) < 1e-5, `${first}`);
    chain.fail();
    assert.ok(Math.abs(frame() - low[0]!) < 1e-6, 'after a failed run the hold starts again');
  });
  it('chain: the pause gate reads and lowers the smoothed frame, and its offset does not enter the smoothing', () => {
    const settings: SpeechServingSettings = {
      ...NONE,
      maskSmoothingTime: 0.5,
      pauseGateDb: -20,
      pauseGateThresholdDb: -10,
    };
    // 10 ms hop: the 300 ms hold is 30 frames.
    const chain = new MaskChain({ settings, trainingFloorLog: -Infinity, hopS: 0.01 });
    const x = Float32Array.of(0);
    const db = (v: number): number => (10 * v) / LN10;
    const at = (gainDb: number): number => db(chain.apply(x, [dbToLogPower(gainDb)], 1)[0]!);
    for (let t = 0; t < 29; t++) assert.ok(Math.abs(at(-15) - -15) < 1e-4, `frame ${t}: open`);
    // Reaching the hold: the ramp's first and second steps on the smoothed −15 dB.
    const ramp = -20 / PAUSE_GATE_RAMP_FRAMES;
    const first = at(-15);
    assert.ok(Math.abs(first - (-15 + ramp)) < 1e-4, `first gated frame ${first} dB`);
    const second = at(-15);
    assert.ok(Math.abs(second - (-15 + 2 * ramp)) < 1e-4, `second gated frame ${second} dB`);
    // A loud frame: smoothed from the ungated −15 dB (β 0.5: −7.5 dB, above T), so the gate opens.
    const open = at(0);
    assert.ok(Math.abs(open - -7.5) < 1e-4, `after the gate ${open} dB (−7.5 dB if its offset stayed out)`);
  });

  it('chain: a failed run restarts the time smoothing', () => {
    const settings: SpeechServingSettings = { ...NONE, maskSmoothingTime: 0.5 };
    const chain = new MaskChain({ settings, trainingFloorLog: -Infinity, hopS: 0.008 });
    const x = Float32Array.of(0);
    assert.equal(chain.apply(x, [-4], 1)[0], -4);
    assert.equal(chain.apply(x, [0], 1)[0], -2, 'smoothed: β·(−4) + (1 − β)·0');
    chain.fail();
    assert.equal(chain.apply(x, [0], 1)[0], 0, 'after the failure: no last frame');
  });

  it('chain: the training floor bounds a deepening strength and the expansion; the mask floor bounds both', () => {
    const trainingFloorLog = dbToLogPower(-25);
    const x = Float32Array.of(0, 0);
    const db = (v: number): number => (10 * v) / LN10;
    const deep = new MaskChain({ settings: NONE, trainingFloorLog, hopS: 0.008 });
    const [a, b] = Array.from(deep.apply(x, [dbToLogPower(-20), dbToLogPower(-4)], 1.5), db);
    assert.ok(Math.abs(a! - -25) < 1e-4, `α 1.5 on −20 dB: the training floor, ${a} dB`);
    assert.ok(Math.abs(b! - -6) < 1e-4, `α 1.5 on −4 dB: −6 dB, ${b} dB`);
    const expanded = new MaskChain({
      settings: { ...NONE, maskExpansionKneeDb: -6, maskExpansionRatio: 2 },
      trainingFloorLog,
      hopS: 0.008,
    });
    const [c, d] = Array.from(expanded.apply(x, [dbToLogPower(-20), dbToLogPower(-8)], 1), db);
    assert.ok(Math.abs(c! - -25) < 1e-4, `expanded −20 dB: −34 dB, held at the training floor, ${c} dB`);
    assert.ok(Math.abs(d! - -10) < 1e-4, `expanded −8 dB: −10 dB, ${d} dB`);
    const floored = new MaskChain({
      settings: { ...NONE, maskFloorDb: -12, maskExpansionKneeDb: -6, maskExpansionRatio: 2 },
      trainingFloorLog,
      hopS: 0.008,
    });
    const [e] = Array.from(floored.apply(x, [dbToLogPower(-20), 0], 1.5), db);
    assert.ok(Math.abs(e! - -12) < 1e-4, `the mask floor, ${e} dB`);
  });
});
