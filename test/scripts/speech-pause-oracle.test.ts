import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oraclePauses } from '../../scripts/speech-pause-oracle.ts';

/** 16 kHz: `loudS` of a 0.5-amplitude tone, then `quietS` at `quietDb` below it, then the tone again. */
function signal(loudS: number, quietS: number, quietDb: number): Float32Array {
  const n = (s: number) => Math.round(s * 16_000);
  const x = new Float32Array(2 * n(loudS) + n(quietS));
  const quiet = 10 ** (quietDb / 20);
  for (let i = 0; i < x.length; i++) {
    const inQuiet = i >= n(loudS) && i < n(loudS) + n(quietS);
    x[i] = 0.5 * (inQuiet ? quiet : 1) * Math.sin((2 * Math.PI * 440 * i) / 16_000);
  }
  return x;
}

describe('speech-pause-oracle: the long pauses of the clean signal', () => {
  it('marks a quiet run of at least 8 frames of 40 ms, more than 30 dB down, less its first and last frames', () => {
    const m = oraclePauses(signal(0.4, 0.48, -40)); // 12 quiet frames at 40 ms: frames 10 to 21
    const frame = 640;
    assert.equal(m[10 * frame], 0); // the run's first frame is left alone
    assert.equal(m[11 * frame], 1);
    assert.equal(m[21 * frame - 1], 1);
    assert.equal(m[21 * frame], 0); // and its last
    assert.equal(
      m.reduce((s, v) => s + v, 0),
      10 * frame,
    );
  });

  it('leaves short pauses and shallow dips alone', () => {
    assert.equal(
      oraclePauses(signal(0.4, 0.24, -40)).reduce((s, v) => s + v, 0),
      0,
    ); // 6 frames: too short
    assert.equal(
      oraclePauses(signal(0.4, 0.48, -20)).reduce((s, v) => s + v, 0),
      0,
    ); // only 20 dB down
  });
});
