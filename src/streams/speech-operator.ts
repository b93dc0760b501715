import type { Config } from '../config/schema.ts';
import type { SpeechEnhancerOptions, StreamingSpeechEnhancer } from '../models/speech/enhancer.ts';
import type { MouthFrame } from '../models/speech/camera-input.ts';
import { definedServing } from '../models/speech/mask/settings.ts';
import type { SpeechModelMeta } from '../models/speech/speech-model-meta.ts';
import { encodeAudio } from './contracts/audio.ts';
import { newSessionId } from './contracts/header.ts';
import type { AudioChunk, CameraFrame, SensorMessage } from './contracts/messages.ts';
import type { Status } from './contracts/outputs.ts';
import { QOS, topicFor } from './contracts/topics.ts';
import { AudioConditioner } from './features/audio/condition.ts';
import type { ConditionedAudio } from './features/audio/condition.ts';
import { MouthExtractor } from './features/camera/mouth-extractor.ts';

/**
 * Serves the speech enhancer for ONE vehicle: its decoded audio chunks (any rate and channel count the
 * audio codec takes) and, with `useCamera`, its camera frames go in; enhanced 16 kHz mono chunks come out on
 * `…/{vehicle}/audio/enhanced` as binary audio messages (the audio codec, f32, QoS 0), each with the event
 * time of its first sample. The same `SpeechEnhancer` as `drivesense enhance` (enhance-samples.ts) runs on
 * the same 16 kHz samples, so the concatenated stream equals the whole-file output (tests hold it to 1e-5).
 *
 * Audio: an `AudioConditioner` (condition.ts) in front of the enhancer validates, down-mixes, conceals NaN,
 * counts clipping, fills gaps ≤ 1 s with zeros, drops duplicates and RESAMPLES other rates to 16 kHz with
 * the project's polyphase resampler (counted `resampled`; nothing that decodes is refused, the conditioner's
 * refusals are counted). Its gap-free 16 kHz output is pushed to the enhancer in arrival order, one push at a
 * time (enhancer state — STFT, context, running normaliser — carries across chunks). Audio quiet for longer
 * than the gap limit (1 s of event time, seen when a pipeline window closes) is flushed, so an utterance's
 * last 24 ms are not held until the next one.
 *
 * Camera (`useCamera`): each frame goes through the cheap fixed-region mouth path (`MouthExtractor` with
 * `mouthRegion`: JPEG decode ≈ 5 ms at 360×288, crop, area resize to the model's gray mouth size) on its own
 * chain, never on the audio's: audio never waits for a frame. Crops wait (at most `MAX_PENDING_MOUTH`, the
 * oldest dropped beyond) for the next audio push, which hands them to the enhancer. A frame whose time the
 * processed audio has already passed is dropped undecoded; the enhancer drops those that turn out late
 * (`cameraLate`), never queues them. A camera that stops leaves the enhancer on its zero (audio-only) input.
 * The decodes are budgeted in processing time (`maxCameraFps` per second, a token bucket): a camera, or a
 * replay faster than real time, cannot take the main thread from the other streams; frames beyond the
 * budget are dropped undecoded (`cameraDropped`).
 * The face-landmark ROI is not used here: it blocks the event loop ≈ 22 ms per frame.
 *
 * Backlog (`maxPendingMs`): audio handed to the enhancer and not yet enhanced is the backlog. When a chunk
 * would take it beyond `maxPendingMs`, the enhancer is flushed (its output ends exactly where its input did)
 * and the following audio is published UNENHANCED (`passthrough`), on the same timeline, until the backlog is
 * down to half; then enhancement resumes (a new enhancer segment; the running statistics are kept). Audio
 * that would take everything queued (enhanced or passed through) beyond twice `maxPendingMs` is dropped
 * (`dropped`): a hung model costs bounded memory. The published timeline never overlaps and never goes back.
 *
 * Failures: a model run that fails passes its frames through unenhanced (the enhancer does it, counted
 * `modelErrors`, logged sparsely); any other enhancer failure publishes the chunk unenhanced, replaces the
 * enhancer and is counted (`errors`). The pipeline is never failed by this operator.
 *
 * I/O is at the edges: the model and the publish function are passed in. No clock: time is event time only.
 */

/** What the operator needs of a model (SpeechEnhancerModel fits; tests wrap its runner). */
export interface SpeechModel {
  readonly meta: SpeechModelMeta;
  createEnhancer(options?: SpeechEnhancerOptions): StreamingSpeechEnhancer;
}

export type SpeechOptions = Config['features']['speech'];

