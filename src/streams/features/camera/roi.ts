/**
 * Mouth region of interest: boxes, the fixed region of a fixed in-car camera, the box around the mouth
 * landmarks, and temporal smoothing of the box.
 *
 * Box convention: `{ x, y, width, height }` in pixels of the full frame, continuous coordinates (image.ts):
 * the box covers [x, x + width) × [y, y + height), origin at the frame's top-left corner, y down. Boxes may be
 * fractional and may extend past the frame (cropResize replicates the border there).
 */
import { z } from 'zod';
import type { Point } from './landmarks.ts';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Intersection over union of two boxes; 0 when either is empty or they do not overlap. */
export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 && inter > 0 ? inter / union : 0;
}

export function isFiniteBox(b: Box): boolean {
  return [b.x, b.y, b.width, b.height].every(Number.isFinite) && b.width > 0 && b.height > 0;
}

/** Fraction of the box's area inside a width × height frame. */
export function fractionInside(b: Box, width: number, height: number): number {
  const ix = Math.max(0, Math.min(b.x + b.width, width) - Math.max(b.x, 0));
  const iy = Math.max(0, Math.min(b.y + b.height, height) - Math.max(b.y, 0));
  return (ix * iy) / (b.width * b.height);
}

// ---------------------------------------------------------------------------------------------------------
// Fixed region (a fixed in-car camera)
// ---------------------------------------------------------------------------------------------------------

/**
 * A fixed mouth region. `units: 'px'`: frame pixels; `units: 'fraction'`: fractions of the frame's width
 * (x, width) and height (y, height), so the same config survives a resolution change.
 */
export const fixedRoiSchema = z
  .strictObject({
    x: z.number().finite().min(0),
    y: z.number().finite().min(0),
    width: z.number().finite().positive(),
    height: z.number().finite().positive(),
    units: z.enum(['px', 'fraction']).default('px'),
  })
  .refine((r) => r.units === 'px' || (r.x + r.width <= 1 && r.y + r.height <= 1), {
    message: "with units 'fraction', x + width and y + height must be ≤ 1",
  });

export type FixedRoi = z.infer<typeof fixedRoiSchema>;

/**
 * The fixed region in pixels of a width × height frame. Throws a `RangeError` when a pixel region does not lie
 * inside the frame (a frame smaller than the configured one: a wrong camera mode, reported, not cropped).
 */
export function resolveFixedRoi(roi: FixedRoi, width: number, height: number): Box {
  const box =
    roi.units === 'fraction'
      ? { x: roi.x * width, y: roi.y * height, width: roi.width * width, height: roi.height * height }
      : { x: roi.x, y: roi.y, width: roi.width, height: roi.height };
  if (box.x + box.width > width + 1e-9 || box.y + box.height > height + 1e-9)
    throw new RangeError(
      `fixed ROI ${box.width}x${box.height} at (${box.x}, ${box.y}) px does not fit a ${width}x${height} frame`,
    );
  return box;
}

// ---------------------------------------------------------------------------------------------------------
// Box from the 68 face landmarks
// ---------------------------------------------------------------------------------------------------------

/** Mouth landmarks in the 68-point scheme: 48–59 outer lip contour, 60–67 inner. */
export const MOUTH_FIRST = 48;
export const MOUTH_LAST = 67;
/** Left and right mouth corners (the subject's right and left), points 48 and 54. */
export const MOUTH_CORNERS = [48, 54] as const;

export interface MouthBoxOptions {
  /** Box width / mouth width (corner-to-corner distance, points 48–54). Default 2.0. */
  readonly widthScale?: number;
  /** Box width / height: the model input's aspect. Default 24 / 16 = 1.5 (see mouth-extractor.ts). */
  readonly aspect?: number;
  /** The box height is at least this × the lips' vertical extent (points 48–67), for a wide-open mouth. Default 1.4. */
  readonly minHeightScale?: number;
}

export const MOUTH_BOX_DEFAULTS: Required<MouthBoxOptions> = {
  widthScale: 2.0,
  aspect: 24 / 16,
  minHeightScale: 1.4,
};

/**
 * The mouth box from 68 landmarks:
 * - centre: the mean of the 20 mouth points (48–67);
 * - width: `widthScale` × the mouth-corner distance |p54 − p48| (rotation-invariant, and steady while the lips
 *   move, unlike the lips' vertical extent). With the default 2.0 the lips fill the middle half of the box and
 *   half a mouth width of cheek is kept on each side: enough context for the jaw and lip-corner movement;
 * - height: width / `aspect`, so resizing to the model input does not distort; raised to `minHeightScale` ×
 *   the lips' vertical extent (then the width follows the aspect) when the mouth is wide open.
 * The box is axis-aligned (a rolled head gives a slightly larger box, not a rotated one).
 * Returns undefined unless there are 68 finite points and the mouth has a positive width.
 */
