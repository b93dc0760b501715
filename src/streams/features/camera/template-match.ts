/**
 * Template matching by zero-mean normalised cross-correlation (NCC, Pearson's r between the template and the
 * image window under it), in pure typed-array code: used to track the mouth between landmark detections
 * (mouth-tracker.ts) and to locate a reference crop in its frame (`locateTemplate`, multi-scale).
 *
 * NCC at top-left position (u, v) of a template T (w×h) over image I:
 *   r(u, v) = Σ (I(u+x, v+y) − Ī_uv)(T(x, y) − T̄) / sqrt(Σ (I − Ī_uv)² · Σ (T − T̄)²)    ∈ [−1, 1]
 * Window sums Σ I and Σ I² come from integral images (float64), so a position costs one pass over the
 * template for the cross term only. Flat windows (variance ≈ 0) score 0. Invariant to gain and offset of the
 * image brightness, not to scale or rotation (`locateTemplate` searches scales explicitly).
 *
 * Coordinates: positions are top-left corners in image pixels (image.ts conventions); a match at (u, v)
 * covers [u, u + w) × [v, v + h). Sub-pixel refinement fits a parabola through the peak and its neighbours.
 */
import { resizeGray } from './resize.ts';
import type { GrayF32 } from './image.ts';
import type { Box } from './roi.ts';

export interface Match {
  /** Top-left corner of the best window (sub-pixel when refined), image pixels. */
  readonly x: number;
  readonly y: number;
  /** NCC at the best integer position, in [−1, 1]. */
  readonly score: number;
}

/** Integral images of I and I² with one row/column of zeros in front: S(x, y) = Σ_{x'<x, y'<y}. */
class Integral {
  readonly s: Float64Array;
  readonly s2: Float64Array;
  readonly stride: number;
  constructor(img: GrayF32) {
    const { width: w, height: h, data } = img;
    const stride = w + 1;
    const s = new Float64Array(stride * (h + 1));
    const s2 = new Float64Array(stride * (h + 1));
    for (let y = 0; y < h; y++) {
      let row = 0;
      let row2 = 0;
      for (let x = 0; x < w; x++) {
        const v = data[y * w + x]!;
        row += v;
        row2 += v * v;
        const k = (y + 1) * stride + x + 1;
        s[k] = s[k - stride]! + row;
        s2[k] = s2[k - stride]! + row2;
      }
    }
    this.s = s;
    this.s2 = s2;
    this.stride = stride;
  }
  /** Sum and sum of squares over [x, x + w) × [y, y + h). */
  window(x: number, y: number, w: number, h: number): [number, number] {
    const st = this.stride;
    const a = y * st + x;
    const b = a + w;
    const c = (y + h) * st + x;
    const d = c + w;
    return [
      this.s[d]! - this.s[b]! - this.s[c]! + this.s[a]!,
      this.s2[d]! - this.s2[b]! - this.s2[c]! + this.s2[a]!,
    ];
  }
}

/** A template prepared once for many searches: zero-mean values and their norm. */
export interface PreparedTemplate {
  readonly width: number;
  readonly height: number;
  readonly zeroMean: Float32Array;
  readonly norm: number;
}

export function prepareTemplate(t: GrayF32): PreparedTemplate {
  const n = t.width * t.height;
  if (n === 0 || t.data.length !== n) throw new RangeError(`template ${t.width}x${t.height}: bad size`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += t.data[i]!;
  mean /= n;
  const zeroMean = new Float32Array(n);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const v = t.data[i]! - mean;
    zeroMean[i] = v;
    ss += v * v;
  }
  return { width: t.width, height: t.height, zeroMean, norm: Math.sqrt(ss) };
}

