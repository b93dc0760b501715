import type { PipelineStats } from '../pipeline.ts';
import type { Sink } from '../sinks/sink.ts';

/** The end-of-run summary table printed by `run` and `demo`. */
export function formatTotals(stats: PipelineStats, sinks: readonly Sink[]): string {
  const rows = Object.entries(stats.status.totals()).map(
    ([stream, c]) =>
      `  ${stream.padEnd(8)} ${String(c.messages).padStart(8)} ${String(c.invalid).padStart(8)} ${String(c.gaps).padStart(6)} ${String(c.missing).padStart(8)} ${String(c.duplicates).padStart(6)} ${String(c.outOfOrder).padStart(6)} ${String(c.dropped).padStart(8)}`,
  );
  return [
    '  stream   messages  invalid   gaps  missing   dups    ooo  dropped',
    ...rows,
    `  windows ${stats.windows}, alerts ${stats.alerts}, unroutable ${stats.unroutable}, refused (over maxVehicles) ${stats.refusedVehicleMessages}`,
    `  points ${stats.points}: ${Object.entries(stats.pointsByMeasurement)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')}`,
    ...(stats.stress
      ? [
          `  stress: ${stats.stress.estimates} estimates, ${stats.stress.calibrating} ticks calibrating, ${stats.stress.noInput} without input, ${stats.stress.dropped} dropped, ${stats.stress.errors} errors`,
        ]
      : []),
    ...(stats.speech
      ? [
          `  speech: ${stats.speech.chunksIn} audio chunks in, ${stats.speech.chunksOut} enhanced out (${(stats.speech.samplesOut / 16_000).toFixed(1)} s), ${stats.speech.passthrough} passed through unenhanced (model backlog), ${stats.speech.dropped} dropped, camera frames used ${stats.speech.cameraUsed} of ${stats.speech.cameraFrames}, model errors ${stats.speech.modelErrors}`,
        ]
      : []),
    ...sinks.map((s) => {
      const k = s.stats();
      return `  sink ${s.name}: written ${k.written}, dropped ${k.dropped}, buffered ${k.buffered}, failed writes ${k.failedWrites}`;
    }),
  ].join('\n');
}
