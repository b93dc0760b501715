/**
 * Records serving settings chosen by a rule in a speech model's sidecar (metadata.speech), validated first:
 *
 *   node --import tsx scripts/speech-set-serving.ts MODEL.onnx KEY=VALUE [KEY=VALUE …]
 *
 * KEY is one of the mask settings the enhancer reads from the metadata (maskFloorDb, maskStrength,
 * maskStrengthVisual, maskSmoothingBins, maskSmoothingTime, maskExpansionKneeDb, maskExpansionRatio); VALUE a
 * number, or `none` to remove the key. Run it on the float model, then `drivesense quantize` carries the
 * settings to the int8 variant (the int8 graph is unchanged).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { sidecarPathFor } from '../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../src/models/common/onnx-export.ts';
import { validateSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';

const SERVING_KEYS = [
  'maskFloorDb',
  'maskStrength',
  'maskStrengthVisual',
  'maskSmoothingBins',
  'maskSmoothingTime',
  'maskExpansionKneeDb',
  'maskExpansionRatio',
] as const;
type ServingKey = (typeof SERVING_KEYS)[number];

/** The settings of `KEY=VALUE` arguments (undefined: remove); throws on an unknown key or a bad number. */
export function parseServingArgs(args: readonly string[]): Partial<Record<ServingKey, number | undefined>> {
  const out: Partial<Record<ServingKey, number | undefined>> = {};
  for (const a of args) {
    const [key, value, ...rest] = a.split('=');
    if (!(SERVING_KEYS as readonly string[]).includes(key ?? '') || value === undefined || rest.length > 0)
      throw new Error(`${a}: want KEY=VALUE with KEY one of ${SERVING_KEYS.join(', ')}`);
    const v = value === 'none' ? undefined : Number(value);
    if (v !== undefined && (value.trim() === '' || !Number.isFinite(v)))
      throw new Error(`${a}: ${value} is not a number`);
    out[key as ServingKey] = v;
  }
  return out;
}

async function main(): Promise<void> {
  const [model, ...args] = process.argv.slice(2);
  if (model === undefined || args.length === 0)
    throw new Error('usage: scripts/speech-set-serving.ts MODEL.onnx KEY=VALUE [KEY=VALUE …]');
  const settings = parseServingArgs(args);
  const path = sidecarPathFor(model);
  const raw = JSON.parse(await readFile(path, 'utf8')) as OnnxSidecar;
  const speech = { ...(raw.metadata?.['speech'] as SpeechModelMeta) } as Record<string, unknown>;
  for (const [k, v] of Object.entries(settings)) {
    if (v === undefined) delete speech[k];
    else speech[k] = v;
  }
  validateSpeechModelMeta(speech as unknown as SpeechModelMeta);
  await writeFile(path, JSON.stringify({ ...raw, metadata: { ...raw.metadata, speech } }, null, 2) + '\n');
  console.log(`${path}: ${args.join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