export interface SearchRange {
  /** Inclusive ranges of top-left positions; clipped to where the template fits in the image. */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/**
 * Exhaustive NCC search of `template` over `image` for top-left positions in `range` (default: everywhere it
 * fits). Returns undefined when the template does not fit anywhere in the range or is flat.
 * With `subpixel`, the peak is refined by a parabola fit (only when its 4 neighbours were evaluated).
 */
export function matchTemplate(
  image: GrayF32,
  template: PreparedTemplate,
  range?: SearchRange,
  options: { subpixel?: boolean; integral?: Integral } = {},
): Match | undefined {
  const { width: tw, height: th, zeroMean, norm } = template;
  const iw = image.width;
  const x0 = Math.max(0, Math.ceil(range?.x0 ?? 0));
  const y0 = Math.max(0, Math.ceil(range?.y0 ?? 0));
  const x1 = Math.min(iw - tw, Math.floor(range?.x1 ?? Infinity));
  const y1 = Math.min(image.height - th, Math.floor(range?.y1 ?? Infinity));
  if (x1 < x0 || y1 < y0 || norm === 0) return undefined;
  const integral = options.integral ?? new Integral(image);
  const n = tw * th;
  const data = image.data;
  const gw = x1 - x0 + 1;
  const scores = new Float32Array(gw * (y1 - y0 + 1));
  let best = -Infinity;
  let bx = x0;
  let by = y0;
  for (let v = y0; v <= y1; v++) {
    for (let u = x0; u <= x1; u++) {
      let cross = 0;
      for (let y = 0, k = 0; y < th; y++) {
        let p = (v + y) * iw + u;
        for (let x = 0; x < tw; x++, k++, p++) cross += data[p]! * zeroMean[k]!;
      }
      const [s, s2] = integral.window(u, v, tw, th);
      const varSum = s2 - (s * s) / n;
      const r = varSum > 1e-6 * n ? cross / (Math.sqrt(varSum) * norm) : 0;
      scores[(v - y0) * gw + (u - x0)] = r;
      if (r > best) {
        best = r;
        bx = u;
        by = v;
      }
    }
  }
  let x = bx;
  let y = by;
  if (options.subpixel === true) {
    const at = (u: number, v: number): number => scores[(v - y0) * gw + (u - x0)]!;
    if (bx > x0 && bx < x1) x += parabolaPeak(at(bx - 1, by), best, at(bx + 1, by));
    if (by > y0 && by < y1) y += parabolaPeak(at(bx, by - 1), best, at(bx, by + 1));
  }
  // Rounding can push a perfect match a hair past 1.
  return { x, y, score: Math.min(1, Math.max(-1, best)) };
}

/** Offset in (−0.5, 0.5) of the vertex of the parabola through (−1, a), (0, b), (1, c); 0 if degenerate. */
function parabolaPeak(a: number, b: number, c: number): number {
  const d = a - 2 * b + c;
  if (!(d < 0)) return 0;
  const off = (0.5 * (a - c)) / d;
  return Math.max(-0.5, Math.min(0.5, off));
}

export interface LocateOptions {
  /**
   * Scales to try: the template is resampled to (w·s)×(h·s) image pixels for each s. Default: 0.5 … 2.0 in
   * 2 % geometric steps.
   */
  readonly scales?: readonly number[];
  /** Coarse-to-fine: the scale search runs on images downsampled by this factor (default 2; 1 = off). */
  readonly coarseFactor?: number;
  /** Fine search half-width around the coarse peak, in full-resolution pixels (default 2 × coarseFactor). */
  readonly refineRadius?: number;
  /** Relative scale steps tried around the best coarse scale at full resolution (default ±3 % by 0.5 %). */
  readonly refineScales?: readonly number[];
}

export interface Located {
  /** Where the template lies in the image (image pixels, continuous coordinates). */
  readonly box: Box;
  /** Image pixels per template pixel. */
  readonly scale: number;
  readonly score: number;
}

/** Geometric sequence from `lo` to `hi` (inclusive) in steps of `ratio`. */
export function geometricScales(lo: number, hi: number, ratio: number): number[] {
  const out: number[] = [];
  for (let s = lo; s <= hi * (1 + 1e-9); s *= ratio) out.push(s);
  return out;
}

/**
 * Finds where `template` (e.g. a reference mouth crop cut from a possibly rescaled frame) lies in `image`:
 * exhaustive NCC over positions × `scales` on a downsampled pair (coarse), then a full-resolution search of
 * ±`refineRadius` px and `refineScales` around the coarse winner. Sizes are rounded to whole pixels at each
 * scale; the reported box uses the scale actually searched. Undefined if the template never fits.
 */
export function locateTemplate(
  image: GrayF32,
  template: GrayF32,
  options: LocateOptions = {},
): Located | undefined {
  const scales = options.scales ?? geometricScales(0.5, 2, 1.02);
  const f = Math.max(1, Math.round(options.coarseFactor ?? 2));
  const radius = options.refineRadius ?? 2 * f;
  const refine = options.refineScales ?? [
    -0.03, -0.025, -0.02, -0.015, -0.01, -0.005, 0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03,
  ];
  const small =
    f === 1 ? image : resizeGray(image, Math.round(image.width / f), Math.round(image.height / f));
  const smallIntegral = new Integral(small);
  let coarse: { x: number; y: number; s: number; score: number } | undefined;
  for (const s of scales) {
    const w = Math.round((template.width * s) / f);
    const h = Math.round((template.height * s) / f);
    if (w < 4 || h < 4 || w > small.width || h > small.height) continue;
    const m = matchTemplate(small, prepareTemplate(resizeGray(template, w, h)), undefined, {
      integral: smallIntegral,
    });
    if (m !== undefined && (coarse === undefined || m.score > coarse.score))
      coarse = { x: m.x * f, y: m.y * f, s, score: m.score };
  }
  if (coarse === undefined) return undefined;
  const fullIntegral = new Integral(image);
  let best: Located | undefined;
  for (const ds of refine) {
    const s = coarse.s * (1 + ds);
    const w = Math.round(template.width * s);
    const h = Math.round(template.height * s);
    if (w > image.width || h > image.height) continue;
    const m = matchTemplate(
      image,
      prepareTemplate(resizeGray(template, w, h)),
      { x0: coarse.x - radius, y0: coarse.y - radius, x1: coarse.x + radius, y1: coarse.y + radius },
      { subpixel: true, integral: fullIntegral },
    );
    if (m !== undefined && (best === undefined || m.score > best.score))
      best = { box: { x: m.x, y: m.y, width: w, height: h }, scale: w / template.width, score: m.score };
  }
  return best;
}

/**
 * Locates templates[i] in images[i] for a sequence (e.g. reference mouth crops of a clip): the first pair
 * searches all `scales` (default 0.5–2.0 by 2 %) over the whole image; every later pair searches the whole
 * image again but only scales within ±`scaleBand` (default 4 %) of the previous pair's scale, in 1 % steps
 * (a clip's crops come from one face at a slowly changing distance). Positions are never restricted.
 */
export function locateTemplateSequence(
  images: readonly GrayF32[],
  templates: readonly GrayF32[],
  options: LocateOptions & { readonly scaleBand?: number } = {},
): (Located | undefined)[] {
  if (images.length !== templates.length)
    throw new RangeError(`${images.length} images but ${templates.length} templates`);
  const band = options.scaleBand ?? 0.04;
  const out: (Located | undefined)[] = [];
  let prev: number | undefined;
  for (let i = 0; i < images.length; i++) {
    const scales =
      prev === undefined
        ? options.scales
        : Array.from({ length: Math.round((2 * band) / 0.01) + 1 }, (_, k) => prev! * (1 - band + k * 0.01));
    const r = locateTemplate(images[i]!, templates[i]!, { ...options, ...(scales ? { scales } : {}) });
    out.push(r);
    if (r !== undefined) prev = r.scale;
  }
  return out;
}

export { Integral };
