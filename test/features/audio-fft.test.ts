import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FftJsRealFft, RadixFourRealFft, createRealFft } from '../../src/streams/features/audio/fft.ts';
import type { FftImplementation } from '../../src/streams/features/audio/fft.ts';
import { prng } from '../support/fixtures.ts';

/** Uniform in [−1, 1) from the shared deterministic PRNG. */
function rng(seed: number): () => number {
  const next = prng(seed);
  return () => next() * 2 - 1;
}

/** Reference DFT bins 0..N/2 (direct sum, exact angle reduction). */
function naiveDft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const h = n / 2 + 1;
  const re = new Float64Array(h);
  const im = new Float64Array(h);
  for (let k = 0; k < h; k++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < n; j++) {
      const ang = (2 * Math.PI * ((k * j) % n)) / n;
      a += x[j]! * Math.cos(ang);
      b -= x[j]! * Math.sin(ang);
    }
    re[k] = a;
    im[k] = b;
  }
  return { re, im };
}

const IMPLS: FftImplementation[] = ['radix4', 'fft.js'];
const SIZES = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

describe('real FFT', () => {
  for (const impl of IMPLS) {
    test(`${impl}: forward equals the direct DFT (sizes 4..2048)`, () => {
      const r = rng(1);
      for (const n of SIZES) {
        const x = Float64Array.from({ length: n }, r);
        const ref = naiveDft(x);
        const f = createRealFft(n, impl);
        const re = new Float64Array(n / 2 + 1);
        const im = new Float64Array(n / 2 + 1);
        f.forward(x, re, im);
        let err = 0;
        let norm = 0;
        for (let k = 0; k <= n / 2; k++) {
          err = Math.max(err, Math.hypot(re[k]! - ref.re[k]!, im[k]! - ref.im[k]!));
          norm = Math.max(norm, Math.hypot(ref.re[k]!, ref.im[k]!));
        }
        assert.ok(err <= 1e-12 * norm * Math.log2(n), `${impl} N=${n}: error ${err} (norm ${norm})`);
        assert.equal(im[0], 0);
        assert.equal(im[n / 2], 0);
      }
    });

    test(`${impl}: inverse(forward(x)) = x and inverse of a random Hermitian spectrum = direct IDFT`, () => {
      const r = rng(2);
      for (const n of SIZES) {
        const h = n / 2 + 1;
        const f = createRealFft(n, impl);
        const x = Float64Array.from({ length: n }, r);
        const re = new Float64Array(h);
        const im = new Float64Array(h);
        const y = new Float64Array(n);
        f.forward(x, re, im);
        f.inverse(re, im, y);
        for (let j = 0; j < n; j++) assert.ok(Math.abs(y[j]! - x[j]!) < 1e-13, `${impl} N=${n} round trip`);
        // A spectrum with non-zero Im at DC and Nyquist: those parts are ignored (real signal).
        const sr = Float64Array.from({ length: h }, r);
        const si = Float64Array.from({ length: h }, r);
        f.inverse(sr, si, y);
        for (let j = 0; j < n; j += Math.max(1, n / 64)) {
          let v = sr[0]! + sr[h - 1]! * (j % 2 === 0 ? 1 : -1);
          for (let k = 1; k < h - 1; k++) {
            const ang = (2 * Math.PI * ((k * j) % n)) / n;
            v += 2 * (sr[k]! * Math.cos(ang) - si[k]! * Math.sin(ang));
          }
          assert.ok(Math.abs(y[j]! - v / n) < 1e-12, `${impl} N=${n} inverse at ${j}: ${y[j]} vs ${v / n}`);
        }
      }
    });
  }

  test('both implementations agree on the AVDCNN size (512) and leave their inputs untouched', () => {
    const r = rng(3);
    const x = Float64Array.from({ length: 512 }, r);
    const copy = x.slice();
    const a = new RadixFourRealFft(512);
    const b = new FftJsRealFft(512);
    const [ar, ai, br, bi] = [0, 0, 0, 0].map(() => new Float64Array(257)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    a.forward(x, ar, ai);
    b.forward(x, br, bi);
    assert.deepEqual(x, copy);
    for (let k = 0; k < 257; k++) {
      assert.ok(Math.abs(ar[k]! - br[k]!) < 1e-11);
      assert.ok(Math.abs(ai[k]! - bi[k]!) < 1e-11);
    }
    const sr = ar.slice();
    const ya = new Float64Array(512);
    a.inverse(ar, ai, ya);
    assert.deepEqual(ar, sr);
  });

  test('sizes that are not powers of two (or too small) are refused', () => {
    for (const impl of IMPLS) {
      for (const n of [0, 1, 2, 3, 6, 320, 511, 2.5]) {
        assert.throws(() => createRealFft(n, impl), /power of two/, `${impl} ${n}`);
      }
    }
  });
});
