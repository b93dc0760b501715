import { existsSync } from 'node:fs';
import { asyncScheduler } from 'rxjs';
import type { Config } from '../config/schema.ts';
import { ConfigError, resolveSpeechModelPath, resolveStressModelPath } from '../config/schema.ts';
import type { SpeechEnhancerModel } from '../models/speech/enhancer-onnx.ts';
import type { StressEstimator } from '../models/stress/estimator.ts';
import { servingWindows } from '../streams/stress-operator.ts';
import type { PipelineHandle } from '../pipeline.ts';
import { startPipeline } from '../pipeline.ts';
import { encodeJson, statusSchema } from '../streams/contracts/outputs.ts';
import { inputFilters, TOPIC_ROOT } from '../streams/contracts/topics.ts';
import { MqttConnection } from '../streams/mqtt-connection.ts';
import { sinksFromConfig } from '../sinks/from-config.ts';
import { loadCanProfile } from '../streams/features/can/load.ts';
import type { Sink } from '../sinks/sink.ts';

/**
 * Assembles the live edges around the pipeline: the MQTT connection (source and publisher, with a
 * retained last will on the pipeline's own status topic), the configured sinks, and the wall-clock
 * scheduler. Shared by `run` and `demo`. Lifecycle: `startRuntime` → (runs) → `shutdown()`.
 */
export interface Runtime {
  readonly mqtt: MqttConnection;
  readonly sinks: readonly Sink[];
  readonly pipeline: PipelineHandle;
  /** The stress model served (config.features.stress), if any. */
  readonly stressModel: StressEstimator | undefined;
  /** The speech enhancement model served (config.features.speech), if any. */
  readonly speechModel: SpeechEnhancerModel | undefined;
  /**
   * Resolves when the broker has acknowledged the pipeline's input subscriptions: from then on every
   * message published on an input topic reaches the pipeline (before, the broker may not route it yet).
   */
  ready(): Promise<void>;
  /** Stops intake, flushes every window, estimate, enhancer and sink, publishes `offline`, disconnects, releases the models. */
  shutdown(): Promise<void>;
}

export function pipelineStatusTopic(pipelineId: string): string {
  return `${TOPIC_ROOT}/_pipeline/${pipelineId}/status`;
}

function lifecycleStatus(config: Config, state: 'online' | 'offline'): Buffer {
  return encodeJson(statusSchema, {
    v: 1,
    state,
    pipelineId: config.pipelineId,
    vehicleId: '_pipeline',
    reportedAtMs: Date.now(),
  });
}

export interface RuntimeOptions {
  /** Sinks to use instead of the configured ones (benchmarks wrap them with probes). */
  readonly sinks?: readonly Sink[];
  /** Start-up notes and warnings (default: stderr). */
  readonly log?: (message: string) => void;
}

/**
 * Loads the stress model of `features.stress` once, or returns undefined when it is off. A missing file is a
 * ConfigError when the path was given; at the default path (the model is committed there once trained) it
 * is a warning, and the pipeline runs without stress estimates.
 */
export async function loadStressModel(
  config: Config,
  log: (message: string) => void,
): Promise<StressEstimator | undefined> {
  const s = config.features.stress;
  if (s.model === null) return undefined;
  const { path, isDefault } = resolveStressModelPath(s.model);
  if (!existsSync(path)) {
    if (!isDefault) throw new ConfigError(`features.stress.model: ${path} does not exist`);
    log(
      `warning: no stress model at ${path} (the default path; not committed yet?): running without stress estimates (set features.stress.model to a file, or to null to silence this)`,
    );
    return undefined;
  }
  // ONNX Runtime is loaded only when a model is served.
  const { StressEstimator } = await import('../models/stress/estimator.ts');
  const model = await StressEstimator.load(path, { executionProviders: s.executionProviders, log });
  const w = model.meta.windows;
  const served = servingWindows(w, s.calibrationS);
  if (s.calibrationS !== null && served.calibrationS !== s.calibrationS)
    log(
      `warning: features.stress.calibrationS ${s.calibrationS} s is shorter than the model's window (${w.windowS} s); calibrating for ${served.calibrationS} s`,
    );
  log(
    `stress model ${model.meta.id} (${path}): windows ${w.windowS} s every ${w.strideS} s × ${w.sequenceLength}, calibration ${served.calibrationS} s, an estimate every ${s.everyMs} ms`,
  );
  return model;
}

