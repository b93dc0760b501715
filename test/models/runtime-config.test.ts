/** The runtime config fragments: defaults, validation, and that parsed values drive the runtime. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  inferenceRuntimeSchema,
  onnxSessionOptions,
  trainingBackendOptions,
  trainingBackendSchema,
} from '../../src/models/common/runtime-config.ts';

describe('model runtime config', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(inferenceRuntimeSchema.parse(undefined), {
      executionProviders: ['cpu'],
      fallbackToCpu: true,
      intraOpThreads: 1,
      interOpThreads: 1,
      graphOptimizationLevel: 'all',
      deviceId: 0,
      warmupRuns: 1,
    });
    assert.deepEqual(trainingBackendSchema.parse({}), { backend: 'auto', wasmThreads: 1 });
  });

  it('rejects unknown providers, backends, keys and bad thread counts', () => {
    assert.throws(() => inferenceRuntimeSchema.parse({ executionProviders: ['dml'] }));
    assert.throws(() => inferenceRuntimeSchema.parse({ executionProviders: [] }));
    assert.throws(() => inferenceRuntimeSchema.parse({ intraOpThreads: 0 }));
    assert.throws(() => inferenceRuntimeSchema.parse({ threads: 2 }));
    assert.throws(() => trainingBackendSchema.parse({ backend: 'webgl' }));
  });

  it('maps to session and backend-selection options', () => {
    const log = (): void => undefined;
    const session = onnxSessionOptions(
      inferenceRuntimeSchema.parse({ executionProviders: ['cuda', 'cpu'] }),
      log,
    );
    assert.deepEqual(session.executionProviders, ['cuda', 'cpu']);
    assert.equal(session.log, log);
    assert.deepEqual(
      trainingBackendOptions(trainingBackendSchema.parse({ backend: 'wasm', wasmThreads: 2 })),
      {
        prefer: 'wasm',
        wasmThreads: 2,
      },
    );
  });
});