export interface SpeechOutputs {
  readonly publish: (topic: string, payload: Uint8Array, opts: { qos: 0 | 1 }) => boolean;
  /** A refused chunk, a model failure (logged sparsely: the 1st, 10th, 100th, … of each kind). */
  readonly onError?: (vehicleId: string, error: Error) => void;
  /** Processing-time clock, ms (the camera's decode budget). Default `performance.now`. */
  readonly now?: () => number;
}

export type SpeechCounters = NonNullable<Status['speech']>;

/** Camera crops waiting for the next audio push at most (2 s at 25 fps); older ones are dropped. */
export const MAX_PENDING_MOUTH = 50;
/** Camera frames queued for the mouth path at most; more are dropped (the path is ≈ 5 ms a frame). */
export const MAX_CAMERA_QUEUE = 4;
/** Samples per published message at most (2 s at 16 kHz: 128 KB of f32, within the codec's cap). */
export const MAX_MESSAGE_SAMPLES = 32_000;
/** Audio quiet this long (event time) is flushed; the conditioner's and the enhancer's gap limit. */
const QUIET_FLUSH_US = 1_000_000;

const ZERO_COUNTERS: SpeechCounters = {
  chunksIn: 0,
  chunksOut: 0,
  samplesIn: 0,
  samplesOut: 0,
  resampled: 0,
  refused: 0,
  nonFinite: 0,
  clipped: 0,
  silent: 0,
  gaps: 0,
  gapFillMs: 0,
  resets: 0,
  duplicates: 0,
  passthrough: 0,
  dropped: 0,
  backlogMs: 0,
  modelErrors: 0,
  errors: 0,
  cameraFrames: 0,
  cameraUsed: 0,
  cameraLate: 0,
  cameraDropped: 0,
};

/** Sums counters (used for PipelineStats). */
export function sumSpeechCounters(all: readonly SpeechCounters[]): SpeechCounters {
  const sum: SpeechCounters = { ...ZERO_COUNTERS };
  for (const c of all) for (const k of Object.keys(sum) as (keyof SpeechCounters)[]) sum[k] += c[k];
  return sum;
}

/** Enhancer counters carried over from replaced enhancers. */
interface Retired {
  modelErrors: number;
  cameraUsed: number;
  cameraLate: number;
  cameraDropped: number;
}

export class VehicleSpeechOperator {
  private enhancer: StreamingSpeechEnhancer;
  private readonly conditioner = new AudioConditioner();
  private readonly mouth: MouthExtractor | undefined;
  private readonly topic: string;
  private readonly sessionId = newSessionId();
  private readonly maxPendingUs: number;
  private readonly rateHz: number;
  /** A camera frame earlier than (audio processed) − this is late for sure (half a window + a hop). */
  private readonly surelyLateUs: number;
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private cameraChain: Promise<void> = Promise.resolve();
  private cameraQueued = 0;
  private cameraTokens = 0;
  private readonly now: () => number;
  private cameraTokensAt = -Infinity;
  private pendingMouth: MouthFrame[] = [];
  private enhanceBacklogUs = 0;
  private totalBacklogUs = 0;
  private passthroughMode = false;
  /** Audio given to the conditioner since the last flush; the end of the newest chunk (event time). */
  private open = false;
  private lastAudioEndUs: number | undefined;
  /** End of the audio the enhancer has processed (event time), for the camera's early drop. */
  private processedUpToUs = -Infinity;
  private readonly counts = { ...ZERO_COUNTERS };
  private readonly retired: Retired = { modelErrors: 0, cameraUsed: 0, cameraLate: 0, cameraDropped: 0 };
  private lastModelErrors = 0;
  private readonly logged = new Map<string, number>();

  constructor(
    readonly vehicleId: string,
    private readonly model: SpeechModel,
    private readonly options: SpeechOptions,
    private readonly out: SpeechOutputs,
  ) {
    // The mask settings of features.speech override the model's own.
    this.enhancer = model.createEnhancer(definedServing(options));
    this.now = out.now ?? (() => performance.now());
    this.rateHz = this.enhancer.sampleRateHz;
    this.topic = topicFor(vehicleId, 'audio/enhanced');
    this.maxPendingUs = options.maxPendingMs * 1000;
    const { windowLength, hop, sampleRateHz } = model.meta.stft;
    this.surelyLateUs = ((windowLength / 2 + hop) * 1e6) / sampleRateHz;
    const m = model.meta.model;
    this.mouth = options.useCamera
      ? new MouthExtractor({
          roi: { kind: 'fixed', region: options.mouthRegion },
          width: m.mouthWidth,
          height: m.mouthHeight,
          color: 'gray',
          layout: 'hwc',
        })
      : undefined;
  }

