/**
 * Int8 quantisation of dense layers (src/models/common/onnx-quantize.ts, `drivesense quantize`): the weight
 * quantiser's bounds, the rewritten graph (standard ops, small products left float), ONNX Runtime's outputs
 * near TF.js's — and far from them when the scales are damaged, so the closeness check can fail —, refusals
 * of bytes that are not a model (fuzzed), the command's files, and the committed speech model's int8
 * variant scored against its float model on a committed noisy fixture.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { forceTrainingBackend } from '../../src/models/common/backend.ts';
import { exportToOnnx, saveOnnxModel } from '../../src/models/common/onnx-export.ts';
import type { OnnxSidecar } from '../../src/models/common/onnx-export.ts';
import {
  quantizeColumns,
  quantizedPathFor,
  quantizeOnnxMatMuls,
} from '../../src/models/common/onnx-quantize.ts';
import { decodeOnnxModel, encodeOnnxModel, summarizeOnnxModel } from '../../src/models/common/onnx-writer.ts';
import { OnnxSession } from '../../src/models/common/onnx-session.ts';
import { SeededRandom } from '../../src/models/common/rng.ts';
import { parseCommandArgs, UsageError } from '../../src/cli/command.ts';
import { quantizeCommand } from '../../src/cli/commands/quantize.ts';
import {
  loadSpeechEnhancerModel,
  SPEECH_FLOAT_MODEL_PATH,
  SPEECH_INT8_MODEL_PATH,
} from '../../src/models/speech/enhancer-onnx.ts';
import { enhanceSamples } from '../../src/models/speech/enhance-samples.ts';
import { siSdr } from '../../src/models/speech/metrics/sisdr.ts';
import { readWavFile } from '../../src/streams/readers/wav.ts';
import { noisySpeechFixture, SPEECH_FIXTURE } from '../support/speech-fixtures.ts';
import { maxAbs, maxAbsDiff, randomInputs, randomizeWeights, tfjsPredict } from './helpers.ts';

/** input 16 → Dense 256 sigmoid → Dense 64 → Dense 8: products of 4096, 16384 and 512 weights. */
function denseModel(): tf.LayersModel {
  const x = tf.input({ shape: [16], name: 'x' });
  const h1 = tf.layers.dense({ units: 256, activation: 'sigmoid', name: 'd1' }).apply(x) as tf.SymbolicTensor;
  const h2 = tf.layers.dense({ units: 64, name: 'd2' }).apply(h1) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 8, name: 'y' }).apply(h2) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: y, name: 'dense' });
  randomizeWeights(m, 3);
  return m;
}

/** Max |ONNX − TF.js| of the model's output, and max |TF.js| (its scale). */
async function diffToTfjs(
  model: tf.LayersModel,
  bytes: Uint8Array,
): Promise<{ diff: number; scale: number }> {
  const session = await OnnxSession.create(bytes);
  try {
    const inputs = randomInputs(model, 5, 9);
    const expected = tfjsPredict(model, inputs, session.outputNames);
    const got = await session.run(inputs);
    const name = session.outputNames[0]!;
    return { diff: maxAbsDiff(got[name]!.data, expected[name]!), scale: maxAbs(expected[name]!) };
  } finally {
    await session.release();
  }
}

