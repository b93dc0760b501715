/**
 * The speech enhancer's camera path for one segment: mouth frames in, each audio frame's stacked visual input
 * out. No clock, no I/O; the counters are the enhancer's (`SpeechEnhancerCameraStats`).
 *
 * Intake (`intake`): camera frames (`MouthFrame`: gray mouth crop, height × width row-major in [0, 1],
 * capture time `tUs`) are given with the audio chunk they arrived with. A frame whose time is at or before
 * the centre of the newest audio frame already processed is late: those audio frames cannot use it any more,
 * and it is dropped and counted (`late`), never queued; frames out of order or repeated (`outOfOrder`) and of
 * the wrong size (`badSize`) likewise. Hand each camera frame over no later than with the audio chunk that
 * contains its time and the result does not depend on the chunking.
 *
 * Per audio frame (`next`, in order of their centre times): the latest mouth frame at or before the centre
 * (the training's alignment, corpus.ts `alignMouth`: sample-and-hold, at most `maxGapUs` old); no frame →
 * zeros (the camera-absent input the model was trained with), so a camera that stops leaves the audio path
 * running audio-only. A model trained on centred crops (`visualInput`, mouth-centring.ts) gets each crop minus
 * the segment's causal running mean of the crops before it, restarted after a frame without one, as in its
 * training. The input is stacked with the audio's context, as is the camera's presence (1 per frame with a
 * crop), which sets the camera-mode strength (mask/strength.ts).
 */
import type { ContextSpec, StackedFrame } from '../../streams/features/audio/context.ts';
import { ContextStacker } from '../../streams/features/audio/context.ts';
import { CausalVisualAligner } from '../../streams/features/camera/frame-align.ts';
import { MouthCentring, centringAlpha } from './mouth-centring.ts';
import type { CentredVisualInput } from './mouth-centring.ts';

/** A mouth crop: gray, height × width row-major, [0, 1] (the camera pipeline's 'gray' 'hwc' output). */
export interface MouthFrame {
  /** Capture time, µs (same clock as the audio). */
  readonly tUs: number;
  readonly data: Float32Array;
}

export interface SpeechEnhancerCameraStats {
  /** Mouth frames handed over / used by the aligner. */
  received: number;
  accepted: number;
  /** Dropped: arrived after the audio frames at their time were processed. */
  late: number;
  /** Dropped: time not after the newest accepted frame (reordered or repeated). */
  outOfOrder: number;
  /** Dropped: not height × width values. */
  badSize: number;
  /** Dropped: handed over with an empty chunk before any audio (no timeline to place them on). */
  withoutAudio: number;
  /**
   * Audio frames with a mouth crop / without one (the zero, camera-absent input). A model served without the
   * camera (`cameraMode` 'off') gets the camera-absent input in either case.
   */
  audioFramesWithVisual: number;
  audioFramesWithoutVisual: number;
}

/** Counters at zero. */
export function emptyCameraStats(): SpeechEnhancerCameraStats {
  return {
    received: 0,
    accepted: 0,
    late: 0,
    outOfOrder: 0,
    badSize: 0,
    withoutAudio: 0,
    audioFramesWithVisual: 0,
    audioFramesWithoutVisual: 0,
  };
}

/** Frames handed over before any audio (no segment, no timeline to place them on): dropped and counted. */
export function dropWithoutAudio(stats: SpeechEnhancerCameraStats, mouth: readonly MouthFrame[]): void {
  stats.received += mouth.length;
  stats.withoutAudio += mouth.length;
}

/** The stacked visual input and camera presence of the audio frames completed. */
export interface StackedCamera {
  readonly visual: StackedFrame[];
  readonly presence: StackedFrame[];
}

export interface CameraInputOptions {
  /** height × width of a mouth crop. */
  readonly pixels: number;
  /** The audio's context (the visual input is stacked with it). */
  readonly context: ContextSpec;
  /** Oldest mouth frame still held for an audio frame, µs. */
  readonly maxGapUs: number;
  /** Centred crops (the model's `visualInput`) and the audio frames' hop, s; raw crops when absent. */
  readonly centring?: { readonly input: CentredVisualInput; readonly hopS: number };
}

/** A frame's camera presence, as stacked. */
const CAMERA_ON = Float32Array.of(1);
const CAMERA_OFF = Float32Array.of(0);

/** See the file comment. One per segment. */
export class CameraInput {
  private readonly pixels: number;
  private readonly stats: SpeechEnhancerCameraStats;
  private readonly aligner: CausalVisualAligner;
  private readonly visualStack: ContextStacker;
  private readonly presenceStack: ContextStacker;
  private readonly centring: MouthCentring | undefined;
  /** The camera-absent crop. */
  private readonly zeroMouth: Float32Array;
  /** The centred crop of the frame being stacked (the stacker copies it). */
  private readonly centred: Float32Array;
  /** Centre time of the newest audio frame processed, µs. */
  private lastFrameUs = -Infinity;

  constructor(options: CameraInputOptions, stats: SpeechEnhancerCameraStats) {
    const { pixels, context, centring } = options;
    this.pixels = pixels;
    this.stats = stats;
    this.aligner = new CausalVisualAligner({ maxGapUs: options.maxGapUs });
    this.visualStack = new ContextStacker(pixels, context);
    this.presenceStack = new ContextStacker(1, context);
    this.centring =
      centring !== undefined
        ? new MouthCentring(pixels, centringAlpha(centring.input.timeConstantS, centring.hopS))
        : undefined;
    this.zeroMouth = new Float32Array(pixels);
    this.centred = new Float32Array(pixels);
  }

  /** Camera frames into the aligner, dropping late, reordered and wrong-size ones (counted). */
  intake(mouth: readonly MouthFrame[]): void {
    const c = this.stats;
    for (const f of mouth) {
      c.received++;
      if (f.data.length !== this.pixels) {
        c.badSize++;
        continue;
      }
      if (!(f.tUs > this.lastFrameUs)) {
        c.late++;
        continue;
      }
      if (this.aligner.push(f) === 'accepted') c.accepted++;
      else c.outOfOrder++;
    }
  }

  /** The audio frame centred at `tUs` (after every earlier one): its crop, or none, into the stacks. */
  next(tUs: number): StackedCamera {
    this.lastFrameUs = tUs;
    const v = this.aligner.at(tUs);
    const present = v.status === 'ok' && v.data.length === this.pixels;
    if (present) this.stats.audioFramesWithVisual++;
    else this.stats.audioFramesWithoutVisual++;
    const crop = present ? v.data : undefined;
    return {
      visual: this.visualStack.push(
        this.centring !== undefined ? this.centring.next(crop, this.centred) : (crop ?? this.zeroMouth),
      ),
      presence: this.presenceStack.push(present ? CAMERA_ON : CAMERA_OFF),
    };
  }

  /** The segment's end: the stacked frames still held (the symmetric context's look-ahead). */
  flush(): StackedCamera {
    return { visual: this.visualStack.flush(), presence: this.presenceStack.flush() };
  }
}
