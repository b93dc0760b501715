import { z } from 'zod';
import { INPUT_STREAMS } from './topics.ts';

/**
 * JSON contracts of the pipeline's outputs: `…/stress`, `…/alert`, `…/status` (retained, also the last will).
 * Times are event times in µs since the epoch unless the field name says otherwise.
 */
const stream = z.enum(INPUT_STREAMS);

/** A sensor stream that stopped sending valid data (`silent`) or sends only undecodable payloads (`invalid`). */
export const sensorFaultAlertSchema = z.object({
  v: z.literal(1),
  vehicleId: z.string(),
  kind: z.literal('sensor_fault'),
  state: z.enum(['raised', 'cleared']),
  stream: stream,
  reason: z.enum(['silent', 'invalid']),
  /** Event time at which the condition was detected (raised) or ended (cleared). */
  tUs: z.number().int(),
  /** Event time of the stream's last valid data before the fault (absent if it never sent any). */
  lastDataUs: z.number().int().optional(),
  message: z.string(),
});
export type SensorFaultAlert = z.infer<typeof sensorFaultAlertSchema>;

/** Sustained high stress: P(high) stayed above the raise threshold long enough (see `rules/stress-alert.ts`). */
export const stressAlertSchema = z.object({
  v: z.literal(1),
  vehicleId: z.string(),
  kind: z.literal('stress_high'),
  state: z.enum(['raised', 'cleared']),
  /** Event time at which the condition was detected (raised) or ended (cleared). */
  tUs: z.number().int(),
  /** Event time at which the sustained period (of high P(high) when raised, of low P(high) when cleared) began. */
  sinceUs: z.number().int(),
  /** Mean P(high) over the sustained span, in [0, 1]. */
  probability: z.number().min(0).max(1),
  message: z.string(),
});
export type StressAlert = z.infer<typeof stressAlertSchema>;

/** An alert, discriminated on `kind`. */
export const alertSchema = z.discriminatedUnion('kind', [sensorFaultAlertSchema, stressAlertSchema]);
export type Alert = z.infer<typeof alertSchema>;
export type AlertKind = Alert['kind'];

export const STRESS_LEVELS = ['low', 'medium', 'high'] as const;
export type StressLevel = (typeof STRESS_LEVELS)[number];
/** The model's input modalities, as reported per estimate. */
export const STRESS_MODALITIES = ['hr', 'eda', 'resp', 'vehicle', 'context'] as const;
export type StressModality = (typeof STRESS_MODALITIES)[number];
/** `used`: fed to the model; `absent`: no data in the window; `masked`: data present but withheld (faulty). */
export const MODALITY_STATES = ['used', 'absent', 'masked'] as const;
export type ModalityState = (typeof MODALITY_STATES)[number];
export const STRESS_FAULT_REASONS = ['flat', 'saturated', 'implausible', 'inconsistent', 'noisy'] as const;
export type StressFaultReason = (typeof STRESS_FAULT_REASONS)[number];

const probability = z.number().min(0).max(1);
const modality = z.enum(STRESS_MODALITIES);
const modalityState = z.enum(MODALITY_STATES);

export const stressSchema = z.object({
  v: z.literal(1),
  vehicleId: z.string(),
  /** Event time of the estimate: the end of its newest window. */
  tUs: z.number().int(),
  /** Length of the window the estimate is computed over, in seconds. */
  windowS: z.number().positive(),
  /** The most probable level. */
  level: z.enum(STRESS_LEVELS),
  probabilities: z.object({ low: probability, medium: probability, high: probability }),
  confidence: probability,
  modalities: z.object({
    hr: modalityState,
    eda: modalityState,
    resp: modalityState,
    vehicle: modalityState,
    context: modalityState,
  }),
  /** Signal-quality faults found in this estimate's inputs (a faulty modality is `masked`); may be empty. */
  faults: z.array(z.object({ modality, reason: z.enum(STRESS_FAULT_REASONS) })),
  /** Id of the model that produced the estimate. */
  model: z.string().min(1),
});
export type StressEstimate = z.infer<typeof stressSchema>;

