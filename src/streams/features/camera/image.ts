/**
 * Typed images for the camera feature path.
 *
 * Pixel layout (every `Image8` and `GrayF32` in this directory):
 * - row-major, origin at the top-left corner, x to the right, y down, no row padding;
 * - channels interleaved: sample (x, y, c) is at `data[(y * width + x) * channels + c]`;
 *   `channels` 1 = gray (luma), 3 = R, G, B in that order (never BGR, never RGBA).
 *
 * Coordinate convention for boxes and points (roi.ts, landmarks.ts, template-match.ts): continuous pixel
 * coordinates in which pixel (i, j) covers [i, i + 1) × [j, j + 1); its centre is (i + 0.5, j + 0.5).
 */

export type Channels = 1 | 3;

/** 8-bit image (see the layout above). */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
  readonly data: Uint8Array;
}

/** Single-channel float image, same layout; values in whatever range its producer states (here 0..255). */
export interface GrayF32 {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** Throws a `RangeError` unless `img` is a well-formed image (integer size ≥ 1, data of the exact length). */
export function assertImage(img: Image8, what = 'image'): void {
  const { width, height, channels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`${what}: size ${width}x${height} is not a positive integer size`);
  if (channels !== 1 && channels !== 3)
    throw new RangeError(`${what}: ${String(channels)} channels (1 or 3)`);
  const n = width * height * channels;
  if (img.data.length !== n)
    throw new RangeError(`${what}: ${width}x${height}x${channels} needs ${n} bytes, has ${img.data.length}`);
}

/**
 * Luma of an image as floats in 0..255: BT.601 weights (Y' = 0.299 R + 0.587 G + 0.114 B) on the stored
 * (gamma-encoded) values, as JPEG's own YCbCr uses. A gray image is copied.
 */
export function toGrayF32(img: Image8): GrayF32 {
  const { width, height, data } = img;
  const n = width * height;
  const out = new Float32Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = data[i]!;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[i] = 0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!;
    }
  }
  return { width, height, data: out };
}

/** 8-bit luma image (rounded `toGrayF32`). */
export function toGray8(img: Image8): Image8 {
  if (img.channels === 1) return img;
  const g = toGrayF32(img);
  const data = new Uint8Array(g.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(g.data[i]!);
  return { width: img.width, height: img.height, channels: 1, data };
}

/** RGB image from a gray one (R = G = B = Y); an RGB image is returned as is. */
export function toRgb8(img: Image8): Image8 {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const v = img.data[i]!;
    data[j] = v;
    data[j + 1] = v;
    data[j + 2] = v;
  }
  return { width: img.width, height: img.height, channels: 3, data };
}
