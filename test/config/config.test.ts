import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpeechModel, loadStressModel } from '../../src/cli/runtime.ts';
import {
  ConfigError,
  DEFAULT_MOUTH_REGION,
  DEFAULT_SPEECH_MODEL,
  DEFAULT_STRESS_MODEL,
  parseConfig,
  resolveSpeechModelPath,
  resolveStressModelPath,
} from '../../src/config/schema.ts';
import { renderConfigDocs } from '../../scripts/gen-config-docs.ts';

it('fills every default from an empty config', () => {
  const c = parseConfig({});
  assert.equal(c.mqtt.protocol, 'auto');
  assert.equal(c.windows.sizeMs, 1000);
  assert.equal(c.streams.weather.holdsWatermark, false);
  assert.equal(c.influx, null);
  assert.equal(parseConfig({ influx: {} }).influx?.retentionPolicy.duration, 'INF');
});

it('lets one field of a stream be set alone', () => {
  const c = parseConfig({ streams: { camera: { faultTimeoutMs: null } } });
  assert.equal(c.streams.camera.faultTimeoutMs, null);
  assert.equal(c.streams.camera.idleMs, 5000);
});

it('reports every problem with its path', () => {
  assert.throws(
    () =>
      parseConfig(
        { mqtt: { url: 'localhost', keepaliveS: 1 }, windows: { sizeMs: 1000, slideMs: 300 }, extra: true },
        'x.json',
      ),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^x\.json is invalid:/);
      assert.match(e.message, /mqtt\.url:/);
      assert.match(e.message, /mqtt\.keepaliveS:/);
      assert.match(e.message, /windows: windows\.sizeMs must be a multiple of slideMs/);
      assert.match(e.message, /Unrecognized key: "extra"/);
      return true;
    },
  );
});

