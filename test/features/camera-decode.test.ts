import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CameraFrameError, decodeFrame, decodeJpeg } from '../../src/streams/features/camera/decode.ts';
import { toGray8, toGrayF32, toRgb8 } from '../../src/streams/features/camera/image.ts';
import { REPO_ROOT } from '../readers/shared-data.ts';
import { hasFfmpeg } from '../../scripts/make-camera-fixtures.ts';

const FRAME = join(REPO_ROOT, 'devices/sample-drive/camera/000001.jpg');
const jpeg = new Uint8Array(readFileSync(FRAME));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CameraFrameError, `expected a CameraFrameError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${e.code}: `), 'e.message.startsWith(`${e.code}: `)');
    return e.code;
  }
  return 'no error';
}

describe('decodeJpeg', () => {
  test('decodes a committed 360×288 frame to interleaved RGB', () => {
    const img = decodeJpeg(jpeg);
    assert.equal(img.width, 360);
    assert.equal(img.height, 288);
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, 360 * 288 * 3);
    // GRID's blue background: the top-left pixel is clearly blue (R, G, B order, not BGR).
    const [r, g, b] = [img.data[0]!, img.data[1]!, img.data[2]!];
    assert.ok(b > r + 40 && b > g + 20, `top-left pixel ${r},${g},${b} should be blue`);
  });

  test(
    'agrees with ffmpeg’s decoder to within JPEG decoder rounding',
    { skip: !hasFfmpeg() && 'needs ffmpeg' },
    () => {
      const ref = execFileSync('ffmpeg', [
        '-v',
        'error',
        '-i',
        FRAME,
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-',
      ]);
      const img = decodeJpeg(jpeg);
      assert.equal(ref.length, img.data.length);
      let sum = 0;
      for (let i = 0; i < ref.length; i++) sum += Math.abs(ref[i]! - img.data[i]!);
      const mae = sum / ref.length;
      assert.ok(mae < 2.5, `mean absolute difference ${mae.toFixed(2)} levels`);
    },
  );

  test('refuses empty, non-JPEG, truncated and oversized data with a coded error', () => {
    assert.equal(
      code(() => decodeJpeg(new Uint8Array(0))),
      'empty',
    );
    assert.equal(
      code(() => decodeJpeg(new Uint8Array(100))),
      'corrupt-jpeg',
    );
    assert.equal(
      code(() => decodeJpeg(jpeg.subarray(0, jpeg.length - 1))),
      'corrupt-jpeg',
    );
    // Truncated in the middle of the scan, EOI re-appended: the entropy decoder runs out of data.
    const cut = Uint8Array.from([...jpeg.subarray(0, 2000), 0xff, 0xd9]);
    assert.equal(
      code(() => decodeJpeg(cut)),
      'corrupt-jpeg',
    );
    assert.equal(
      code(() => decodeJpeg(jpeg, { maxPixels: 360 * 288 - 1 })),
      'too-large',
    );
    assert.equal(decodeJpeg(jpeg, { maxPixels: 360 * 288 }).width, 360);
  });

  test('fuzz: damaged JPEGs decode to the declared size or throw CameraFrameError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(jpeg.length - 1), v: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.option(fc.nat(jpeg.length), { nil: undefined }),
        (edits, cut) => {
          const b = Uint8Array.from(cut === undefined ? jpeg : jpeg.subarray(0, cut));
          for (const { at, v } of edits) if (at < b.length) b[at] = v;
          try {
            const img = decodeJpeg(b);
            assert.equal(img.data.length, img.width * img.height * 3);
          } catch (e) {
            assert.ok(e instanceof CameraFrameError, String(e));
            assert.ok(['corrupt-jpeg', 'too-large', 'empty'].includes(e.code), e.code);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('decodeFrame', () => {
  test('raw gray8 and rgb24 are used in place, with their channel count', () => {
    const gray = new Uint8Array(6 * 4).map((_, i) => i);
    const g = decodeFrame({ pixelFormat: 'gray8', width: 6, height: 4, data: gray });
    assert.equal(g.channels, 1);
    assert.equal(g.data, gray);
    const rgb = new Uint8Array(6 * 4 * 3);
    const c = decodeFrame({ pixelFormat: 'rgb24', width: 6, height: 4, data: rgb });
    assert.equal(c.channels, 3);
    assert.equal(c.data, rgb);
  });

  test('JPEG size given in the message must match the JPEG; 0×0 means unknown', () => {
    assert.equal(decodeFrame({ pixelFormat: 'jpeg', width: 0, height: 0, data: jpeg }).width, 360);
    assert.equal(decodeFrame({ pixelFormat: 'jpeg', width: 360, height: 288, data: jpeg }).height, 288);
    assert.equal(
      code(() => decodeFrame({ pixelFormat: 'jpeg', width: 640, height: 480, data: jpeg })),
      'size-mismatch',
    );
  });

  test('raw frames: empty, missing size, wrong length and too large are refused', () => {
    assert.equal(
      code(() => decodeFrame({ pixelFormat: 'gray8', width: 4, height: 4, data: new Uint8Array(0) })),
      'empty',
    );
    assert.equal(
      code(() => decodeFrame({ pixelFormat: 'gray8', width: 0, height: 4, data: new Uint8Array(4) })),
      'bad-size',
    );
    assert.equal(
      code(() => decodeFrame({ pixelFormat: 'rgb24', width: 4, height: 4, data: new Uint8Array(16) })),
      'bad-size',
    );
    assert.equal(
      code(() => decodeFrame({ pixelFormat: 'gray8', width: 2.5, height: 4, data: new Uint8Array(10) })),
      'bad-size',
    );
    assert.equal(
      code(() =>
        decodeFrame(
          { pixelFormat: 'gray8', width: 100, height: 100, data: new Uint8Array(10_000) },
          { maxPixels: 9_999 },
        ),
      ),
      'too-large',
    );
  });
});

describe('gray/RGB conversion', () => {
  test('BT.601 luma of pure primaries; gray ↔ RGB round trip', () => {
    const rgb = {
      width: 3,
      height: 1,
      channels: 3 as const,
      data: Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255),
    };
    assert.deepEqual(
      Array.from(toGrayF32(rgb).data, (v) => Math.round(v * 1000) / 1000),
      [76.245, 149.685, 29.07],
    );
    assert.deepEqual(Array.from(toGray8(rgb).data), [76, 150, 29]);
    const gray = { width: 2, height: 1, channels: 1 as const, data: Uint8Array.of(7, 200) };
    assert.deepEqual(Array.from(toRgb8(gray).data), [7, 7, 7, 200, 200, 200]);
    assert.deepEqual(Array.from(toGray8(toRgb8(gray)).data), [7, 200]);
  });
});
