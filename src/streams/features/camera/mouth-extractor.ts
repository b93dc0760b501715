/**
 * Camera frame → mouth input of the AVDCNN visual branch: decode (decode.ts) → mouth ROI (fixed region, or
 * landmarks + tracking: roi.ts, mouth-tracker.ts) → area-averaged resize to the model size, normalised to [0, 1]
 * (resize.ts). One call per camera frame, in event-time order; every frame gives either features or a counted,
 * typed reason why not. Align the output with the audio frames with frame-align.ts.
 *
 * Model input (paper: "16×24 RGB"): read as **height 16 × width 24** — a mouth is wider than tall, and the
 * ROI boxes are built with the same 24:16 = 1.5 aspect, so resizing does not distort. Output `data`:
 * Float32Array of 16·24·3 = 1152 values in [0, 1] (8-bit value / 255), layout 'hwc' (default: index
 * (y·24 + x)·3 + c, c = R, G, B; TF.js NHWC without the batch axis) or 'chw' (index (c·16 + y)·24 + x; ONNX
 * NCHW without the batch axis); 'gray' color gives 1 channel (BT.601 luma). y = 0 is the top row.
 *
 * Outcomes per frame (`MouthFeature.status`): 'ok' with the box used, or 'dropped' with a reason:
 * - decoding: 'empty', 'corrupt-jpeg', 'bad-size', 'size-mismatch', 'too-large' (decode.ts);
 * - 'wrong-size': the frame is not `expectedSize`, or a pixel fixed ROI does not fit it;
 * - 'late' / 'duplicate': capture time before / equal to the previous accepted frame's;
 * - 'busy': a frame arrived while the previous one was still being processed (backpressure: landmark
 *   detection takes hundreds of ms on the cpu backend; frames are dropped, never queued);
 * - 'no-roi': the landmark tracker has no box (no face, and the fallback expired);
 * - 'roi-error': the landmark model threw (the error's message is kept; the stream goes on);
 * - 'non-finite': the features were not all finite (a guard; not expected to happen).
 * A frame-size change without `expectedSize` is allowed and counted (`sizeChanges`); a frame-rate change is
 * counted (`rateChanges`, FrameRateMonitor) and needs nothing else: alignment is by event time.
 */
import type { CameraFrame } from '../../contracts/messages.ts';
import { CameraFrameError, decodeFrame } from './decode.ts';
import type { CameraFrameErrorCode, DecodeOptions } from './decode.ts';
import { FrameRateMonitor } from './frame-align.ts';
import type { Image8 } from './image.ts';
import { MouthTracker } from './mouth-tracker.ts';
import type {
  LandmarkSource,
  MouthTrackerOptions,
  MouthTrackerStats,
  RoiSource,
  TrackedRoi,
} from './mouth-tracker.ts';
import { cropResize } from './resize.ts';
import type { ColorMode, TensorLayout } from './resize.ts';
import { resolveFixedRoi } from './roi.ts';
import type { Box, FixedRoi } from './roi.ts';

/** The AVDCNN mouth input: height × width (see the header). */
export const MOUTH_INPUT_HEIGHT = 16;
export const MOUTH_INPUT_WIDTH = 24;

export type MouthRoiConfig =
  | { readonly kind: 'fixed'; readonly region: FixedRoi }
  | {
      readonly kind: 'landmarks';
      readonly landmarker: LandmarkSource;
      readonly tracker?: MouthTrackerOptions;
    };

export interface MouthExtractorOptions {
  readonly roi: MouthRoiConfig;
  /** Output size; defaults 24 × 16. */
  readonly width?: number;
  readonly height?: number;
  readonly color?: ColorMode;
  readonly layout?: TensorLayout;
  readonly decode?: DecodeOptions;
  /** If set, frames of any other size are dropped ('wrong-size'). */
  readonly expectedSize?: { readonly width: number; readonly height: number };
}

export type MouthDropReason =
  CameraFrameErrorCode | 'wrong-size' | 'late' | 'duplicate' | 'busy' | 'no-roi' | 'roi-error' | 'non-finite';

export type MouthFeature =
  | {
      readonly tUs: number;
      readonly status: 'ok';
      readonly data: Float32Array;
      /** The ROI in frame pixels. */
      readonly box: Box;
      readonly roiSource: RoiSource | 'fixed';
    }
  | {
      readonly tUs: number;
      readonly status: 'dropped';
      readonly reason: MouthDropReason;
      readonly message: string;
    };

export interface MouthExtractorStats {
  frames: number;
  ok: number;
  dropped: Partial<Record<MouthDropReason, number>>;
  sizeChanges: number;
  rateChanges: number;
  /** Current camera frame-rate estimate (NaN until known). */
  fps: number;
  /** The landmark tracker's counters (landmarks mode). */
  roi?: MouthTrackerStats;
}