const counters = z.object({
  messages: z.number().int(),
  invalid: z.number().int(),
  gaps: z.number().int(),
  missing: z.number().int(),
  duplicates: z.number().int(),
  outOfOrder: z.number().int(),
  dropped: z.number().int(),
});
export type StreamCounters = z.infer<typeof counters>;

export const statusSchema = z.object({
  v: z.literal(1),
  /** `online` while the pipeline runs; `offline` is the retained last will and the clean-shutdown message. */
  state: z.enum(['online', 'offline']),
  /** The pipeline instance (not a vehicle): status is published per vehicle topic the pipeline serves. */
  pipelineId: z.string(),
  vehicleId: z.string(),
  /** Wall-clock time of the report, ms since the epoch (status is about the process, not the data). */
  reportedAtMs: z.number().int(),
  streams: z.partialRecord(stream, counters).optional(),
  /** The most recent decode errors, newest last, bounded. */
  recentErrors: z
    .array(z.object({ stream: z.string(), code: z.string(), message: z.string(), count: z.number().int() }))
    .max(32)
    .optional(),
  faults: z.array(z.object({ stream: stream, reason: z.enum(['silent', 'invalid']) })).optional(),
  /** Stress estimation counters of the vehicle (present when a stress model is served). */
  stress: z
    .object({
      /** Estimates published. */
      estimates: z.number().int(),
      /** Ticks that found the vehicle still calibrating (no estimate yet). */
      calibrating: z.number().int(),
      /** Ticks with no physiological, vehicle or context input at all (nothing to estimate from). */
      noInput: z.number().int(),
      /** Ticks not evaluated because event time jumped further than `MAX_CATCH_UP_TICKS` at once. */
      skipped: z.number().int(),
      /** Estimates dropped because `features.stress.maxPending` were already in flight. */
      dropped: z.number().int(),
      /** Estimates that failed (model error); the pipeline goes on. */
      errors: z.number().int(),
      /** Estimates in flight now. */
      pending: z.number().int(),
    })
    .optional(),
  /** Speech enhancement counters of the vehicle (present when a speech model is served). */
  speech: z
    .object({
      /** Audio chunks received (decoded, not duplicates) / enhanced chunks published on `…/audio/enhanced`. */
      chunksIn: z.number().int(),
      chunksOut: z.number().int(),
      /** 16 kHz samples fed to the enhancer / published (enhanced or passed through). */
      samplesIn: z.number().int(),
      samplesOut: z.number().int(),
      /** Chunks at another rate, resampled to 16 kHz; chunks refused (bad rate, channels, length, time). */
      resampled: z.number().int(),
      refused: z.number().int(),
      /** Samples that were NaN/±Inf (replaced by 0) and at full scale (|x| ≥ 0.999); all-zero chunks. */
      nonFinite: z.number().int(),
      clipped: z.number().int(),
      silent: z.number().int(),
      /** Missing audio filled with zeros (gaps ≤ 1 s), and restarts (longer gaps, new sessions, rate changes). */
      gaps: z.number().int(),
      gapFillMs: z.number(),
      resets: z.number().int(),
      /** Chunks dropped as already covered (duplicates, stale redeliveries). */
      duplicates: z.number().int(),
      /** Chunks published unenhanced / dropped because the model's backlog exceeded `maxPendingMs` (2×). */
      passthrough: z.number().int(),
      dropped: z.number().int(),
      /** Audio waiting for the model now, ms. */
      backlogMs: z.number(),
      /** Model runs that failed (their audio passed through unenhanced); other enhancer failures. */
      modelErrors: z.number().int(),
      errors: z.number().int(),
      /** Camera frames received, used (mouth crop handed to the model), dropped late, dropped otherwise. */
      cameraFrames: z.number().int(),
      cameraUsed: z.number().int(),
      cameraLate: z.number().int(),
      cameraDropped: z.number().int(),
    })
    .optional(),
});
export type Status = z.infer<typeof statusSchema>;

export function encodeJson<T>(schema: z.ZodType<T>, value: T): Buffer {
  return Buffer.from(JSON.stringify(schema.parse(value)));
}
