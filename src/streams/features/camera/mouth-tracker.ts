/**
 * Automatic mouth ROI over a video: face landmarks every N frames, NCC template tracking in between, One Euro
 * smoothing of the box, and a counted fallback to the last good box when neither works.
 *
 * Per frame (`update(img, tUs)`), in event-time order:
 * 1. Detection is due on the first frame, every `detectEveryN` frames after the last detection attempt, after
 *    a tracking failure, after a frame-size change, and while no good box is known. A detection runs the
 *    face detector + 68-point net (landmarks.ts) and builds the box with `mouthBoxFromLandmarks` (roi.ts).
 * 2. Otherwise the mouth is tracked: the grey patch around the last detected box (the box grown by
 *    `trackContext`, which takes in the nose base and chin: steadier than the moving lips) is searched for by
 *    NCC (template-match.ts) within ±`trackSearch` box widths of the last box, at a reduced resolution
 *    (`trackWidthPx`). Translation only: the size stays that of the last detection. A peak below
 *    `trackMinScore` is a tracking failure. The template is taken at each detection and not updated in
 *    between, so tracking does not drift.
 *    Tracking is also tried on a frame whose detection failed (counted in both `detectionFailures` and
 *    `tracked`), so one missed detection does not cost the frame.
 * 3. If neither gives a box, the last good box is reused (`source: 'fallback'`, counted) for at most
 *    `maxFallbackUs` of event time after the last good box; beyond that the ROI is `lost` (no box: the model
 *    gets its "camera missing" input) until a detection succeeds again.
 * 4. Good boxes (detected or tracked) go through the `BoxSmoother`; fallback boxes are the last smoothed box.
 *
 * Time: `tUs` is the frame's capture time (µs, event time). Frames must come in increasing time; an older or
 * equal time is refused with a RangeError (the extractor drops late frames before they get here).
 * Cost (bench/features/camera.ts, one core, 360×288): a detection ≈ 25 ms on the wasm backend (landmarks.ts);
 * a tracked frame ≈ 1 ms.
 */
import type { Image8 } from './image.ts';
import type { FaceLandmarker, FaceLandmarks68 } from './landmarks.ts';
import { cropResize } from './resize.ts';
import { matchTemplate, prepareTemplate } from './template-match.ts';
import type { PreparedTemplate } from './template-match.ts';
import type { Box, BoxSmootherOptions, MouthBoxOptions } from './roi.ts';
import { BoxSmoother, fractionInside, isFiniteBox, mouthBoxFromLandmarks } from './roi.ts';

/** What the tracker needs from a landmarker (a `FaceLandmarker`, or a stub in tests). */
export type LandmarkSource = Pick<FaceLandmarker, 'detect'>;

export interface MouthTrackerOptions {
  /** Run the detector on every N-th frame (1 = every frame). Default 1. */
  readonly detectEveryN?: number;
  readonly mouthBox?: MouthBoxOptions;
  /** One Euro smoothing of the box; false = off. Default: roi.ts defaults. */
  readonly smoothing?: BoxSmootherOptions | false;
  /** How long (event time, µs) the last good box may stand in for a failed frame. Default 500 ms. */
  readonly maxFallbackUs?: number;
  /** Minimum NCC peak for a tracked position. Default 0.7. */
  readonly trackMinScore?: number;
  /** Tracking search radius, in widths of the mouth box. Default 0.25. */
  readonly trackSearch?: number;
  /** Tracked patch = the mouth box grown by this factor in each dimension. Default 1.6. */
  readonly trackContext?: number;
  /** Width of the tracked patch after downsampling, px. Default 48. */
  readonly trackWidthPx?: number;
  /** A box with less than this fraction of its area inside the frame is not accepted. Default 0.5. */
  readonly minInside?: number;
}

export type RoiSource = 'detected' | 'tracked' | 'fallback' | 'lost';

export interface TrackedRoi {
  readonly tUs: number;
  /** The smoothed mouth box in frame pixels; undefined when `source` is 'lost'. */
  readonly box: Box | undefined;
  readonly source: RoiSource;
  /** The landmarks when this frame ran a successful detection. */
  readonly landmarks?: FaceLandmarks68;
  /** NCC peak when this frame was tracked (also on a failed track). */
  readonly trackScore?: number;
}

