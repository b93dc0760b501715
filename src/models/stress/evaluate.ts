/**
 * Scores a stress model on labelled drives through the live path: each record is replayed as sensor
 * messages (replay.ts) into the same StressMessageSource / StressInputBuilder the pipeline uses, an
 * estimate is made every `everyS` (live: 1 s) by the ONNX estimator, and every estimate whose newest window
 * lies after the calibration and is covered ≥ 80 % by one labelled segment is scored against it.
 */
import type { PhysioChannelKind } from '../../streams/contracts/messages.ts';
import type { CanProfileResources } from '../../streams/features/driving-extractor.ts';
import { emptyConfusion, scoreConfusion } from './baseline.ts';
import type { Scores } from './baseline.ts';
import type { ReplayedEstimate } from './dataset.ts';
import { replayEstimates } from './dataset.ts';
import type { StressEstimator, StressResult } from './estimator.ts';
import type { StressSource } from './inputs.ts';
import type { StressLevel, StressRecord, UniformSeries } from './records.ts';
import { STRESS_LEVELS } from './records.ts';
import type { StressEvalRecordResult } from './report-html.ts';
import type { SensorMessage } from '../../streams/contracts/messages.ts';

export interface EvaluateOptions {
  readonly everyS?: number;
  readonly disabled?: readonly StressSource[];
  readonly transform?: (kind: PhysioChannelKind, s: UniformSeries) => UniformSeries;
  readonly canProfile?: CanProfileResources;
  readonly extra?: (fromS: number, toS: number) => readonly SensorMessage[];
  /** Called with each estimate (after scoring), e.g. for the failure study. */
  readonly onEstimate?: (record: string, tS: number, r: StressResult, label: number | null) => void;
  readonly batch?: number;
}

export interface RecordEvaluation extends StressEvalRecordResult {
  readonly scores: Scores;
  readonly calibrationEndS: number;
  /** Share of estimates that used each source. */
  readonly sourceUse: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly faults: Readonly<Record<string, number>>;
}

export interface Evaluation {
  readonly records: RecordEvaluation[];
  readonly overall: Scores;
  readonly meanRecordMacroF1: number;
}

export async function evaluateRecords(
  records: readonly StressRecord[],
  estimator: StressEstimator,
  o: EvaluateOptions = {},
): Promise<Evaluation> {
  const everyS = o.everyS ?? 1;
  const pooled = emptyConfusion();
  const out: RecordEvaluation[] = [];
  for (const rec of records) {
    const confusion = emptyConfusion();
    const timeline: StressEvalRecordResult['timeline'][number][] = [];
    const use: Record<string, Record<string, number>> = {};
    const faults: Record<string, number> = {};
    const batch = o.batch ?? 256;
    const disabled = new Set([...(o.disabled ?? []), ...estimator.meta.disabled]);
    const calibrationEndS = (rec.segments[0]?.startS ?? 0) + estimator.meta.windows.calibrationS;
    const score = async (part: readonly ReplayedEstimate[]): Promise<void> => {
      const results = await estimator.estimateBatch(part.map((p) => p.input));
      results.forEach((r, i) => {
        const e = part[i]!;
        const pred = STRESS_LEVELS.indexOf(r.level);
        if (e.label !== null) {
          confusion[e.label]![pred]!++;
          pooled[e.label]![pred]!++;
        }
        for (const [s, u] of Object.entries(r.sources)) {
          use[s] ??= {};
          use[s][u] = (use[s][u] ?? 0) + 1;
        }
        for (const f of r.faults)
          faults[`${f.source}:${f.reason}`] = (faults[`${f.source}:${f.reason}`] ?? 0) + 1;
        timeline.push({
          tS: e.tS,
          label: e.label === null ? null : (STRESS_LEVELS[e.label] as StressLevel),
          predicted: r.level,
          probabilities: r.probabilities,
          confidence: r.confidence,
        });
        o.onEstimate?.(rec.name, e.tS, r, e.label);
      });
    };
    // Scored in batches as the replay produces them: memory stays bounded whatever the drive's length.
    let pending: ReplayedEstimate[] = [];
    const replay = replayEstimates(rec, {
      windows: estimator.meta.windows,
      everyS,
      disabled,
      ...(o.transform ? { transform: o.transform } : {}),
      ...(o.canProfile ? { canProfile: o.canProfile } : {}),
      ...(o.extra ? { extra: o.extra } : {}),
    });
    for (const e of replay) {
      pending.push(e);
      if (pending.length >= batch) {
        await score(pending);
        pending = [];
      }
    }
    await score(pending);
    const scores = scoreConfusion(confusion);
    const n = timeline.length;
    out.push({
      record: rec.name,
      estimates: scores.n,
      accuracy: scores.accuracy,
      macroF1: scores.macroF1,
      confusion,
      timeline,
      segments: rec.segments.map((s) => ({ name: s.name, level: s.level, startS: s.startS, endS: s.endS })),
      scores,
      calibrationEndS,
      sourceUse: Object.fromEntries(
        Object.entries(use).map(([s, u]) => [
          s,
          Object.fromEntries(Object.entries(u).map(([k, v]) => [k, v / n])),
        ]),
      ),
      faults,
    });
  }
  const overall = scoreConfusion(pooled);
  const meanRecordMacroF1 = out.reduce((a, r) => a + r.macroF1, 0) / Math.max(1, out.length);
  return { records: out, overall, meanRecordMacroF1 };
}