  /** A decoded, non-duplicate message of this vehicle (streams other than audio and camera are ignored). */
  onMessage(m: SensorMessage): void {
    if (m.kind === 'audio') this.onAudio(m);
    else if (m.kind === 'camera' && this.mouth !== undefined) this.onCamera(m, this.mouth);
  }

  /** A pipeline window closed at `endUs`: audio quiet for over 1 s of event time is flushed. */
  onWindowClosed(endUs: number): void {
    if (this.open && this.lastAudioEndUs !== undefined && endUs - this.lastAudioEndUs > QUIET_FLUSH_US)
      this.flushAll();
  }

  /** Flushes everything and resolves when every chunk received so far has been published (or dropped). */
  async drain(): Promise<void> {
    if (this.open) this.flushAll();
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await Promise.all([seen, this.cameraChain]);
    }
  }

  counters(): SpeechCounters {
    const s = this.conditioner.stats();
    const e = this.enhancer.stats();
    const c = e.camera;
    const r = this.retired;
    return {
      ...this.counts,
      refused: s.refused.rate + s.refused.channels + s.refused.length + s.refused.time,
      nonFinite: s.nonFinite,
      clipped: s.clipped,
      gaps: s.gaps,
      gapFillMs: s.gapFillMs,
      resets: s.timeJumps + s.sessionChanges + s.rateChanges,
      duplicates: s.duplicates,
      backlogMs: this.totalBacklogUs / 1000,
      modelErrors: r.modelErrors + e.modelErrors,
      cameraUsed: r.cameraUsed + c.accepted,
      cameraLate: this.counts.cameraLate + r.cameraLate + c.late,
      cameraDropped: this.counts.cameraDropped + r.cameraDropped + c.outOfOrder + c.badSize + c.withoutAudio,
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Audio

  private onAudio(m: AudioChunk): void {
    this.counts.chunksIn++;
    if (m.samples.length > 0 && m.samples.every((v) => v === 0)) this.counts.silent++;
    const r = this.conditioner.push({
      tUs: m.tUs,
      sampleRateHz: m.sampleRateHz,
      channels: m.channels,
      samples: m.samples,
      nonFinite: m.nonFinite,
      sessionId: m.sessionId,
    });
    if (r.refused !== undefined) {
      this.report('refused', r.refused);
      return;
    }
    if (m.sampleRateHz !== this.rateHz && m.samples.length > 0) this.counts.resampled++;
    if (m.samples.length > 0) {
      this.open = true;
      this.lastAudioEndUs = Math.max(this.lastAudioEndUs ?? -Infinity, m.endUs);
    }
    for (const c of r.out) this.route(c);
  }

  /** Ends the conditioner's and the enhancer's segments (their tails are published). */
  private flushAll(): void {
    this.open = false;
    for (const c of this.conditioner.flush()) this.route(c);
    if (!this.passthroughMode) this.enqueue(() => this.flushEnhancer());
  }

  /** Enhance, pass through or drop a conditioned 16 kHz chunk (see the file comment on the backlog). */
  private route(c: ConditionedAudio): void {
    const n = c.samples.length;
    const dUs = (n * 1e6) / this.rateHz;
    this.counts.samplesIn += n;
    if (this.totalBacklogUs + dUs > 2 * this.maxPendingUs) {
      this.counts.dropped++;
      return;
    }
    if (!this.passthroughMode && this.enhanceBacklogUs + dUs > this.maxPendingUs) {
      this.passthroughMode = true;
      this.report(
        'backlog',
        `the model is behind by over ${this.options.maxPendingMs} ms: passing audio through`,
      );
      this.enqueue(() => this.flushEnhancer());
    } else if (this.passthroughMode && this.enhanceBacklogUs <= this.maxPendingUs / 2) {
      this.passthroughMode = false;
    }
    this.totalBacklogUs += dUs;
    if (this.passthroughMode) {
      this.enqueue(async () => {
        this.counts.passthrough++;
        this.publish(c.tUs, c.samples);
      }, dUs);
      return;
    }
    this.enhanceBacklogUs += dUs;
    this.enqueue(async () => {
      try {
        const chunks = await this.enhancer.push(c.samples, c.tUs, this.takeMouth());
        for (const e of chunks) this.publish(e.tUs, e.samples);
        this.processedUpToUs = c.tUs + dUs;
      } catch (e) {
        this.replaceEnhancer(e);
        this.publish(c.tUs, c.samples);
      } finally {
        this.enhanceBacklogUs -= dUs;
        this.checkModelErrors();
      }
    }, dUs);
  }

  private async flushEnhancer(): Promise<void> {
    try {
      for (const e of await this.enhancer.flush()) this.publish(e.tUs, e.samples);
    } catch (e) {
      this.replaceEnhancer(e);
    } finally {
      this.checkModelErrors();
    }
  }

  /** Runs `task` after every task queued before it; `backlogUs` leaves the backlog when it is done. */
  private enqueue(task: () => Promise<void>, backlogUs = 0): void {
    this.chain = this.chain
      .then(task)
      .catch((e: unknown) => {
        this.counts.errors++;
        this.report('error', e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        this.totalBacklogUs -= backlogUs;
      });
  }

  /** An enhancer failure other than a model run (those the enhancer absorbs): a fresh enhancer takes over. */
  private replaceEnhancer(e: unknown): void {
    this.counts.errors++;
    this.report('error', `speech enhancer failed: ${e instanceof Error ? e.message : String(e)}`);
    const s = this.enhancer.stats();
    this.retired.modelErrors += s.modelErrors;
    this.retired.cameraUsed += s.camera.accepted;
    this.retired.cameraLate += s.camera.late;
    this.retired.cameraDropped += s.camera.outOfOrder + s.camera.badSize + s.camera.withoutAudio;
    this.lastModelErrors = 0;
    this.enhancer = this.model.createEnhancer(definedServing(this.options));
  }

  private checkModelErrors(): void {
    const s = this.enhancer.stats();
    if (s.modelErrors > this.lastModelErrors) {
      this.lastModelErrors = s.modelErrors;
      this.report(
        'model',
        `speech model failed (${this.retired.modelErrors + s.modelErrors} runs so far; audio passed through): ${s.lastModelError ?? '?'}`,
      );
    }
  }

  /** Publishes samples as `audio/enhanced` messages (f32, split to `MAX_MESSAGE_SAMPLES`). */
  private publish(tUs: number, samples: Float32Array): void {
    for (let i = 0; i < samples.length; i += MAX_MESSAGE_SAMPLES) {
      const part = samples.subarray(i, Math.min(samples.length, i + MAX_MESSAGE_SAMPLES));
      const payload = encodeAudio({
        sessionId: this.sessionId,
        seq: this.seq++ >>> 0,
        tUs: Math.round(tUs + (i * 1e6) / this.rateHz),
        sampleFormat: 'f32',
        sampleRateHz: this.rateHz,
        channels: 1,
        samples: part,
      });
      this.out.publish(this.topic, payload, { qos: QOS['audio/enhanced'] });
      this.counts.chunksOut++;
      this.counts.samplesOut += part.length;
    }
  }

  /** Logs the 1st, 10th, 100th, … message of a kind. */
  private report(kind: string, message: string): void {
    const n = (this.logged.get(kind) ?? 0) + 1;
    this.logged.set(kind, n);
    if (Number.isInteger(Math.log10(n)))
      this.out.onError?.(this.vehicleId, new Error(n > 1 ? `${message} (×${n})` : message));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Camera

  private onCamera(f: CameraFrame, mouth: MouthExtractor): void {
    this.counts.cameraFrames++;
    if (f.tUs <= this.processedUpToUs - this.surelyLateUs) {
      this.counts.cameraLate++; // the audio at its time is enhanced already: not even decoded
      return;
    }
    if (this.cameraQueued >= MAX_CAMERA_QUEUE || !this.cameraBudget()) {
      this.counts.cameraDropped++;
      return;
    }
    this.cameraQueued++;
    this.cameraChain = this.cameraChain
      .then(async () => {
        const r = await mouth.process(f);
        if (r.status !== 'ok') {
          if (r.reason === 'late' || r.reason === 'duplicate') this.counts.cameraLate++;
          else this.counts.cameraDropped++;
          return;
        }
        this.pendingMouth.push({ tUs: r.tUs, data: r.data });
        if (this.pendingMouth.length > MAX_PENDING_MOUTH) {
          this.pendingMouth.shift();
          this.counts.cameraDropped++;
        }
      })
      .catch(() => {
        this.counts.cameraDropped++;
      })
      .finally(() => {
        this.cameraQueued--;
      });
  }

  /**
   * The decode budget (`maxCameraFps` per second of processing time): a token bucket holding at most one
   * second's worth (at least one frame), refilled continuously; a frame takes one token or is dropped
   * undecoded.
   */
  private cameraBudget(): boolean {
    const now = this.now();
    const rate = this.options.maxCameraFps;
    const cap = Math.max(1, rate);
    this.cameraTokens = Math.min(cap, this.cameraTokens + ((now - this.cameraTokensAt) / 1000) * rate);
    this.cameraTokensAt = now;
    if (this.cameraTokens < 1) return false;
    this.cameraTokens--;
    return true;
  }

  private takeMouth(): MouthFrame[] {
    const frames = this.pendingMouth;
    this.pendingMouth = [];
    return frames;
  }
}