describe('int8 quantisation of dense layers', () => {
  let dir = '';
  before(async () => {
    await forceTrainingBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'drivesense-quantize-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('quantizeColumns: symmetric per output column, each column’s largest |w| at ±127, error ≤ scale / 2', () => {
    const rng = new SeededRandom(5);
    const k = 37;
    const n = 11;
    const w = rng.floats(k * n, () => rng.normal() * (1 + rng.uniform(0, 5)));
    for (let i = 0; i < k; i++) w[i * n + 4] = 0; // an all-zero column
    const { q, scale, maxError } = quantizeColumns(w, k, n);
    for (let j = 0; j < n; j++) {
      let maxQ = 0;
      let maxW = 0;
      for (let i = 0; i < k; i++) {
        maxQ = Math.max(maxQ, Math.abs(q[i * n + j]!));
        maxW = Math.max(maxW, Math.abs(w[i * n + j]!));
        assert.ok(
          Math.abs(w[i * n + j]! - q[i * n + j]! * scale[j]!) <= scale[j]! / 2 + 1e-6,
          `w[${i}, ${j}]`,
        );
      }
      assert.equal(maxQ, j === 4 ? 0 : 127, `column ${j}`);
      if (j !== 4) assert.ok(Math.abs(scale[j]! - maxW / 127) <= 1e-6 * maxW, `scale of column ${j}`);
    }
    assert.ok(maxError > 0 && maxError <= Math.max(...scale) / 2 + 1e-6);
    assert.throws(() => quantizeColumns(w, k, n + 1), /are not a 37 × 12 matrix/);
    w[3] = Number.NaN;
    assert.throws(() => quantizeColumns(w, k, n), /column 3 holds a non-finite weight/);
  });

  it('rewrites the large products in standard ops; ONNX Runtime runs it near TF.js, and far when the scales are wrong', async () => {
    const model = denseModel();
    try {
      const { bytes } = exportToOnnx(model);
      const before = summarizeOnnxModel(bytes);
      assert.equal(before.ops['MatMul'], 3);
      const q = quantizeOnnxMatMuls(bytes);
      assert.deepEqual(
        q.layers.map((l) => [l.k, l.n]),
        [
          [16, 256],
          [256, 64],
        ],
      );
      const after = summarizeOnnxModel(q.bytes);
      assert.equal(after.ops['MatMul'], 1, 'the 64 × 8 product (512 < 4096 weights) stays float');
      assert.equal(after.ops['MatMulInteger'], 2);
      assert.equal(after.ops['DynamicQuantizeLinear'], 2);
      assert.deepEqual(after.outputs, before.outputs);
      assert.equal(q.floatWeightBytes, (4096 + 16384) * 4);
      assert.equal(q.quantizedWeightBytes, 4096 + 16384 + (256 + 64) * 4);

      const exact = await diffToTfjs(model, bytes);
      const int8 = await diffToTfjs(model, q.bytes);
      assert.ok(exact.diff <= 1e-4, `float export ${exact.diff}`);
      assert.ok(int8.diff > exact.diff, 'the int8 model is not the float one');
      assert.ok(int8.diff <= 0.03 * int8.scale, `int8: ${int8.diff} of ${int8.scale}`);
      // Mutation: every weight scale doubled (a dequantisation bug) must show far above that bound.
      const damaged = decodeOnnxModel(q.bytes);
      for (const t of damaged.graph!.initializer!) {
        if (!(t.name ?? '').endsWith('/scale')) continue;
        const v = new DataView(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength);
        for (let i = 0; i < t.rawData!.byteLength; i += 4) v.setFloat32(i, v.getFloat32(i, true) * 2, true);
      }
      const bad = await diffToTfjs(model, encodeOnnxModel(damaged));
      assert.ok(bad.diff > 0.3 * bad.scale, `damaged scales: ${bad.diff} of ${bad.scale}`);
      // Every product quantised when allowed.
      assert.equal(quantizeOnnxMatMuls(bytes, { minElements: 1 }).layers.length, 3);
    } finally {
      model.dispose();
    }
  });

  it('fuzz: random bytes and truncated models are refused with a message, never a crash', () => {
    const model = denseModel();
    const { bytes } = exportToOnnx(model);
    model.dispose();
    const rng = new SeededRandom(17);
    let refused = 0;
    const inputs: Uint8Array[] = [new Uint8Array(0)];
    for (let i = 0; i < 200; i++)
      inputs.push(
        Uint8Array.from({ length: 1 + Math.floor(rng.uniform(0, 300)) }, () =>
          Math.floor(rng.uniform(0, 256)),
        ),
      );
    for (let i = 0; i < 50; i++) inputs.push(bytes.slice(0, Math.floor(rng.uniform(0, bytes.length))));
    for (const b of inputs) {
      try {
        quantizeOnnxMatMuls(b);
      } catch (e) {
        assert.ok(e instanceof Error && e.message.length > 0, String(e));
        refused++;
      }
    }
    assert.ok(refused >= 200, `${refused} of ${inputs.length} refused`);
    assert.throws(() => quantizeOnnxMatMuls(new Uint8Array([1, 2, 3])), /not an ONNX model/);
  });

  it('drivesense quantize: the model and a sidecar with its record and checksum; bad arguments refused', async () => {
    const model = denseModel();
    const file = join(dir, 'dense.onnx');
    try {
      await saveOnnxModel(model, file, { metadata: { purpose: 'test' } });
    } finally {
      model.dispose();
    }
    const run = (argv: string[]) => quantizeCommand.run(parseCommandArgs(quantizeCommand, argv));
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      assert.equal(await run([file, '--json']), 0);
    } finally {
      console.log = log;
    }
    const out = join(dir, 'dense.int8.onnx');
    const bytes = new Uint8Array(await readFile(out));
    const sidecar = JSON.parse(await readFile(`${out}.json`, 'utf8')) as OnnxSidecar;
    assert.equal(sidecar.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(sidecar.metadata, { purpose: 'test' });
    const record = sidecar.quantization as { layers: unknown[]; source: { file: string } };
    assert.equal(record.layers.length, 2);
    assert.equal(record.source.file, 'dense.onnx', 'relative to the output directory');
    assert.equal((JSON.parse(lines.join('\n')) as { out: string }).out, out);

    const refuses = (argv: string[], message: RegExp) =>
      assert.rejects(run(argv), (e: unknown) => e instanceof UsageError && message.test(e.message));
    await refuses([], /quantize needs IN\.onnx/);
    await refuses([file, '--out', file], /--out must differ from IN/);
    await refuses([join(dir, 'model.bin')], /IN must be a \.onnx file/);
    await refuses([file, '--min-elements', '0'], /--min-elements must be an integer ≥ 1/);
    await assert.rejects(
      run([file, '--min-elements', '100000', '--out', join(dir, 'none.onnx')]),
      /no matrix product/,
    );
    assert.ok(!existsSync(join(dir, 'none.onnx')));
  });

  it('an int8 variant whose float source beside it has changed is refused at load, naming the command', async () => {
    const sub = join(dir, 'stale');
    await mkdir(sub);
    const float = join(sub, 'm.onnx');
    await copyFile(SPEECH_FLOAT_MODEL_PATH, float);
    await copyFile(`${SPEECH_FLOAT_MODEL_PATH}.json`, `${float}.json`);
    const log = console.log;
    console.log = () => undefined;
    try {
      assert.equal(await quantizeCommand.run(parseCommandArgs(quantizeCommand, [float])), 0);
    } finally {
      console.log = log;
    }
    const int8 = join(sub, 'm.int8.onnx');
    await (await loadSpeechEnhancerModel(int8)).release();
    await appendFile(float, new Uint8Array([0])); // the float model "trained again"
    await assert.rejects(
      loadSpeechEnhancerModel(int8),
      (e: Error) =>
        /is the int8 variant of another .*m\.onnx/.test(e.message) &&
        e.message.includes('drivesense quantize'),
    );
    await rm(float);
    await (await loadSpeechEnhancerModel(int8)).release(); // no source beside it: nothing to compare
  });

  it('the committed speech model in int8: the enhanced fixture within 0.5 dB SI-SDR of the float model', async (t) => {
    const int8Path = SPEECH_INT8_MODEL_PATH;
    assert.equal(int8Path, quantizedPathFor(SPEECH_FLOAT_MODEL_PATH));
    if (!existsSync(int8Path)) {
      t.skip(`${int8Path} is not committed`);
      return;
    }
    const clean = (await readWavFile(SPEECH_FIXTURE)).samples;
    const noisy = await noisySpeechFixture();
    const score = async (path: string): Promise<number> => {
      const m = await loadSpeechEnhancerModel(path);
      try {
        return siSdr(clean, await enhanceSamples(m.createEnhancer(), noisy, 320));
      } finally {
        await m.release();
      }
    };
    const input = siSdr(clean, noisy);
    const fp32 = await score(SPEECH_FLOAT_MODEL_PATH);
    const int8 = await score(int8Path);
    t.diagnostic(
      `SI-SDR: noisy ${input.toFixed(2)} dB, float ${fp32.toFixed(2)} dB, int8 ${int8.toFixed(2)} dB`,
    );
    assert.ok(fp32 > input + 1, `float model ${fp32} vs noisy ${input}`);
    assert.ok(Math.abs(int8 - fp32) <= 0.5, `int8 ${int8} vs float ${fp32}`);
  });
});
