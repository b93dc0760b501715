import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fixedRoiSchema } from '../streams/features/camera/roi.ts';
import { stressAlertOptionsSchema } from '../streams/rules/stress-alert.ts';
import { MASK_EXPANSION_KNEE_MIN_DB, MASK_EXPANSION_MAX_RATIO } from '../models/speech/mask/expansion.ts';
import { PAUSE_GATE_MIN_DB } from '../models/speech/mask/pause-gate.ts';
import { MASK_SMOOTHING_MAX_BINS } from '../models/speech/mask/smoothing.ts';
import { MASK_STRENGTH_MAX } from '../models/speech/mask/strength.ts';

/**
 * The configuration schema: the single source of truth. Parsed and validated at start-up
 * (`loadConfig`), with defaults; docs/config.md is generated from these definitions
 * (`npm run docs:config`). Durations are in ms unless the name says otherwise.
 */
const ms = (def: number, what: string) => z.number().int().positive().default(def).describe(`${what} (ms)`);

/** ONNX Runtime execution providers of a served model (stress, speech). */
const executionProvidersSchema = z
  .array(z.enum(['cpu', 'cuda', 'tensorrt']))
  .min(1)
  .default(['cpu'])
  .describe(
    'ONNX Runtime execution providers in order of preference; the first that loads runs the model, cpu is the explicit fallback',
  );

interface StreamDefaults {
  readonly faultTimeoutMs: number | null;
  readonly idleMs: number;
  readonly holdsWatermark: boolean;
}

/** Per-stream settings; each field defaults to the stream's own value, so a config may set one alone. */
function streamSchema(d: StreamDefaults) {
  return z
    .object({
      faultTimeoutMs: z
        .number()
        .int()
        .positive()
        .nullable()
        .default(d.faultTimeoutMs)
        .describe(
          'Raise `sensor_fault` when the stream sends no valid data for this long (event time, ms); null: not monitored',
        ),
      idleMs: ms(d.idleMs, 'A stream silent this long stops holding back the vehicle watermark'),
      holdsWatermark: z
        .boolean()
        .default(d.holdsWatermark)
        .describe('Whether windows wait for this stream (false for slow context streams)'),
    })
    .strict()
    .prefault({});
}

/** Where the trained stress model is committed; a relative default, resolved against the package root. */
export const DEFAULT_STRESS_MODEL = 'src/models/stress/model/stress.onnx';
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The file `features.stress.model` names: the default path is resolved against the package root (so it
 * works from any working directory), any other relative path against the working directory.
 */
export function resolveStressModelPath(model: string): { path: string; isDefault: boolean } {
  const isDefault = model === DEFAULT_STRESS_MODEL;
  if (isAbsolute(model)) return { path: model, isDefault };
  return { path: isDefault ? resolve(PACKAGE_ROOT, model) : resolve(model), isDefault };
}

/**
 * The live (causal) speech model served by default: the car profile's committed pair of int8 CPU variants
 * (docs/models/speech.md, docs/models/quantization.md; the four members need more than the budget's core on
 * a slower machine of the class); resolved like the stress model's default.
 */
export const DEFAULT_SPEECH_MODEL = 'src/models/speech/model/avdcnn-causal-car-pair.int8.ensemble.json';

/** The file `features.speech.model` names (the default path against the package root, as for stress). */
export function resolveSpeechModelPath(model: string): { path: string; isDefault: boolean } {
  const isDefault = model === DEFAULT_SPEECH_MODEL;
  if (isAbsolute(model)) return { path: model, isDefault };
  return { path: isDefault ? resolve(PACKAGE_ROOT, model) : resolve(model), isDefault };
}

/**
 * The default fixed mouth region of `features.speech.mouthRegion`: the lower middle of the frame, 24:16 on a
 * 360×288 (GRID-like, 5:4) frame. A real cabin camera needs its own region measured once.
 */
export const DEFAULT_MOUTH_REGION = { x: 0.25, y: 0.6, width: 0.4, height: 0.33, units: 'fraction' } as const;

const fast: StreamDefaults = { faultTimeoutMs: 5000, idleMs: 5000, holdsWatermark: true };

