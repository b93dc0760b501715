/**
 * Camera frame decoding: JPEG (baseline and progressive, via the pure-JS `jpeg-js`) and raw gray8 / rgb24
 * payloads of a `CameraFrame` into an `Image8` (layout: image.ts — row-major, top-left origin, interleaved).
 *
 * - JPEG → always 3 channels R, G, B (a grayscale JPEG comes out with R = G = B; CMYK is converted by jpeg-js).
 *   The data must start with SOI and end with EOI (`jpegSize`), so a truncated frame is refused before any
 *   decoding; errors inside the scan (bad Huffman code, a marker where data should be, …) are refused too,
 *   and `tolerantDecoding` is off so jpeg-js also throws for blocks outside the image instead of skipping them.
 *   Damage that still decodes (flipped bits inside the entropy-coded data) cannot be detected: JPEG has no
 *   checksum.
 * - gray8 → 1 channel, rgb24 → 3 channels; the payload is used in place (no copy).
 *
 * Every refusal is a `CameraFrameError` with a stable `code` (counted by the extractors); no other exception
 * type escapes `decodeFrame`. Cost (bench/features/camera.ts, one core): jpeg-js decodes a 360×288 frame in
 * ≈ 5 ms, and time grows with the pixel count — the slowest stage of the fixed-ROI path by far.
 */
import jpeg from 'jpeg-js';
import type { CameraFrame } from '../../contracts/messages.ts';
import { jpegSize } from '../../readers/sample-drive.ts';
import type { Image8 } from './image.ts';

export type CameraFrameErrorCode =
  | 'empty' // no payload
  | 'corrupt-jpeg' // not a JPEG, truncated, or the entropy-coded data does not decode
  | 'bad-size' // raw frame without a valid size, or payload length ≠ width × height × channels
  | 'size-mismatch' // the JPEG's own size differs from the size the message states
  | 'too-large'; // more pixels than `maxPixels`

export class CameraFrameError extends Error {
  constructor(
    readonly code: CameraFrameErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'CameraFrameError';
  }
}

export interface DecodeOptions {
  /** Refuse frames with more pixels than this (before decoding). Default 1920 × 1080. */
  readonly maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 1920 * 1080;

/** What `decodeFrame` needs of a `CameraFrame`. */
export type FramePayload = Pick<CameraFrame, 'pixelFormat' | 'width' | 'height' | 'data'>;

/**
 * Decodes a JPEG into RGB. Throws `CameraFrameError` ('empty', 'corrupt-jpeg', 'too-large').
 */
export function decodeJpeg(bytes: Uint8Array, options: DecodeOptions = {}): Image8 {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.byteLength === 0) throw new CameraFrameError('empty', 'JPEG payload has no bytes');
  let size: { width: number; height: number };
  try {
    size = jpegSize(bytes); // SOI at the start, EOI at the end, SOF before the scan
  } catch (e) {
    throw new CameraFrameError('corrupt-jpeg', (e as Error).message);
  }
  if (size.width === 0 || size.height === 0)
    throw new CameraFrameError('corrupt-jpeg', `JPEG declares a ${size.width}x${size.height} image`);
  if (size.width * size.height > maxPixels)
    throw new CameraFrameError(
      'too-large',
      `JPEG ${size.width}x${size.height} exceeds ${maxPixels} pixels (maxPixels)`,
    );
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: Math.max(1, maxPixels / 1e6),
      maxMemoryUsageInMB: 64 + Math.ceil((maxPixels * 16) / (1024 * 1024)),
    });
  } catch (e) {
    throw new CameraFrameError('corrupt-jpeg', `JPEG does not decode: ${(e as Error).message ?? String(e)}`);
  }
  const { width, height, data } = raw;
  if (width !== size.width || height !== size.height || data.length !== width * height * 3)
    throw new CameraFrameError(
      'corrupt-jpeg',
      `JPEG decoded to ${width}x${height} (${data.length} bytes), header says ${size.width}x${size.height}`,
    );
  return { width, height, channels: 3, data };
}

/**
 * Decodes a camera frame's payload. For JPEG, a non-zero `width`/`height` in the message must equal the
 * JPEG's own size ('size-mismatch'); zero means "not given". Raw frames must give their size and hold exactly
 * width × height × (1 | 3) bytes ('bad-size').
 */
export function decodeFrame(frame: FramePayload, options: DecodeOptions = {}): Image8 {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { pixelFormat, width, height, data } = frame;
  if (data.byteLength === 0) throw new CameraFrameError('empty', `${pixelFormat} frame has no payload`);
  if (pixelFormat === 'jpeg') {
    const img = decodeJpeg(data, options);
    if ((width !== 0 || height !== 0) && (img.width !== width || img.height !== height))
      throw new CameraFrameError(
        'size-mismatch',
        `JPEG is ${img.width}x${img.height}, the message says ${width}x${height}`,
      );
    return img;
  }
  const channels = pixelFormat === 'gray8' ? 1 : 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new CameraFrameError('bad-size', `raw ${pixelFormat} frame needs a size, got ${width}x${height}`);
  if (width * height > maxPixels)
    throw new CameraFrameError('too-large', `${width}x${height} exceeds ${maxPixels} pixels (maxPixels)`);
  const expected = width * height * channels;
  if (data.byteLength !== expected)
    throw new CameraFrameError(
      'bad-size',
      `${width}x${height} ${pixelFormat} needs ${expected} bytes, ${data.byteLength} present`,
    );
  return { width, height, channels, data };
}