export interface MouthTrackerStats {
  frames: number;
  detections: number;
  detectionFailures: number;
  tracked: number;
  trackFailures: number;
  fallback: number;
  lost: number;
  sizeChanges: number;
}

interface TrackState {
  /** The mouth box of the last detection (unsmoothed), in the frame it was taken from. */
  readonly box: Box;
  readonly template: PreparedTemplate;
  /** Patch box (frame px) the template was cut from, and frame px per template px. */
  readonly patch: Box;
  readonly pxPerTpl: number;
}

export class MouthTracker {
  readonly stats: MouthTrackerStats = {
    frames: 0,
    detections: 0,
    detectionFailures: 0,
    tracked: 0,
    trackFailures: 0,
    fallback: 0,
    lost: 0,
    sizeChanges: 0,
  };
  private readonly opts: Required<Omit<MouthTrackerOptions, 'mouthBox' | 'smoothing'>>;
  private readonly mouthBox: MouthBoxOptions;
  private readonly smoother: BoxSmoother | undefined;
  private state: TrackState | undefined;
  /** Raw (unsmoothed) box of the last good frame: detection or track. */
  private lastRaw: Box | undefined;
  private lastSmoothed: Box | undefined;
  private lastGoodUs = -Infinity;
  private lastUs = -Infinity;
  private sinceDetect = 0;
  private detectNext = true;
  private size: { width: number; height: number } | undefined;

  constructor(
    private readonly landmarker: LandmarkSource,
    options: MouthTrackerOptions = {},
  ) {
    this.opts = {
      detectEveryN: options.detectEveryN ?? 1,
      maxFallbackUs: options.maxFallbackUs ?? 500_000,
      trackMinScore: options.trackMinScore ?? 0.7,
      trackSearch: options.trackSearch ?? 0.25,
      trackContext: options.trackContext ?? 1.6,
      trackWidthPx: options.trackWidthPx ?? 48,
      minInside: options.minInside ?? 0.5,
    };
    const o = this.opts;
    if (!Number.isInteger(o.detectEveryN) || o.detectEveryN < 1)
      throw new RangeError(`detectEveryN ${o.detectEveryN} must be an integer ≥ 1`);
    if (!(o.maxFallbackUs >= 0)) throw new RangeError(`maxFallbackUs ${o.maxFallbackUs} must be ≥ 0`);
    if (!(o.trackWidthPx >= 8)) throw new RangeError(`trackWidthPx ${o.trackWidthPx} must be ≥ 8`);
    this.mouthBox = options.mouthBox ?? {};
    this.smoother = options.smoothing === false ? undefined : new BoxSmoother(options.smoothing ?? {});
  }

  /** Forgets everything (the next frame runs a detection); counters are kept. */
  reset(): void {
    this.state = undefined;
    this.lastRaw = undefined;
    this.lastSmoothed = undefined;
    this.lastGoodUs = -Infinity;
    this.sinceDetect = 0;
    this.detectNext = true;
    this.smoother?.reset();
  }

