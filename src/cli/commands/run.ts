import type { Command } from '../command.ts';
import { stringOpt, UsageError } from '../command.ts';
import { loadConfig } from '../../config/schema.ts';
import { startRuntime } from '../runtime.ts';
import { formatTotals } from '../report.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run the pipeline against the configured MQTT broker and InfluxDB',
  help: `Usage: drivesense run --config FILE [--progress-s N]

Runs the live pipeline: subscribes to drivesense/v1/+/{ecg,can,weather,audio,camera}, writes window
summaries and alerts to the configured sinks, publishes alerts and status. Stops cleanly on SIGINT/SIGTERM
(windows and sinks are flushed first).

Options:
  --config FILE     JSON config (see docs/config.md; \`drivesense config --defaults\` prints every default)
  --progress-s N    Seconds between progress lines on stderr (default 10; 0: none)
  -h, --help        This help`,
  options: { config: { type: 'string', short: 'c' }, 'progress-s': { type: 'string' } },
  async run(args) {
    const path = stringOpt(args, 'config');
    if (path === undefined) throw new UsageError('--config FILE is required');
    const config = await loadConfig(path);
    const rt = await startRuntime(config);
    const started = Date.now();
    console.error(
      `drivesense: connected to ${config.mqtt.url} (MQTT ${rt.mqtt.stats().protocolVersion === 5 ? '5' : '3.1.1'}), sinks: ${rt.sinks.map((s) => s.name).join(', ') || 'none'}`,
    );
    const progressS = Number(stringOpt(args, 'progress-s') ?? '10');
    const timer =
      progressS > 0
        ? setInterval(() => {
            const s = rt.pipeline.stats();
            const sinks = rt.sinks.map((k) => `${k.name} ${JSON.stringify(k.stats())}`).join('; ');
            console.error(
              `[${Math.round((Date.now() - started) / 1000)} s] windows ${s.windows}, points ${s.points}, alerts ${s.alerts}; ${sinks}`,
            );
          }, progressS * 1000)
        : undefined;
    await new Promise<void>((resolve) => {
      const onSignal = () => resolve();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      rt.pipeline.done.then(resolve, resolve);
    });
    if (timer) clearInterval(timer);
    await rt.shutdown();
    console.log(formatTotals(rt.pipeline.stats(), rt.sinks));
    return 0;
  },
};