export function mouthBoxFromLandmarks(
  points: readonly Point[],
  options: MouthBoxOptions = {},
): Box | undefined {
  const { widthScale, aspect, minHeightScale } = { ...MOUTH_BOX_DEFAULTS, ...options };
  if (points.length !== 68) return undefined;
  let cx = 0;
  let cy = 0;
  let top = Infinity;
  let bottom = -Infinity;
  for (let i = MOUTH_FIRST; i <= MOUTH_LAST; i++) {
    const p = points[i]!;
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return undefined;
    cx += p.x;
    cy += p.y;
    top = Math.min(top, p.y);
    bottom = Math.max(bottom, p.y);
  }
  const n = MOUTH_LAST - MOUTH_FIRST + 1;
  cx /= n;
  cy /= n;
  const l = points[MOUTH_CORNERS[0]]!;
  const r = points[MOUTH_CORNERS[1]]!;
  const mouthWidth = Math.hypot(r.x - l.x, r.y - l.y);
  if (!(mouthWidth > 0)) return undefined;
  let width = widthScale * mouthWidth;
  let height = width / aspect;
  const minHeight = minHeightScale * (bottom - top);
  if (height < minHeight) {
    height = minHeight;
    width = height * aspect;
  }
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

// ---------------------------------------------------------------------------------------------------------
// Temporal smoothing (One Euro filter, Casiez, Roussel & Vogel, CHI 2012)
// ---------------------------------------------------------------------------------------------------------

/**
 * One Euro filter of one value over event time: a first-order low-pass whose cut-off rises with the speed of
 * the signal (fc = minCutoffHz + beta · |dx/dt|), so a still box stops jittering and a moving one lags little.
 * Time in µs; a non-increasing time resets nothing and returns the last output.
 */
export class OneEuroFilter {
  private x: number | undefined;
  private dx = 0;
  private tUs = 0;
  constructor(
    private readonly minCutoffHz: number,
    private readonly beta: number,
    private readonly dCutoffHz = 1,
  ) {}

  private static alpha(cutoffHz: number, dtS: number): number {
    const tau = 1 / (2 * Math.PI * cutoffHz);
    return 1 / (1 + tau / dtS);
  }

  filter(value: number, tUs: number): number {
    if (this.x === undefined) {
      this.x = value;
      this.tUs = tUs;
      return value;
    }
    const dtS = (tUs - this.tUs) / 1e6;
    if (!(dtS > 0)) return this.x;
    this.tUs = tUs;
    const rawDx = (value - this.x) / dtS;
    this.dx += OneEuroFilter.alpha(this.dCutoffHz, dtS) * (rawDx - this.dx);
    const cutoff = this.minCutoffHz + this.beta * Math.abs(this.dx);
    this.x += OneEuroFilter.alpha(cutoff, dtS) * (value - this.x);
    return this.x;
  }

  reset(): void {
    this.x = undefined;
    this.dx = 0;
  }
}

export interface BoxSmootherOptions {
  /** One Euro minimum cut-off, Hz. Default 3. */
  readonly minCutoffHz?: number;
  /** One Euro speed coefficient, per (px/s): position. Default 0.05 (a box moving 100 px/s → +5 Hz). */
  readonly beta?: number;
}

/**
 * Smooths a box over time: One Euro filters on its centre (x, y) and on its log size (width and height
 * together, so the aspect ratio is kept exactly). Time in µs (event time of the frame).
 */
export class BoxSmoother {
  private readonly cx: OneEuroFilter;
  private readonly cy: OneEuroFilter;
  private readonly logW: OneEuroFilter;
  private readonly logH: OneEuroFilter;
  constructor(options: BoxSmootherOptions = {}) {
    const fc = options.minCutoffHz ?? 3;
    const beta = options.beta ?? 0.05;
    this.cx = new OneEuroFilter(fc, beta);
    this.cy = new OneEuroFilter(fc, beta);
    // Size changes slowly (distance to the camera): a lower cut-off, speed term in log units.
    this.logW = new OneEuroFilter(fc / 2, 0);
    this.logH = new OneEuroFilter(fc / 2, 0);
  }

  update(b: Box, tUs: number): Box {
    const cx = this.cx.filter(b.x + b.width / 2, tUs);
    const cy = this.cy.filter(b.y + b.height / 2, tUs);
    const w = Math.exp(this.logW.filter(Math.log(b.width), tUs));
    const h = Math.exp(this.logH.filter(Math.log(b.height), tUs));
    return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
  }

  reset(): void {
    this.cx.reset();
    this.cy.reset();
    this.logW.reset();
    this.logH.reset();
  }
}
