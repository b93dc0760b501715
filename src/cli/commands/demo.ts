import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { numberOpt, stringOpt } from '../command.ts';
import { parseConfig } from '../../config/schema.ts';
import { startEmbeddedBroker } from '../../streams/embedded-broker.ts';
import { startRuntime } from '../runtime.ts';
import { formatTotals } from '../report.ts';
import { AudioTimeline, writeTimelineWav } from '../../sinks/audio-recorder.ts';
import { decodeAudio } from '../../streams/contracts/audio.ts';
import { topicFor } from '../../streams/contracts/topics.ts';
import { buildSchedule, playSchedule } from '../../../devices/drive-player.ts';
import { loadDriveTracks, loopDrive } from '../../../devices/drive-tracks.ts';

const SAMPLE_DRIVE = fileURLToPath(new URL('../../../devices/sample-drive', import.meta.url));
const RAV4_PROFILE = fileURLToPath(
  new URL('../../../devices/profiles/toyota-rav4-2018.json', import.meta.url),
);

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Play the bundled real drive through the pipeline on an embedded broker, write ./out',
  help: `Usage: drivesense demo [--out DIR] [--speed X] [--loops N] [--drive DIR] [--format lp|jsonl]

Starts an embedded MQTT broker (aedes, in-process), plays the sample drive in devices/sample-drive
(60 s of real recordings: drivedb ECG/EDA/respiration, a Toyota RAV4 CAN log, weather, cabin audio, a
talking face) through the pipeline, and writes window summaries and alerts to files under DIR. To show the
fault handling, the ECG falls silent for 10 s mid-drive (a sensor_fault alert is raised and cleared) and
every 40th CAN batch is corrupted (counted as invalid). The drive is played --loops times back to back so
the stress model (calibrated on the first minute here, instead of 5 minutes) has time to estimate: one
stress estimate per second on …/stress and in the output. Prints a summary and exits 0.

Options:
  --out DIR        Output directory (default ./out)
  --format F       lp (InfluxDB line protocol, default) or jsonl
  --speed X        Playback speed, × real time (default 20; 0 = as fast as possible)
  --loops N        Times the drive is played back to back (default 4)
  --drive DIR      Another drive directory with the same layout
  -h, --help       This help`,
  options: {
    out: { type: 'string' },
    speed: { type: 'string' },
    drive: { type: 'string' },
    format: { type: 'string' },
    loops: { type: 'string' },
  },
  async run(args) {
    const out = resolve(stringOpt(args, 'out') ?? './out');
    const speed = numberOpt(args, 'speed', 20);
    const driveDir = stringOpt(args, 'drive') ?? SAMPLE_DRIVE;
    const format = stringOpt(args, 'format') ?? 'lp';
    const vehicleId = 'demo-car';

    const loops = numberOpt(args, 'loops', 4);
    const drive = loopDrive(await loadDriveTracks(driveDir), loops);
    // The file sink appends (safe for `run`); the demo starts its own output afresh each time.
    await rm(join(out, `drivesense.${format === 'jsonl' ? 'jsonl' : 'lp'}`), { force: true });
    await rm(join(out, 'enhanced-audio.wav'), { force: true });
    const broker = await startEmbeddedBroker();
    console.error(`embedded MQTT broker (aedes) on ${broker.url}`);
    const config = parseConfig(
      {
        pipelineId: 'demo',
        mqtt: { url: broker.url, protocol: 4, clientIdPrefix: 'drivesense-demo' },
        files: { dir: out, format },
        features: {
          driving: { profile: RAV4_PROFILE },
          stress: { calibrationS: 60 },
          // Played faster than real time, the speech model lags the audio: let it catch up after the drive
          // rather than pass audio through (a car at 1× needs the 1 s default).
          speech: { maxPendingMs: 600_000 },
        },
      },
      'demo config',
    );
    const rt = await startRuntime(config);
    // The demo's own clients (player, listener): closed in `finally` too, so an error does not leave them open.
    const clients: { close(): Promise<void> }[] = [];
    try {
      await rt.ready();
      const t0 = drive.startUs;
      const { messages, report } = buildSchedule(drive.tracks, {
        vehicleId,
        silence: [{ stream: 'ecg', fromUs: t0 + 20_000_000, toUs: t0 + 30_000_000 }],
        corruptEvery: { can: 40 },
      });
      const { MqttConnection } = await import('../../streams/mqtt-connection.ts');
      const player = new MqttConnection({ ...config.mqtt, clientIdPrefix: 'drive-player' });
      clients.push(player);
      await player.connect();
      // The enhanced cabin speech (when a speech model is served) goes to a WAV beside the points.
      const enhanced = new AudioTimeline();
      const listener =
        rt.speechModel === undefined
          ? undefined
          : new MqttConnection({ ...config.mqtt, clientIdPrefix: 'demo-listener' });
      if (listener !== undefined) {
        clients.push(listener);
        await listener.connect();
        listener
          .messages([{ filter: topicFor(vehicleId, 'audio/enhanced'), qos: 0 }])
          .subscribe((m) => enhanced.add(decodeAudio(m.payload)));
        await listener.subscribed();
      }
      console.error(
        `playing ${messages.length} messages (${((drive.endUs - t0) / 1e6).toFixed(0)} s of drive) at ${speed === 0 ? 'full speed' : `${speed}×`}`,
      );
      await playSchedule(
        messages,
        (m) => {
          player.publish(m.topic, m.payload, { qos: m.stream === 'audio' || m.stream === 'camera' ? 0 : 1 });
        },
        {
          speed,
          onProgress: (doneUs, totalUs) =>
            process.stderr.write(`  drive ${(doneUs / 1e6).toFixed(0)}/${(totalUs / 1e6).toFixed(0)} s\n`),
        },
      );
      await player.close();
      // Let the pipeline take in what is still in flight before closing the windows: as long as it makes
      // progress (a busy pipeline, e.g. enhancing speech, lags a 20× playback), then 5 s at most.
      let seen = rt.mqtt.stats().received;
      let progressAt = Date.now();
      while (seen < messages.length && Date.now() - progressAt < 5000) {
        await new Promise((r) => setTimeout(r, 50));
        const now = rt.mqtt.stats().received;
        if (now > seen) [seen, progressAt] = [now, Date.now()];
      }
      await rt.shutdown(); // flushes the enhancer: its last chunks are published first
      const stats = rt.pipeline.stats();
      let enhancedFile: string | undefined;
      if (listener !== undefined) {
        const want = stats.speech?.samplesOut ?? 0;
        const until = Date.now() + 2000;
        while (enhanced.stats().samples < want && Date.now() < until)
          await new Promise((r) => setTimeout(r, 50));
        await listener.close();
        const file = join(out, 'enhanced-audio.wav');
        if (await writeTimelineWav(file, enhanced)) enhancedFile = file;
      }
      console.log(
        `\ndrivesense demo: ${messages.length} messages published (injected faults: ${report.corrupted.can} CAN batches corrupted (counted as invalid, their sequence numbers as gaps), ECG silent for ${report.silenced.ecg} chunks (10 s))`,
      );
      console.log(formatTotals(stats, rt.sinks));
      console.log('\nalerts:');
      for (const a of rt.pipeline.alertLog) {
        console.log(
          `  +${((a.tUs - t0) / 1e6).toFixed(1).padStart(5)} s  ${a.kind} ${a.state.padEnd(7)} ${a.kind === 'sensor_fault' ? a.stream : 'stress'}: ${a.message}`,
        );
      }
      console.log(`\noutput: ${out}`);
      if (enhancedFile !== undefined)
        console.log(
          `enhanced cabin speech: ${enhancedFile} (${enhanced.durationS.toFixed(1)} s; the noisy input: ${join(driveDir, 'audio.wav')}, played ${loops}×)`,
        );
      else if (rt.speechModel === undefined)
        console.log('enhanced cabin speech: off (no speech model; see docs/models/speech.md)');
      return 0;
    } finally {
      await Promise.allSettled(clients.map((c) => c.close()));
      await rt.shutdown();
      await broker.close();
    }
  },
};