/**
 * Loads the speech model of `features.speech` once, or returns undefined when it is off; missing files are
 * handled as for the stress model (a warning at the default path, a ConfigError elsewhere).
 */
export async function loadSpeechModel(
  config: Config,
  log: (message: string) => void,
): Promise<SpeechEnhancerModel | undefined> {
  const s = config.features.speech;
  if (s.model === null) return undefined;
  const { path, isDefault } = resolveSpeechModelPath(s.model);
  if (!existsSync(path)) {
    if (!isDefault) throw new ConfigError(`features.speech.model: ${path} does not exist`);
    log(
      `warning: no speech model at ${path} (the default path; not committed yet?): running without speech enhancement (set features.speech.model to a file, or to null to silence this)`,
    );
    return undefined;
  }
  // ONNX Runtime is loaded only when a model is served.
  const { describeCameraAbsent, loadSpeechEnhancerModel } = await import('../models/speech/enhancer-onnx.ts');
  const model = await loadSpeechEnhancerModel(path, { executionProviders: s.executionProviders, log });
  const m = model.meta.model;
  const st = model.meta.stft;
  log(
    `speech model ${path}${model.members.length > 1 ? ` (ensemble of ${model.members.length}: ${model.members.join(', ')})` : ''}: ${m.context}, ${st.windowLength}/${st.hop} STFT at ${st.sampleRateHz} Hz on ${model.session.provider}; ` +
      `camera ${s.useCamera ? 'on (fixed mouth region)' : 'off'}, backlog at most ${s.maxPendingMs} ms; ` +
      describeCameraAbsent(model.cameraAbsent),
  );
  return model;
}

export async function startRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const statusTopic = pipelineStatusTopic(config.pipelineId);
  const mqtt = new MqttConnection({
    ...config.mqtt,
    will: { topic: statusTopic, payload: lifecycleStatus(config, 'offline'), qos: 1, retain: true },
  });
  const log = options.log ?? ((m: string) => console.error(m));
  const sinks = options.sinks ?? sinksFromConfig(config);
  const profilePath = config.features.driving.profile;
  const canProfile = profilePath === null ? undefined : await loadCanProfile(profilePath);
  const stressModel = await loadStressModel(config, log);
  let speechModel: SpeechEnhancerModel | undefined;
  try {
    speechModel = await loadSpeechModel(config, log);
    await Promise.all(sinks.map((s) => s.start()));
    await mqtt.connect();
  } catch (e) {
    await Promise.all([stressModel?.release(), speechModel?.release()]);
    throw e;
  }
  mqtt.publish(statusTopic, lifecycleStatus(config, 'online'), { qos: 1, retain: true });
  const vehicles = config.vehicles ?? ['+'];
  const pipeline = startPipeline(config, {
    raw$: mqtt.messages(vehicles.flatMap((v) => inputFilters(v))),
    sinks,
    publish: (topic, payload, opts) => mqtt.publish(topic, payload, opts),
    scheduler: asyncScheduler,
    sourceConnectedSinceMs: () => mqtt.connectedSinceMs(),
    ...(canProfile !== undefined ? { canProfile } : {}),
    ...(stressModel !== undefined ? { stressModel } : {}),
    ...(speechModel !== undefined ? { speechModel } : {}),
    log,
  });
  let closing: Promise<void> | undefined;
  return {
    mqtt,
    sinks,
    pipeline,
    stressModel,
    speechModel,
    ready: () => mqtt.subscribed(),
    shutdown: () =>
      (closing ??= (async () => {
        pipeline.stop();
        try {
          await pipeline.done;
          await Promise.all(sinks.map((s) => s.close()));
          mqtt.publish(statusTopic, lifecycleStatus(config, 'offline'), { qos: 1, retain: true });
          await mqtt.close();
        } finally {
          await Promise.all([stressModel?.release(), speechModel?.release()]);
        }
      })()),
  };
}