it('docs/config.md is generated from the current schema', async () => {
  const committed = await readFile(new URL('../../docs/config.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDocs(), 'run `npm run docs:config`');
});

it('defaults features.stress to the committed model path; a missing file is a warning there, an error elsewhere', async (t) => {
  const c = parseConfig({});
  assert.equal(c.features.stress.model, DEFAULT_STRESS_MODEL);
  assert.equal(c.features.stress.everyMs, 1000);
  assert.equal(c.features.stress.calibrationS, null);
  assert.deepEqual(c.features.stress.executionProviders, ['cpu']);
  assert.equal(c.features.stress.maxPending, 4);
  assert.equal(c.features.stress.alert.raiseProbability, 0.6);
  const resolved = resolveStressModelPath(DEFAULT_STRESS_MODEL);
  assert.ok(resolved.isDefault && isAbsolute(resolved.path));
  assert.equal(resolved.path, fileURLToPath(new URL(`../../${DEFAULT_STRESS_MODEL}`, import.meta.url)));
  assert.throws(
    () => parseConfig({ features: { stress: { alert: { raiseProbability: 0.3 } } } }),
    /features\.stress\.alert\.clearProbability: must be < raiseProbability/,
  );
  assert.throws(
    () => parseConfig({ features: { stress: { executionProviders: ['gpu'] } } }),
    /features\.stress\.executionProviders\.0/,
  );

  assert.equal(
    await loadStressModel(parseConfig({ features: { stress: { model: null } } }), () => {}),
    undefined,
  );
  await assert.rejects(
    loadStressModel(parseConfig({ features: { stress: { model: '/nonexistent/stress.onnx' } } }), () => {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      /features\.stress\.model: \/nonexistent\/stress\.onnx does not exist/.test(e.message),
  );
  if (existsSync(resolved.path)) {
    t.diagnostic('the stress model is committed: the missing-default case is not testable here');
    return;
  }
  const logged: string[] = [];
  assert.equal(await loadStressModel(c, (m) => logged.push(m)), undefined);
  assert.match(
    logged.join('\n'),
    /warning: no stress model at .*stress\.onnx .*running without stress estimates/,
  );
});

it('defaults features.speech to the committed live model path; a missing file is a warning there, an error elsewhere', async (t) => {
  const c = parseConfig({});
  const s = c.features.speech;
  assert.equal(s.model, DEFAULT_SPEECH_MODEL);
  assert.deepEqual(s.executionProviders, ['cpu']);
  assert.equal(s.useCamera, true);
  assert.deepEqual(s.mouthRegion, DEFAULT_MOUTH_REGION);
  assert.equal(s.maxPendingMs, 1000);
  const resolved = resolveSpeechModelPath(DEFAULT_SPEECH_MODEL);
  assert.ok(resolved.isDefault && isAbsolute(resolved.path));
  assert.equal(resolved.path, fileURLToPath(new URL(`../../${DEFAULT_SPEECH_MODEL}`, import.meta.url)));
  assert.throws(
    () =>
      parseConfig({
        features: { speech: { mouthRegion: { x: 0.8, y: 0, width: 0.4, height: 0.2, units: 'fraction' } } },
      }),
    /features\.speech\.mouthRegion/,
  );
  assert.throws(
    () => parseConfig({ features: { speech: { maxPendingMs: 0 } } }),
    /features\.speech\.maxPendingMs/,
  );
  assert.equal(
    parseConfig({ features: { speech: { maskStrength: 0.5 } } }).features.speech.maskStrength,
    0.5,
  );
  assert.throws(
    () => parseConfig({ features: { speech: { maskStrength: 0 } } }),
    /features\.speech\.maskStrength/,
  );
  assert.equal(
    parseConfig({ features: { speech: { maskStrengthVisual: 0.8 } } }).features.speech.maskStrengthVisual,
    0.8,
  );
  assert.equal(
    parseConfig({ features: { speech: { maskStrengthVisual: 1.2 } } }).features.speech.maskStrengthVisual,
    1.2,
  ); // above 1: the camera mode's gain deepened
  assert.throws(
    () => parseConfig({ features: { speech: { maskStrengthVisual: 2.5 } } }),
    /features\.speech\.maskStrengthVisual/,
  );
  assert.throws(
    () => parseConfig({ features: { speech: { maskStrength: 1.2 } } }),
    /features\.speech\.maskStrength/,
  );
  assert.throws(
    () => parseConfig({ features: { speech: { maskFloorDb: 3 } } }),
    /features\.speech\.maskFloorDb/,
  );
  const smoothing = parseConfig({ features: { speech: { maskSmoothingBins: 3, maskSmoothingTime: 0.3 } } });
  assert.deepEqual(
    [smoothing.features.speech.maskSmoothingBins, smoothing.features.speech.maskSmoothingTime],
    [3, 0.3],
  );
  const expansion = parseConfig({
    features: { speech: { maskExpansionKneeDb: -10, maskExpansionRatio: 2 } },
  });
  assert.deepEqual(
    [expansion.features.speech.maskExpansionKneeDb, expansion.features.speech.maskExpansionRatio],
    [-10, 2],
  );
  for (const bad of [
    { maskSmoothingBins: 4 },
    { maskSmoothingBins: 17 },
    { maskSmoothingTime: 1 },
    { maskExpansionKneeDb: 1 },
    { maskExpansionKneeDb: -41 },
    { maskExpansionRatio: 0.9 },
    { maskExpansionRatio: 11 },
  ])
    assert.throws(
      () => parseConfig({ features: { speech: bad } }),
      new RegExp(`features\\.speech\\.${Object.keys(bad)[0]!}`),
    );

  assert.equal(
    await loadSpeechModel(parseConfig({ features: { speech: { model: null } } }), () => {}),
    undefined,
  );
  await assert.rejects(
    loadSpeechModel(parseConfig({ features: { speech: { model: '/nonexistent/avdcnn.onnx' } } }), () => {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      /features\.speech\.model: \/nonexistent\/avdcnn\.onnx does not exist/.test(e.message),
  );
  if (existsSync(resolved.path)) {
    t.diagnostic('the speech model is committed: the missing-default case is not testable here');
    return;
  }
  const logged: string[] = [];
  assert.equal(await loadSpeechModel(c, (m) => logged.push(m)), undefined);
  assert.match(
    logged.join('\n'),
    /warning: no speech model at .*avdcnn-causal\.onnx .*running without speech enhancement/,
  );
});
