/**
 * Crop + resize of a region of an image to the model's input size, with area averaging (anti-aliased).
 *
 * Resampling: separable weights per axis. Each output pixel i covers the source interval
 * [start + i·s, start + (i + 1)·s) with s = length / outN source pixels.
 * - s ≥ 1 (downscaling, the normal case: a ~60–120 px mouth box to 24 px): the exact mean of the source over
 *   that interval (a box filter weighted by fractional pixel coverage, OpenCV's INTER_AREA), which does not
 *   alias the way point sampling does.
 * - s < 1 (upscaling a tiny box): linear interpolation at the interval's centre.
 * Source samples outside the image are clamped to the nearest edge pixel (replicate border), so a box that
 * sticks out of the frame still gives a full-size, finite output.
 *
 * Output of `cropResize`: Float32Array, values = 8-bit value / 255, so in [0, 1]; never NaN for a valid image.
 * Layouts (for the model, see also mouth-extractor.ts):
 *   'hwc' interleaved: index (y · outW + x) · C + c   — TF.js NHWC without the batch axis (default)
 *   'chw' planar:      index (c · outH + y) · outW + x — ONNX/PyTorch NCHW without the batch axis
 * with C = 3 (R, G, B) or 1 (BT.601 luma), y = 0 the top row.
 */
import type { GrayF32, Image8 } from './image.ts';
import type { Box } from './roi.ts';

export type TensorLayout = 'hwc' | 'chw';
export type ColorMode = 'rgb' | 'gray';

/** Sparse resampling weights of one axis: for output i, taps idx[off[i] .. off[i + 1]) with weights w. */
interface AxisWeights {
  readonly off: Int32Array;
  readonly idx: Int32Array;
  readonly w: Float32Array;
}

/** Weights for resampling [start, start + length) of a srcN-pixel axis to outN pixels (see the header). */
function axisWeights(start: number, length: number, outN: number, srcN: number): AxisWeights {
  const s = length / outN;
  const off = new Int32Array(outN + 1);
  const idx: number[] = [];
  const w: number[] = [];
  const clamp = (p: number): number => (p < 0 ? 0 : p >= srcN ? srcN - 1 : p);
  for (let i = 0; i < outN; i++) {
    off[i] = idx.length;
    const a = start + i * s;
    const b = a + s;
    if (s >= 1) {
      for (let p = Math.floor(a); p < b; p++) {
        const cover = Math.min(b, p + 1) - Math.max(a, p);
        if (cover <= 0) continue;
        idx.push(clamp(p));
        w.push(cover / s);
      }
    } else {
      const c = (a + b) / 2 - 0.5; // in pixel-centre coordinates
      const p = Math.floor(c);
      const t = c - p;
      idx.push(clamp(p), clamp(p + 1));
      w.push(1 - t, t);
    }
  }
  off[outN] = idx.length;
  return { off, idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

function checkOut(outW: number, outH: number): void {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1)
    throw new RangeError(`output size ${outW}x${outH} must be positive integers`);
}

function checkBox(box: Box): void {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite) || box.width <= 0 || box.height <= 0)
    throw new RangeError(`box ${JSON.stringify(box)} must be finite with a positive size`);
}

export interface CropResizeOptions {
  /** 'rgb' (3 channels, default) or 'gray' (BT.601 luma, 1 channel). A gray image in 'rgb' mode gives R = G = B. */
  readonly color?: ColorMode;
  /** Default 'hwc'. */
  readonly layout?: TensorLayout;
  /** Reuse this buffer (length outW · outH · C) instead of allocating. */
  readonly out?: Float32Array;
}

/**
 * Resamples `box` (image pixels, continuous coordinates: image.ts) of `img` to outW × outH, normalised to
 * [0, 1] (value / 255), in the requested color mode and layout.
 */
export function cropResize(
  img: Image8,
  box: Box,
  outW: number,
  outH: number,
  options: CropResizeOptions = {},
): Float32Array {
  checkOut(outW, outH);
  checkBox(box);
  const color = options.color ?? 'rgb';
  const layout = options.layout ?? 'hwc';
  const C = color === 'rgb' ? 3 : 1;
  const n = outW * outH * C;
  const out = options.out ?? new Float32Array(n);
  if (out.length !== n) throw new RangeError(`out buffer has ${out.length} values, ${n} needed`);
  const wx = axisWeights(box.x, box.width, outW, img.width);
  const wy = axisWeights(box.y, box.height, outH, img.height);
  const src = img.data;
  const sc = img.channels;
  const iw = img.width;
  const acc = new Float64Array(3);
  const planeSize = outW * outH;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      acc[0] = 0;
      acc[1] = 0;
      acc[2] = 0;
      for (let ky = wy.off[oy]!; ky < wy.off[oy + 1]!; ky++) {
        const rowBase = wy.idx[ky]! * iw;
        const wyk = wy.w[ky]!;
        for (let kx = wx.off[ox]!; kx < wx.off[ox + 1]!; kx++) {
          const wk = wyk * wx.w[kx]!;
          const p = (rowBase + wx.idx[kx]!) * sc;
          if (sc === 3) {
            acc[0] += wk * src[p]!;
            acc[1] += wk * src[p + 1]!;
            acc[2] += wk * src[p + 2]!;
          } else {
            acc[0] += wk * src[p]!;
          }
        }
      }
      let r: number;
      let g: number;
      let b: number;
      if (sc === 3) {
        r = acc[0]!;
        g = acc[1]!;
        b = acc[2]!;
      } else {
        r = g = b = acc[0]!;
      }
      const pix = oy * outW + ox;
      if (C === 1) {
        out[pix] = sc === 3 ? (0.299 * r + 0.587 * g + 0.114 * b) / 255 : r / 255;
      } else if (layout === 'hwc') {
        out[pix * 3] = r / 255;
        out[pix * 3 + 1] = g / 255;
        out[pix * 3 + 2] = b / 255;
      } else {
        out[pix] = r / 255;
        out[planeSize + pix] = g / 255;
        out[2 * planeSize + pix] = b / 255;
      }
    }
  }
  // Rounding in the weights can overshoot 1 by an ulp or two; keep the documented range exact.
  for (let i = 0; i < n; i++) {
    const v = out[i]!;
    if (v > 1) out[i] = 1;
    else if (v < 0) out[i] = 0;
  }
  return out;
}

/** Whole-image resample of a float gray image (same weights; values keep their range). */
export function resizeGray(img: GrayF32, outW: number, outH: number): GrayF32 {
  if (outW === img.width && outH === img.height) return img;
  return cropResizeGray(img, { x: 0, y: 0, width: img.width, height: img.height }, outW, outH);
}

/** A region of a float gray image resampled to outW × outH (same weights and border rule as `cropResize`). */
export function cropResizeGray(img: GrayF32, box: Box, outW: number, outH: number): GrayF32 {
  checkOut(outW, outH);
  checkBox(box);
  const wx = axisWeights(box.x, box.width, outW, img.width);
  const wy = axisWeights(box.y, box.height, outH, img.height);
  const out = new Float32Array(outW * outH);
  const src = img.data;
  const iw = img.width;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let acc = 0;
      for (let ky = wy.off[oy]!; ky < wy.off[oy + 1]!; ky++) {
        const rowBase = wy.idx[ky]! * iw;
        const wyk = wy.w[ky]!;
        for (let kx = wx.off[ox]!; kx < wx.off[ox + 1]!; kx++)
          acc += wyk * wx.w[kx]! * src[rowBase + wx.idx[kx]!]!;
      }
      out[oy * outW + ox] = acc;
    }
  }
  return { width: outW, height: outH, data: out };
}
