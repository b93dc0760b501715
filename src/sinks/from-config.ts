import type { Config } from '../config/schema.ts';
import { FileSink } from './file-sink.ts';
import { InfluxSink } from './influx-sink.ts';
import type { Sink } from './sink.ts';

/** The sinks a config asks for. Construction does no I/O; `start()` each before writing. */
export function sinksFromConfig(config: Config): Sink[] {
  const sinks: Sink[] = [];
  if (config.influx !== null) {
    const i = config.influx;
    sinks.push(
      new InfluxSink({
        url: i.url,
        database: i.database,
        retentionPolicy: {
          name: i.retentionPolicy.name,
          duration: i.retentionPolicy.duration,
          replication: 1,
          default: true,
        },
        batchSize: i.batchSize,
        batchIntervalMs: i.batchIntervalMs,
        maxBufferPoints: i.maxBufferPoints,
      }),
    );
  }
  if (config.files !== null) sinks.push(new FileSink({ dir: config.files.dir, format: config.files.format }));
  return sinks;
}
