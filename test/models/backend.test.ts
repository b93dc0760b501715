/** Training-backend selection: tensorflow (tfjs-node) when importable, else wasm, else cpu; forcing one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  TFJS_NODE_PACKAGES,
  forceTrainingBackend,
  selectTrainingBackend,
  wasmBinaryDirectory,
} from '../../src/models/common/backend.ts';
import { wasmTrainingKernelsInstalled } from '../../src/models/common/wasm-kernels.ts';

const notInstalled = (specifier: string): Promise<unknown> => {
  const err = new Error(`Cannot find package '${specifier}'`) as Error & { code: string };
  err.code = 'ERR_MODULE_NOT_FOUND';
  return Promise.reject(err);
};

describe('training backend selection', () => {
  it('finds the wasm binaries inside node_modules (nothing fetched at run time)', () => {
    const dir = wasmBinaryDirectory();
    assert.ok(dir.includes(`node_modules${path.sep}@tensorflow${path.sep}tfjs-backend-wasm`), dir);
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) assert.ok(existsSync(dir + f));
  });

  it('without tfjs-node picks wasm, says why, and installs the training kernels', async () => {
    const messages: string[] = [];
    const s = await selectTrainingBackend({ importModule: notInstalled, log: (m) => messages.push(m) });
    assert.equal(s.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      s.skipped.map((k) => k.backend),
      ['tensorflow'],
    );
    for (const pkg of TFJS_NODE_PACKAGES)
      assert.match(s.skipped[0]?.reason ?? '', new RegExp(`${pkg} not installed`));
    assert.match(
      s.reason,
      /^wasm backend \(tfjs-backend-wasm-simd\.wasm, 1 XNNPACK thread\(s\) of 1 requested\) because/,
    );
    assert.deepEqual(s.wasm && { threads: s.wasm.threads, simd: s.wasm.simd }, { threads: 1, simd: true });
    assert.ok(wasmTrainingKernelsInstalled());
    assert.deepEqual(messages, [s.reason]);
  });

  it('a tfjs-node package that loads but registers no backend is skipped with the reason', async () => {
    const s = await selectTrainingBackend({ importModule: () => Promise.resolve({}) });
    assert.equal(s.backend, 'wasm');
    assert.match(s.skipped[0]?.reason ?? '', /loaded but did not register a 'tensorflow' backend/);
  });

  it("uses the 'tensorflow' backend when a tfjs-node package registers it", async () => {
    // Simulate @tensorflow/tfjs-node: importing it registers a backend named 'tensorflow'.
    const cpu = tf.findBackend('cpu') ?? (await forceTrainingBackend('cpu'), tf.findBackend('cpu'));
    const Ctor = (cpu as object).constructor as new () => tf.KernelBackend;
    const fakeTfjsNode = (specifier: string): Promise<unknown> => {
      if (specifier !== '@tensorflow/tfjs-node') return notInstalled(specifier);
      tf.registerBackend('tensorflow', () => new Ctor(), 0);
      return Promise.resolve({});
    };
    try {
      const s = await selectTrainingBackend({ importModule: fakeTfjsNode });
      assert.equal(s.backend, 'tensorflow');
      assert.equal(s.package, '@tensorflow/tfjs-node');
      assert.equal(tf.getBackend(), 'tensorflow');
      assert.match(
        s.reason,
        /^tensorflow backend: @tensorflow\/tfjs-node \(libtensorflow\) is installed \(@tensorflow\/tfjs-node-gpu not installed\)$/,
      );
    } finally {
      tf.removeBackend('tensorflow');
      await forceTrainingBackend('wasm');
    }
  });

  it('forces cpu or wasm, and refuses a backend that cannot run here', async () => {
    const cpu = await forceTrainingBackend('cpu');
    assert.equal(cpu.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(cpu.reason, /forced/);
    const wasm = await forceTrainingBackend('wasm', { wasmThreads: 2 });
    assert.equal(wasm.backend, 'wasm');
    // Threads are fixed at the first initialisation (1 here); Node runs the single-thread build anyway.
    assert.equal(wasm.wasm?.threads, 1);
    await assert.rejects(
      forceTrainingBackend('tensorflow', { importModule: notInstalled }),
      /no TF\.js backend available: tensorflow: @tensorflow\/tfjs-node-gpu not installed/,
    );
    await assert.rejects(selectTrainingBackend({ wasmThreads: 0 }), /wasmThreads must be ≥ 1/);
  });
});
