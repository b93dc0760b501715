/**
 * Records serving settings chosen by a rule in a speech model's sidecar (metadata.speech), validated first:
 *
 *   node --import tsx scripts/speech-set-serving.ts MODEL.onnx KEY=VALUE [KEY=VALUE …]
 *
 * KEY is one of the mask settings the enhancer reads from the metadata (maskFloorDb, maskStrength,
 * maskStrengthVisual, maskSmoothingBins, maskSmoothingTime, maskExpansionKneeDb, maskExpansionRatio,
 * pauseGateDb, pauseGateThresholdDb); VALUE a number, or `none` to remove the key. `cameraMode=off` serves the
 * model audio-only in an ensemble's camera mode (`cameraMode=none` removes it). Run it on the float model,
 * then `drivesense quantize` carries the settings to the int8 variant (the int8 graph is unchanged).
 */
import { SPEECH_SERVING_KEYS, servingSettingError } from '../src/models/speech/mask/settings.ts';
import type { SpeechServingKey } from '../src/models/speech/mask/settings.ts';
import { readSpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import type { SpeechModelMeta } from '../src/models/speech/speech-model-meta.ts';
import { writeSpeechMeta } from './speech-serving.ts';

/**
 * `cameraMode=off` (serve the model audio-only in an ensemble's camera mode) or `cameraMode=none` (remove it)
 * among `args`: 'off', null for none, undefined when not given; the other arguments returned as they are.
 */
export function takeCameraMode(args: readonly string[]): {
  cameraMode: 'off' | null | undefined;
  rest: string[];
} {
  let cameraMode: 'off' | null | undefined;
  const rest: string[] = [];
  for (const a of args) {
    if (!a.startsWith('cameraMode=')) {
      rest.push(a);
      continue;
    }
    const v = a.slice('cameraMode='.length);
    if (v !== 'off' && v !== 'none') throw new Error(`${a}: cameraMode is off or none`);
    cameraMode = v === 'off' ? 'off' : null;
  }
  return { cameraMode, rest };
}

/** The settings of `KEY=VALUE` arguments (undefined: remove); throws on an unknown key or a bad number. */
export function parseServingArgs(
  args: readonly string[],
): Partial<Record<SpeechServingKey, number | undefined>> {
  const out: Partial<Record<SpeechServingKey, number | undefined>> = {};
  for (const a of args) {
    const [key, value, ...rest] = a.split('=');
    if (
      !(SPEECH_SERVING_KEYS as readonly string[]).includes(key ?? '') ||
      value === undefined ||
      rest.length > 0
    )
      throw new Error(`${a}: want KEY=VALUE with KEY one of ${SPEECH_SERVING_KEYS.join(', ')}`);
    const v = value === 'none' ? undefined : Number(value);
    if (v !== undefined && (value.trim() === '' || !Number.isFinite(v)))
      throw new Error(`${a}: ${value} is not a number`);
    const why = v === undefined ? undefined : servingSettingError(key as SpeechServingKey, v);
    if (why !== undefined) throw new Error(`${a}: ${why}`);
    out[key as SpeechServingKey] = v;
  }
  return out;
}

async function main(): Promise<void> {
  const [model, ...args] = process.argv.slice(2);
  if (model === undefined || args.length === 0)
    throw new Error(
      'usage: scripts/speech-set-serving.ts MODEL.onnx KEY=VALUE [KEY=VALUE …] (KEY a serving setting, or cameraMode=off|none)',
    );
  const { cameraMode, rest } = takeCameraMode(args);
  const settings = parseServingArgs(rest);
  // Read through the loader's checks (the sidecar against the graph), edit, validate, write.
  const { meta } = await readSpeechModelMeta(model);
  const speech: { -readonly [K in keyof SpeechModelMeta]: SpeechModelMeta[K] } = { ...meta };
  for (const k of SPEECH_SERVING_KEYS) {
    if (!(k in settings)) continue;
    const v = settings[k];
    if (v === undefined) delete speech[k];
    else speech[k] = v;
  }
  if (cameraMode === 'off') speech.cameraMode = 'off';
  else if (cameraMode === null) delete speech.cameraMode;
  await writeSpeechMeta(model, speech);
  console.log(`${model}: ${args.join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