  async update(img: Image8, tUs: number): Promise<TrackedRoi> {
    if (!Number.isFinite(tUs) || tUs <= this.lastUs)
      throw new RangeError(`frame time ${tUs} µs is not after the previous ${this.lastUs} µs`);
    this.lastUs = tUs;
    this.stats.frames++;
    if (this.size !== undefined && (this.size.width !== img.width || this.size.height !== img.height)) {
      this.stats.sizeChanges++;
      this.reset();
    }
    this.size = { width: img.width, height: img.height };

    let raw: Box | undefined;
    let landmarks: FaceLandmarks68 | undefined;
    let trackScore: number | undefined;
    let source: RoiSource = 'fallback';
    const due = this.detectNext || this.state === undefined || this.sinceDetect >= this.opts.detectEveryN;
    if (due) {
      this.sinceDetect = 0;
      this.stats.detections++;
      landmarks = await this.landmarker.detect(img);
      const box =
        landmarks === undefined ? undefined : mouthBoxFromLandmarks(landmarks.points, this.mouthBox);
      if (box !== undefined && this.acceptable(box, img)) {
        raw = box;
        source = 'detected';
        this.state = this.takeTemplate(img, box);
        this.detectNext = false;
      } else {
        landmarks = undefined;
        this.stats.detectionFailures++;
        this.detectNext = true; // retry on the next frame rather than after N
      }
    }
    // Track between detections, and also when a due detection failed (a missed face, motion blur).
    if (raw === undefined && this.state !== undefined && this.lastRaw !== undefined) {
      const t = this.track(img, this.state, this.lastRaw);
      trackScore = t.score;
      if (t.box !== undefined) {
        raw = t.box;
        source = 'tracked';
        this.stats.tracked++;
      } else {
        this.stats.trackFailures++;
        this.detectNext = true;
      }
    }
    this.sinceDetect++;

    if (raw !== undefined) {
      this.lastRaw = raw;
      this.lastGoodUs = tUs;
      const box = this.smoother === undefined ? raw : this.smoother.update(raw, tUs);
      this.lastSmoothed = box;
      return {
        tUs,
        box,
        source,
        ...(landmarks ? { landmarks } : {}),
        ...(trackScore !== undefined ? { trackScore } : {}),
      };
    }
    if (this.lastSmoothed !== undefined && tUs - this.lastGoodUs <= this.opts.maxFallbackUs) {
      this.stats.fallback++;
      return {
        tUs,
        box: this.lastSmoothed,
        source: 'fallback',
        ...(trackScore !== undefined ? { trackScore } : {}),
      };
    }
    this.stats.lost++;
    if (this.lastSmoothed !== undefined) {
      // Too long without a good box: start afresh when the face comes back.
      this.lastSmoothed = undefined;
      this.lastRaw = undefined;
      this.state = undefined;
      this.smoother?.reset();
    }
    return { tUs, box: undefined, source: 'lost', ...(trackScore !== undefined ? { trackScore } : {}) };
  }

  private acceptable(b: Box, img: Image8): boolean {
    return isFiniteBox(b) && fractionInside(b, img.width, img.height) >= this.opts.minInside;
  }

  /** The grey patch around `box`, resampled to `trackWidthPx` wide. */
  private takeTemplate(img: Image8, box: Box): TrackState {
    const k = this.opts.trackContext;
    const patch = {
      x: box.x + box.width / 2 - (box.width * k) / 2,
      y: box.y + box.height / 2 - (box.height * k) / 2,
      width: box.width * k,
      height: box.height * k,
    };
    const tw = this.opts.trackWidthPx;
    const th = Math.max(4, Math.round((tw * patch.height) / patch.width));
    const data = cropResize(img, patch, tw, th, { color: 'gray' });
    return {
      box,
      patch,
      pxPerTpl: patch.width / tw,
      template: prepareTemplate({ width: tw, height: th, data }),
    };
  }

  /** NCC search for the template around the last box; the moved detection box, or undefined on failure. */
  private track(img: Image8, s: TrackState, last: Box): { box: Box | undefined; score: number } {
    const f = s.pxPerTpl;
    const r = this.opts.trackSearch * s.box.width;
    // Where the patch would be if it moved with the last box, grown by the search radius.
    const dx0 = last.x - s.box.x;
    const dy0 = last.y - s.box.y;
    const search = {
      x: s.patch.x + dx0 - r,
      y: s.patch.y + dy0 - r,
      width: s.patch.width + 2 * r,
      height: s.patch.height + 2 * r,
    };
    const sw = Math.max(s.template.width, Math.round(search.width / f));
    const sh = Math.max(s.template.height, Math.round(search.height / f));
    const region = { width: sw, height: sh, data: cropResize(img, search, sw, sh, { color: 'gray' }) };
    const m = matchTemplate(region, s.template, undefined, { subpixel: true });
    if (m === undefined || !(m.score >= this.opts.trackMinScore))
      return { box: undefined, score: m?.score ?? 0 };
    // Patch top-left in frame px → displacement of the detection box.
    const px = search.x + m.x * (search.width / sw);
    const py = search.y + m.y * (search.height / sh);
    const box = {
      x: s.box.x + (px - s.patch.x),
      y: s.box.y + (py - s.patch.y),
      width: s.box.width,
      height: s.box.height,
    };
    if (!this.acceptable(box, img)) return { box: undefined, score: m.score };
    return { box, score: m.score };
  }
}
