/**
 * Configuration of the camera (mouth) feature path, as a zod schema for the project's config
 * (src/config/schema.ts can embed `cameraFeaturesSchema`; docs come from the `.describe` texts), and the
 * factory that builds a `MouthExtractor` from it. Durations in ms, sizes in pixels unless stated.
 */
import { z } from 'zod';
import { DEFAULT_MAX_PIXELS } from './decode.ts';
import { createFaceLandmarker } from './landmarks.ts';
import type { FaceLandmarker } from './landmarks.ts';
import { MOUTH_INPUT_HEIGHT, MOUTH_INPUT_WIDTH, MouthExtractor } from './mouth-extractor.ts';
import type { LandmarkSource } from './mouth-tracker.ts';
import { MOUTH_BOX_DEFAULTS, fixedRoiSchema } from './roi.ts';

const landmarkRoiSchema = z
  .strictObject({
    kind: z.literal('landmarks'),
    detector: z
      .enum(['tiny', 'ssd'])
      .default('tiny')
      .describe('Face detector (ssd is ≈ 30× slower than tiny)'),
    inputSize: z
      .number()
      .int()
      .min(64)
      .max(608)
      .multipleOf(32)
      .default(160)
      .describe('Tiny face detector input size (px, multiple of 32)'),
    minScore: z.number().min(0).max(1).default(0.5).describe('Minimum face detector score'),
    landmarkNet: z.enum(['full', 'tiny']).default('full').describe('68-point landmark net'),
    backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto').describe('TF.js backend'),
    detectEveryN: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(5)
      .describe('Run face detection every N frames; NCC tracking in between'),
    widthScale: z
      .number()
      .min(1)
      .max(5)
      .default(MOUTH_BOX_DEFAULTS.widthScale)
      .describe('Mouth box width / mouth-corner distance'),
    smoothing: z.boolean().default(true).describe('One Euro smoothing of the mouth box'),
    maxFallbackMs: z
      .number()
      .min(0)
      .max(10_000)
      .default(500)
      .describe('How long the last good box stands in when detection/tracking fails (ms)'),
  })
  .describe('Mouth box from face landmarks');

const fixedRoiConfigSchema = z
  .strictObject({ kind: z.literal('fixed'), region: fixedRoiSchema })
  .describe('A fixed mouth region (fixed in-car camera)');

export const cameraFeaturesSchema = z
  .strictObject({
    roi: z
      .discriminatedUnion('kind', [fixedRoiConfigSchema, landmarkRoiSchema])
      .prefault({ kind: 'landmarks' }),
    output: z
      .strictObject({
        width: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(MOUTH_INPUT_WIDTH)
          .describe('Model input width (px)'),
        height: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(MOUTH_INPUT_HEIGHT)
          .describe('Model input height (px)'),
        color: z.enum(['rgb', 'gray']).default('rgb'),
        layout: z
          .enum(['hwc', 'chw'])
          .default('hwc')
          .describe('hwc: interleaved (TF.js NHWC); chw: planar (NCHW)'),
      })
      .prefault({}),
    expectedSize: z
      .strictObject({ width: z.number().int().positive(), height: z.number().int().positive() })
      .nullable()
      .default(null)
      .describe('Refuse frames of any other size; null: accept any size (changes are counted)'),
    maxPixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS).describe('Refuse larger frames'),
    align: z
      .strictObject({
        mode: z
          .enum(['causal', 'linear'])
          .default('causal')
          .describe('causal: sample-and-hold; linear: offline'),
        maxGapMs: z.number().positive().max(2000).default(100).describe('Longer camera gaps are "missing"'),
      })
      .prefault({}),
  })
  .prefault({});

export type CameraFeaturesConfig = z.output<typeof cameraFeaturesSchema>;
export type CameraFeaturesInput = z.input<typeof cameraFeaturesSchema>;

/**
 * Builds the extractor. In landmarks mode, loads the face nets (≈ 0.5 MB, local files) unless `landmarker`
 * is given (tests, or one landmarker shared by several vehicles' extractors, used one frame at a time).
 */
export async function createMouthExtractor(
  config: CameraFeaturesConfig,
  deps: { readonly landmarker?: LandmarkSource } = {},
): Promise<{ extractor: MouthExtractor; landmarker?: FaceLandmarker }> {
  const common = {
    width: config.output.width,
    height: config.output.height,
    color: config.output.color,
    layout: config.output.layout,
    decode: { maxPixels: config.maxPixels },
    ...(config.expectedSize !== null ? { expectedSize: config.expectedSize } : {}),
  };
  const roi = config.roi;
  if (roi.kind === 'fixed') return { extractor: new MouthExtractor({ ...common, roi }) };
  let created: FaceLandmarker | undefined;
  const landmarker =
    deps.landmarker ??
    (created = await createFaceLandmarker({
      detector: roi.detector,
      inputSize: roi.inputSize,
      minScore: roi.minScore,
      landmarkNet: roi.landmarkNet,
      backend: roi.backend,
    }));
  const extractor = new MouthExtractor({
    ...common,
    roi: {
      kind: 'landmarks',
      landmarker,
      tracker: {
        detectEveryN: roi.detectEveryN,
        mouthBox: { widthScale: roi.widthScale, aspect: config.output.width / config.output.height },
        smoothing: roi.smoothing ? {} : false,
        maxFallbackUs: roi.maxFallbackMs * 1000,
      },
    },
  });
  return created ? { extractor, landmarker: created } : { extractor };
}