/** The parts of a `CameraFrame` the extractor reads. */
export type MouthFrameInput = Pick<CameraFrame, 'tUs' | 'pixelFormat' | 'width' | 'height' | 'data'>;

export class MouthExtractor {
  readonly stats: MouthExtractorStats = {
    frames: 0,
    ok: 0,
    dropped: {},
    sizeChanges: 0,
    rateChanges: 0,
    fps: NaN,
  };
  private readonly outW: number;
  private readonly outH: number;
  private readonly color: ColorMode;
  private readonly layout: TensorLayout;
  private readonly tracker: MouthTracker | undefined;
  private readonly rate = new FrameRateMonitor();
  private lastUs = -Infinity;
  private size: { width: number; height: number } | undefined;
  private busy = false;

  constructor(private readonly options: MouthExtractorOptions) {
    this.outW = options.width ?? MOUTH_INPUT_WIDTH;
    this.outH = options.height ?? MOUTH_INPUT_HEIGHT;
    if (![this.outW, this.outH].every((v) => Number.isInteger(v) && v >= 1 && v <= 1024))
      throw new RangeError(`output size ${this.outW}x${this.outH} must be integers in 1..1024`);
    this.color = options.color ?? 'rgb';
    this.layout = options.layout ?? 'hwc';
    if (options.roi.kind === 'landmarks') {
      this.tracker = new MouthTracker(options.roi.landmarker, options.roi.tracker ?? {});
      this.stats.roi = this.tracker.stats;
    }
  }

  /** Values per output frame: width · height · (3 | 1). */
  get featureSize(): number {
    return this.outW * this.outH * (this.color === 'rgb' ? 3 : 1);
  }

  async process(frame: MouthFrameInput): Promise<MouthFeature> {
    this.stats.frames++;
    const tUs = frame.tUs;
    if (this.busy) return this.drop(tUs, 'busy', 'the previous frame is still being processed');
    if (!Number.isFinite(tUs) || tUs < this.lastUs)
      return this.drop(
        tUs,
        'late',
        `capture time ${tUs} µs is before the previous frame's ${this.lastUs} µs`,
      );
    if (tUs === this.lastUs)
      return this.drop(tUs, 'duplicate', `capture time ${tUs} µs repeats the previous frame's`);
    this.busy = true;
    try {
      return await this.run(frame);
    } finally {
      this.busy = false;
    }
  }

  private async run(frame: MouthFrameInput): Promise<MouthFeature> {
    const tUs = frame.tUs;
    let img: Image8;
    try {
      img = decodeFrame(frame, this.options.decode);
    } catch (e) {
      if (e instanceof CameraFrameError) return this.drop(tUs, e.code, e.message);
      throw e;
    }
    const exp = this.options.expectedSize;
    if (exp !== undefined && (img.width !== exp.width || img.height !== exp.height))
      return this.drop(
        tUs,
        'wrong-size',
        `frame is ${img.width}x${img.height}, expected ${exp.width}x${exp.height}`,
      );
    // The frame is accepted from here on: it defines time order and the size / rate history.
    this.lastUs = tUs;
    if (this.size !== undefined && (this.size.width !== img.width || this.size.height !== img.height))
      this.stats.sizeChanges++;
    this.size = { width: img.width, height: img.height };
    if (this.rate.push(tUs)) this.stats.rateChanges = this.rate.changes;
    this.stats.fps = this.rate.fps;

    let box: Box;
    let roiSource: RoiSource | 'fixed';
    const roi = this.options.roi;
    if (roi.kind === 'fixed') {
      try {
        box = resolveFixedRoi(roi.region, img.width, img.height);
      } catch (e) {
        return this.drop(tUs, 'wrong-size', (e as Error).message);
      }
      roiSource = 'fixed';
    } else {
      let r: TrackedRoi;
      try {
        r = await this.tracker!.update(img, tUs);
      } catch (e) {
        // The landmark model failed (a TF.js or weights error): drop the frame, keep the stream alive.
        return this.drop(tUs, 'roi-error', `mouth tracker: ${(e as Error).message ?? String(e)}`);
      }
      if (r.box === undefined)
        return this.drop(tUs, 'no-roi', 'no mouth box (no face found, fallback expired)');
      box = r.box;
      roiSource = r.source;
    }
    const data = cropResize(img, box, this.outW, this.outH, { color: this.color, layout: this.layout });
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i])) return this.drop(tUs, 'non-finite', `feature ${i} is ${data[i]}`);
    this.stats.ok++;
    return { tUs, status: 'ok', data, box, roiSource };
  }

  private drop(tUs: number, reason: MouthDropReason, message: string): MouthFeature {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    return { tUs, status: 'dropped', reason, message };
  }
}
