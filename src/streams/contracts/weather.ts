import { z } from 'zod';
import { fail } from './errors.ts';
import { MAX_TIME_US, MIN_TIME_US } from './header.ts';
import type { WeatherObservation } from './messages.ts';

/**
 * Codec of the `weather` stream: JSON shaped like an Open-Meteo `/v1/forecast?current=…` response plus
 * the envelope every message carries (`v`, `session`, `seq`, `tUs`). `tUs` may be omitted: then the event
 * time is `current.time` (local ISO time) shifted by `utc_offset_seconds`, i.e. the observation's own time.
 */
export const WEATHER_MAX_BYTES = 16 * 1024;

const u32 = z.number().int().min(0).max(0xffffffff);
const timeUs = z
  .number()
  .int()
  .min(MIN_TIME_US)
  .max(MAX_TIME_US - 1);
const fieldValue = z.union([z.number(), z.string().max(64), z.null()]);

/** Open-Meteo's `utc_offset_seconds`: the offset of its local `current.time` from UTC. */
export const utcOffsetSeconds = z
  .number()
  .int()
  .min(-18 * 3600)
  .max(18 * 3600);

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

/**
 * The UTC time (µs since the epoch) of an Open-Meteo observation: `current.time` is local time without a
 * zone (YYYY-MM-DDTHH:MM), `utc_offset_seconds` its offset. Undefined when `time` is not of that shape.
 */
export function observationTimeUs(time: unknown, offsetSeconds: number): number | undefined {
  if (typeof time !== 'string' || !LOCAL_TIME.test(time)) return undefined;
  return (Date.parse(`${time}Z`) - offsetSeconds * 1000) * 1000;
}

export const weatherSchema = z
  .object({
    v: z.literal(1),
    session: u32,
    seq: u32,
    tUs: timeUs.optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    utc_offset_seconds: utcOffsetSeconds.optional(),
    current_units: z.record(z.string().max(64), z.string().max(32)).optional(),
    current: z
      .record(z.string().max(64), fieldValue)
      .refine((c) => Object.keys(c).length <= 64, 'at most 64 fields'),
  })
  .loose();

export type WeatherMessage = z.input<typeof weatherSchema>;

function eventTimeUs(m: z.output<typeof weatherSchema>): number {
  if (m.tUs !== undefined) return m.tUs;
  const tUs = observationTimeUs(m.current['time'], m.utc_offset_seconds ?? 0);
  if (tUs === undefined) return fail('schema', 'neither tUs nor current.time (YYYY-MM-DDTHH:MM) is given');
  if (!(tUs >= MIN_TIME_US && tUs < MAX_TIME_US)) fail('bad-field', `current.time is out of range`);
  return tUs;
}

export function encodeWeather(m: WeatherMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(weatherSchema.parse(m)));
}

export function decodeWeather(bytes: Uint8Array): WeatherObservation {
  if (bytes.byteLength > WEATHER_MAX_BYTES)
    fail('oversized', `${bytes.byteLength} bytes > cap of ${WEATHER_MAX_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return fail('bad-json', (e as Error).message);
  }
  const parsed = weatherSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('schema', issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid');
  }
  const m = parsed.data;
  for (const [k, v] of Object.entries(m.current)) {
    if (typeof v === 'number' && !Number.isFinite(v)) fail('non-finite', `current.${k}`);
  }
  const tUs = eventTimeUs(m);
  return {
    kind: 'weather',
    sessionId: m.session,
    seq: m.seq,
    tUs,
    endUs: tUs,
    bytes: bytes.byteLength,
    current: m.current,
    units: m.current_units ?? {},
    ...(m.latitude !== undefined ? { latitude: m.latitude } : {}),
    ...(m.longitude !== undefined ? { longitude: m.longitude } : {}),
    ...(m.utc_offset_seconds !== undefined ? { utcOffsetSeconds: m.utc_offset_seconds } : {}),
  };
}
