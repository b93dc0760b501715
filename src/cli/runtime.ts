import { asyncScheduler } from 'rxjs';
import type { Config } from '../config/schema.ts';
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
  /** Stops intake, flushes every window and sink, publishes `offline`, disconnects. */
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
}

export async function startRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const statusTopic = pipelineStatusTopic(config.pipelineId);
  const mqtt = new MqttConnection({
    ...config.mqtt,
    will: { topic: statusTopic, payload: lifecycleStatus(config, 'offline'), qos: 1, retain: true },
  });
  const sinks = options.sinks ?? sinksFromConfig(config);
  const profilePath = config.features.driving.profile;
  const canProfile = profilePath === null ? undefined : await loadCanProfile(profilePath);
  await Promise.all(sinks.map((s) => s.start()));
  await mqtt.connect();
  mqtt.publish(statusTopic, lifecycleStatus(config, 'online'), { qos: 1, retain: true });
  const vehicles = config.vehicles ?? ['+'];
  const pipeline = startPipeline(config, {
    raw$: mqtt.messages(vehicles.flatMap((v) => inputFilters(v))),
    sinks,
    publish: (topic, payload, opts) => mqtt.publish(topic, payload, opts),
    scheduler: asyncScheduler,
    sourceConnectedSinceMs: () => mqtt.connectedSinceMs(),
    ...(canProfile !== undefined ? { canProfile } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    mqtt,
    sinks,
    pipeline,
    shutdown: () =>
      (closing ??= (async () => {
        pipeline.stop();
        await pipeline.done;
        await Promise.all(sinks.map((s) => s.close()));
        mqtt.publish(statusTopic, lifecycleStatus(config, 'offline'), { qos: 1, retain: true });
        await mqtt.close();
      })()),
  };
}
