/**
 * An exponential moving average of a model's weights (Polyak averaging), kept beside the weights the
 * optimiser moves: after each step, avg ← d·avg + (1 − d)·w. Validation and export use the average; the
 * optimiser keeps working on the raw weights. A short run of noisy steps then moves the validated weights by
 * a fraction of what it moves the raw ones, so the validation loss of neighbouring rounds is less a draw of
 * the last few batches.
 *
 * The decay ramps up as min(d, (1 + n) / (10 + n)) after n updates, so the first steps (far from any useful
 * weights) do not linger in the average for thousands of steps (the convention of TensorFlow's
 * ExponentialMovingAverage with num_updates).
 *
 * Every weight of the model is averaged, in `model.weights` order, including the non-trainable batch-norm
 * moving statistics: those are themselves slow averages, and averaging them again keeps them matched to the
 * averaged trainable weights as closely as the raw ones are to the raw weights.
 */
import * as tf from '@tensorflow/tfjs';

/** The decay used for update number `updates` (0-based) under the warm-up ramp. */
export function averageDecay(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

/** Checks a decay for an average of weights: 0 < d < 1. */
export function checkAverageDecay(decay: number): number {
  if (!(decay > 0 && decay < 1)) throw new RangeError(`weight average: decay ${decay} must be in (0, 1)`);
  return decay;
}

export class WeightAverage {
  private readonly shadow: tf.Variable[];

  private constructor(
    private readonly model: tf.LayersModel,
    readonly decay: number,
  ) {
    this.shadow = model.getWeights().map((w) => {
      const copy = w.clone();
      const v = tf.variable(copy, false); // holds its own reference to the copy's data
      copy.dispose();
      return v;
    });
  }

  /** An average that starts at the model's current weights. */
  static of(model: tf.LayersModel, decay: number): WeightAverage {
    return new WeightAverage(model, checkAverageDecay(decay));
  }

  /**
   * Folds the model's current weights into the average; `updates` is the number of earlier updates.
   * Weights that are not float32 (none in the models here) keep their first value.
   */
  update(updates: number): void {
    const d = averageDecay(this.decay, updates);
    const current = this.model.getWeights();
    tf.tidy(() => {
      this.shadow.forEach((s, i) => {
        const w = current[i];
        if (w === undefined || w.dtype !== 'float32') return;
        s.assign(s.mul(d).add(w.mul(1 - d)));
      });
    });
  }

  /** The averaged weights (the variables themselves, `model.weights` order; do not dispose). */
  tensors(): readonly tf.Tensor[] {
    return this.shadow;
  }

  /** Replaces the average (e.g. from a checkpoint); shapes and dtypes must match the model's weights. */
  set(tensors: readonly tf.Tensor[]): void {
    if (tensors.length !== this.shadow.length)
      throw new Error(`weight average: ${tensors.length} tensors for ${this.shadow.length} weights`);
    tensors.forEach((t, i) => {
      const s = this.shadow[i]!;
      if (!tf.util.arraysEqual(t.shape, s.shape) || t.dtype !== s.dtype)
        throw new Error(
          `weight average: tensor ${i} is ${t.dtype} [${t.shape}], the model's ${s.dtype} [${s.shape}]`,
        );
      s.assign(t);
    });
  }

  /**
   * Runs `fn` with the averaged weights in the model and puts the raw weights back afterwards, also when
   * `fn` throws.
   */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    const raw = this.model.getWeights().map((w) => w.clone());
    try {
      this.model.setWeights(this.shadow);
      return await fn();
    } finally {
      this.model.setWeights(raw);
      tf.dispose(raw);
    }
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
