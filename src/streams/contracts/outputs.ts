import { z } from 'zod';
import { INPUT_STREAMS } from './topics.ts';

/**
 * JSON contracts of the pipeline's outputs: `…/alert`, `…/status` (retained, also the last will).
 * Times are event times in µs since the epoch unless the field name says otherwise.
 */
const stream = z.enum(INPUT_STREAMS);

export const alertSchema = z.object({
  v: z.literal(1),
  vehicleId: z.string(),
  /** Kind of alert; `sensor_fault` for now, `stress_high` later. */
  kind: z.enum(['sensor_fault']),
  state: z.enum(['raised', 'cleared']),
  stream: stream,
  reason: z.enum(['silent', 'invalid']),
  /** Event time at which the condition was detected (raised) or ended (cleared). */
  tUs: z.number().int(),
  /** Event time of the stream's last valid data before the fault (absent if it never sent any). */
  lastDataUs: z.number().int().optional(),
  message: z.string(),
});
export type Alert = z.infer<typeof alertSchema>;

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
});
export type Status = z.infer<typeof statusSchema>;

export function encodeJson<T>(schema: z.ZodType<T>, value: T): Buffer {
  return Buffer.from(JSON.stringify(schema.parse(value)));
}