export const configSchema = z
  .object({
    pipelineId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .default('drivesense')
      .describe('Name of this pipeline instance (status topic, client ids)'),
    vehicles: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/))
      .nullable()
      .default(null)
      .describe('Vehicle ids to serve; null: every vehicle seen on the broker'),
    maxVehicles: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe(
        'Most vehicles served at once (memory bound); messages of further vehicle ids are refused and counted',
      ),
    mqtt: z
      .object({
        url: z
          .string()
          .regex(/^(mqtts?|wss?|tcp):\/\//)
          .default('mqtt://127.0.0.1:1883')
          .describe('Broker URL'),
        protocol: z
          .union([z.literal('auto'), z.literal(5), z.literal(4)])
          .default('auto')
          .describe('MQTT version: 5, 4 (3.1.1) or auto (5, falling back to 3.1.1)'),
        username: z.string().optional().describe('User name'),
        password: z.string().optional().describe('Password'),
        clientIdPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,32}$/)
          .default('drivesense')
          .describe('Client id prefix; host, pid and a random suffix are appended'),
        keepaliveS: z.number().int().min(5).max(600).default(30).describe('Keep-alive (s)'),
        connectTimeoutMs: ms(10_000, 'Connection timeout'),
        reconnectMinMs: ms(500, 'First reconnect delay, doubled per failure'),
        reconnectMaxMs: ms(30_000, 'Longest reconnect delay'),
        sessionExpiryS: z
          .number()
          .int()
          .min(0)
          .default(3600)
          .describe('MQTT 5 session expiry: how long the broker keeps QoS 1 messages for us while away (s)'),
        maxQueuedPublishes: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe('Outgoing QoS 1 messages kept while disconnected; more are dropped and counted'),
      })
      .strict()
      .prefault({}),
    influx: z
      .object({
        url: z.string().url().default('http://127.0.0.1:8086').describe('InfluxDB 1.x URL'),
        database: z.string().min(1).default('drivesense').describe('Database (created when missing)'),
        retentionPolicy: z
          .object({
            name: z
              .string()
              .min(1)
              .default('drivesense_keep')
              .describe('Retention policy written into (created when missing, made the default)'),
            duration: z
              .string()
              .regex(/^(INF|\d+[smhdw])$/)
              .default('INF')
              .describe(
                "Retention (INF keeps replayed old drives: InfluxDB refuses points older than a policy's duration)",
              ),
          })
          .strict()
          .prefault({}),
        batchSize: z.number().int().positive().default(5000).describe('Points per write request'),
        batchIntervalMs: ms(1000, 'Longest wait before a partial batch is written'),
        maxBufferPoints: z
          .number()
          .int()
          .positive()
          .default(200_000)
          .describe(
            'Points buffered while InfluxDB is unreachable; the oldest beyond this are dropped and counted',
          ),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('InfluxDB sink; null: disabled'),
    files: z
      .object({
        dir: z.string().default('./out').describe('Directory for the file sink'),
        format: z.enum(['lp', 'jsonl']).default('lp').describe('Line protocol or JSON lines'),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('File sink (the embedded default); null: disabled'),
    windows: z
      .object({
        sizeMs: ms(1000, 'Window length'),
        slideMs: ms(1000, 'Window slide (equal to sizeMs: tumbling)'),
        allowedLatenessMs: z
          .number()
          .int()
          .min(0)
          .default(500)
          .describe('How long after its end a window waits for late data (ms)'),
      })
      .strict()
      .prefault({})
      .refine(
        (w) => w.slideMs <= w.sizeMs && w.sizeMs % w.slideMs === 0,
        'windows.sizeMs must be a multiple of slideMs',
      ),
    streams: z
      .object({
        ecg: streamSchema(fast),
        can: streamSchema(fast),
        audio: streamSchema(fast),
        camera: streamSchema(fast),
        weather: streamSchema({ faultTimeoutMs: 1_800_000, idleMs: 1_800_000, holdsWatermark: false }),
      })
      .strict()
      .prefault({}),
    features: z
      .object({
        cardiac: z
          .object({
            enabled: z
              .boolean()
              .default(true)
              .describe('Heart rate, HRV and ECG quality per window (measurement `cardiac`)'),
            hrWindowMs: ms(10_000, 'Span of the heart-rate estimate'),
            hrvWindowMs: ms(60_000, 'Span of the HRV estimate'),
            decisionDelayMs: ms(
              2500,
              'The QRS detector’s longest decision delay: features describe the span ending this long before the window end',
            ),
          })
          .strict()
          .prefault({}),
        driving: z
          .object({
            profile: z
              .string()
              .nullable()
              .default(null)
              .describe(
                'Vehicle profile (JSON; its DBC beside it) for driving features (measurement `driving`); null: off',
              ),
            spanMs: ms(10_000, 'Span of steering, pedal and speed statistics ending at each window end'),
          })
          .strict()
          .prefault({}),
        context: z
          .object({
            enabled: z
              .boolean()
              .default(true)
              .describe('Weather and time-of-day context per observation (measurement `context`)'),
          })
          .strict()
          .prefault({}),
        stress: z
          .object({
            model: z
              .string()
              .min(1)
              .nullable()
              .default(DEFAULT_STRESS_MODEL)
              .describe(
                'Stress model (.onnx with its .onnx.json sidecar) for per-vehicle stress estimates (topic `…/stress`, measurement `stress`); the default path is relative to the package root and, while that file does not exist, stress is off with a warning; any other path must exist; null: off',
              ),
            everyMs: ms(1000, 'Event time between two estimates of a vehicle'),
            calibrationS: z
              .number()
              .positive()
              .nullable()
              .default(null)
              .describe(
                "Calibration span (s of event time from a vehicle's first physiological sample) before the first estimate; null: the model's own. Raised to the model's window length when shorter",
              ),
            executionProviders: executionProvidersSchema,
            maxPending: z
              .number()
              .int()
              .positive()
              .default(4)
              .describe(
                'Most estimates in flight per vehicle; estimates due beyond it are dropped and counted',
              ),
            alert: stressAlertOptionsSchema
              .prefault({})
              .describe('`stress_high` alert rule on the estimates (see docs/contracts.md)'),
          })
          .strict()
          .prefault({}),
        speech: z
          .object({
            model: z
              .string()
              .min(1)
              .nullable()
              .default(DEFAULT_SPEECH_MODEL)
              .describe(
                'Speech enhancement model (.onnx with its .onnx.json sidecar, or an ensemble manifest *.ensemble.json naming several such models whose outputs are averaged) for per-vehicle cabin speech enhancement (topic `…/audio/enhanced`); the default is the pair of int8 members of the car profile (speech-presence noise tracker, low-gain expansion), `src/models/speech/model/avdcnn-causal-car.int8.ensemble.json` the four members at twice the compute for a core with headroom and `src/models/speech/model/avdcnn-causal-car-minstat.int8.ensemble.json` the minimum-statistics pair before them (docs/performance.md); the default path is relative to the package root and, while that file does not exist, enhancement is off with a warning; any other path must exist; null: off',
              ),
            executionProviders: executionProvidersSchema,
            useCamera: z
              .boolean()
              .default(true)
              .describe(
                "Feed the vehicle's camera frames (mouth crops from `mouthRegion`) to the audio-visual model; false: audio only. Frames are dropped, never queued, when late",
              ),
            maxCameraFps: z
              .number()
              .positive()
              .default(30)
              .describe(
                'Camera frames decoded for the mouth path per second of processing time at most, per vehicle (a JPEG decode is ≈ 5 ms on the main thread): frames beyond it are dropped undecoded (counted `cameraDropped`), so a camera, or a replay faster than real time, cannot starve the rest of the pipeline; the model takes the frames without a crop as camera-absent',
              ),
            mouthRegion: fixedRoiSchema
              .default(DEFAULT_MOUTH_REGION)
              .describe(
                "Fixed mouth region of the cabin camera (px, or fractions of the frame with units 'fraction'); the cheap ROI path: no face landmarks on the live path",
              ),
            maskFloorDb: z
              .number()
              .max(0)
              .optional()
              .describe(
                "Lowest gain of the enhancement mask, dB ≤ 0 (e.g. -12 keeps some cabin ambience); default: the model's metadata, else none",
              ),
            maskStrength: z
              .number()
              .gt(0)
              .max(MASK_STRENGTH_MAX.maskStrength)
              .optional()
              .describe(
                "Strength α of the enhancement mask, in (0, 1]: the gain G is applied as G^α (lower: less noise removed, less speech attenuated); default: the model's metadata, else 1",
              ),
            maskStrengthVisual: z
              .number()
              .gt(0)
              .max(MASK_STRENGTH_MAX.maskStrengthVisual)
              .optional()
              .describe(
                "Strength of the mask while the camera sees the mouth (the audio-visual mode), in (0, 2] (above 1 the gain is deepened, never below the model's training gain floor); default: maskStrength when set here, else the model's metadata (its maskStrengthVisual, else its maskStrength), else 1",
              ),
            maskSmoothingBins: z
              .number()
              .int()
              .min(1)
              .max(MASK_SMOOTHING_MAX_BINS)
              .refine((v) => v % 2 === 1, 'must be odd')
              .optional()
              .describe(
                "Gain smoothing of the enhancement mask across frequency: the ln gain averaged over this many bins (odd; 1: none); default: the model's metadata, else 1. Off in the served models (docs/models/speech.md: it did not bring the car profile closer to RNNoise on validation)",
              ),
            maskSmoothingTime: z
              .number()
              .min(0)
              .lt(1)
              .optional()
              .describe(
                "Gain smoothing of the enhancement mask over time: g = β·g_prev + (1 − β)·g, β in [0, 1) (0: none; causal, no delay); default: the model's metadata, else 0",
              ),
            maskExpansionKneeDb: z
              .number()
              .min(MASK_EXPANSION_KNEE_MIN_DB)
              .max(0)
              .optional()
              .describe(
                "Knee of the enhancement mask's low-gain expansion, dB in [−40, 0]: gains below it are deepened by maskExpansionRatio; default: the model's metadata, else 0",
              ),
            maskExpansionRatio: z
              .number()
              .min(1)
              .max(MASK_EXPANSION_MAX_RATIO)
              .optional()
              .describe(
                "Ratio of the enhancement mask's low-gain expansion, in [1, 10] (1: none): an ln gain d below the knee K becomes K + r·(d − K), never below the model's training gain floor or maskFloorDb (causal, no delay; docs/models/speech-history.md, \"Rule for expanding the lowest gains\"); default: the model's metadata, else 1",
              ),
            pauseGateDb: z
              .number()
              .min(PAUSE_GATE_MIN_DB)
              .max(0)
              .optional()
              .describe(
                'Depth of the pause gate on the enhanced output, dB in [−40, 0] (0: none): after 300 ms of frames whose gain (enhanced over noisy power) is below pauseGateThresholdDb, those frames are lowered by this much (causal, no delay; docs/models/speech-history.md, "Rule for a pause gate on the enhanced output"); default: the model\'s metadata, else 0',
              ),
            pauseGateThresholdDb: z
              .number()
              .min(PAUSE_GATE_MIN_DB)
              .max(0)
              .optional()
              .describe(
                "Frame-gain threshold of the pause gate, dB in [−40, 0]; default: the model's metadata, else −40 (the gate closes on the lowest frame gains only)",
              ),
            maxPendingMs: ms(
              1000,
              'Audio waiting for the model per vehicle at most; beyond it the enhancer is flushed and further audio is published unenhanced (counted `passthrough`) until the backlog is down to half; beyond twice it audio is dropped (counted `dropped`)',
            ),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    status: z
      .object({
        intervalMs: ms(5000, 'How often each vehicle status is published'),
        quietMs: ms(
          5000,
          'Grace of processing time without any message from a vehicle (and with the broker connection up) after which its event time advances with processing time: closes windows and reports faults when a whole vehicle falls silent',
        ),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a config object; every problem is listed with its path. */
export function parseConfig(input: unknown, source = 'config'): Config {
  const r = configSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, path);
}
