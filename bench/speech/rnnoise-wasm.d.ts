/**
 * Types for `@echogarden/rnnoise-wasm` (ships none): the Emscripten module factory and the RNNoise C API it
 * exports (`rnnoise.h`): pointers are byte offsets into the module's heap.
 */
declare module '@echogarden/rnnoise-wasm' {
  export interface RnnoiseModule {
    /** `DenoiseState *rnnoise_create(RNNModel *model)`: 0 for the built-in model. */
    _rnnoise_create(model: number): number;
    _rnnoise_destroy(state: number): void;
    /** Samples per frame (480 at 48 kHz). */
    _rnnoise_get_frame_size(): number;
    /** `float rnnoise_process_frame(DenoiseState *st, float *out, const float *in)`: returns the VAD probability. */
    _rnnoise_process_frame(state: number, out: number, input: number): number;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    /** View of the heap; replaced when the heap grows, so read it after any allocation. */
    HEAPF32: Float32Array;
  }
  const factory: (options?: Record<string, unknown>) => Promise<RnnoiseModule>;
  export default factory;
}
