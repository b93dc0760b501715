/**
 * Kernels registered for the TensorFlow.js wasm backend (4.22) so training runs on it, correctly and fast.
 *
 * 1. Gradient kernels wasm lacks, composed from kernels it has. Found by running the gradients of conv1d,
 *    conv2d, fused conv2d, depthwise conv, maxPool, avgPool, batchNorm, gather and the LSTM/GRU layers:
 *    - `Conv2DBackpropFilter`: the filter gradient of conv2d, of the fused conv2d the layers use, and of
 *      conv1d (TF.js runs conv1d as conv2d over [batch, 1, width, channels] with a [1, k, in, out] filter).
 *    - `DepthwiseConv2dNativeBackpropFilter`, `DepthwiseConv2dNativeBackpropInput` (depthwise/separable).
 *    - `UnsortedSegmentSum`: the gradient of `gather` (embeddings, `tf.gather` in losses).
 *    Present on wasm and checked against cpu: Conv2DBackpropInput, AvgPoolGrad, EluGrad, and everything the
 *    batch-norm, LSTM, GRU, dropout, softmax and cross-entropy gradients are built of.
 *
 * 2. A replacement for wasm's MaxPoolGrad, which is wrong in 4.22 (see WASM_REPLACED_KERNELS): a
 *    JavaScript loop over the wasm heap with the cpu backend's first-maximum rule.
 *
 * 3. Faster paths for two kernels wasm has, kept as fallbacks:
 *    - Conv2DBackpropInput (the input gradient of every convolution but the first) is a plain loop, 4–7×
 *      slower than wasm's XNNPACK forward convolution here; it now runs as one (conv2dBackpropInputNHWC).
 *    - BatchMatMul and _FusedMatMul accept transposeA/transposeB but run them outside XNNPACK's fast path:
 *      measured here, 256×512·512×512 costs ~5 ms plain, ~65 ms with transposeB, ~120 ms with transposeA.
 *      Every matMul gradient (Dense, LSTM) asks for a transposed operand. The wrappers transpose the
 *      operand with wasm's Transpose kernel (O(n²)) and call the original untransposed.
 *
 * How the gradient kernels work (all tensors NHWC unless stated; filters [filterHeight, filterWidth, in, out]):
 *
 * - The conv2d filter gradient is computed as a convolution (XNNPACK) of the padded input with the output
 *   gradient, batch as the contracted channel axis, stride as dilation (see conv2dBackpropFilterNHWC).
 * - The depthwise filter gradient uses im2col: the padded input is cut into one strided slice per filter tap
 *   (`x[:, i*dh : i*dh + (outH-1)*sh + 1 : sh, j*dw : ... : sw, :]`, each [batch, outH, outW, C]), stacked
 *   tap-major, and multiplied with dy per channel (a batched product over channels). Taps are processed in
 *   groups so the patch matrix stays under {@link MAX_PATCH_ELEMENTS}; each group yields whole rows of dW,
 *   so the groups are concatenated, not summed.
 * - The depthwise input gradient runs the existing Conv2DBackpropInput with the depthwise filter expanded to
 *   an equivalent block-diagonal full filter [fh, fw, in, in*multiplier].
 * - UnsortedSegmentSum is oneHot(segmentIds)ᵀ · x (segments with an id outside [0, numSegments) are
 *   dropped, as in TensorFlow).
 *
 * Engine contract (why the wrapping below is safe): a kernel receives TensorInfos, not Tensors. To use ops
 * inside a kernel the inputs are wrapped as Tensors with one extra backend reference each, so disposing the
 * wrappers (at the end of the tidy) cannot free the caller's buffers. Ops run inside a kernel are never
 * recorded on the gradient tape (the engine only records at kernel depth 0). The result buffer gets one extra
 * reference before its wrapper is disposed, and that reference is handed to the engine with the returned
 * TensorInfo — the same pattern the wasm backend's own Reshape/Identity kernels use.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** Upper bound (float32 elements, 64 MiB) of one im2col patch matrix; more taps are split into groups. */
export const MAX_PATCH_ELEMENTS = 16 * 1024 * 1024;

/** The part of the wasm backend (BackendWasm) this module needs: reference counting of data buffers. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

type Pair = [number, number];
type Quad = [number, number, number, number];
type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

function isRefCountingBackend(backend: unknown): backend is RefCountingBackend {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as { incRef?: unknown }).incRef === 'function'
  );
}

function pair(value: unknown, what: string): Pair {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number];
  }
  throw new Error(`wasm kernel: bad ${what} attribute ${JSON.stringify(value)}`);
}

function quad(value: unknown, what: string): Quad {
  if (Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number, value[2] as number, value[3] as number];
  }
  throw new Error(`wasm kernel: bad ${what} attribute ${JSON.stringify(value)}`);
}

function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`wasm kernel: missing input '${name}'`);
  return info;
}

function padAttr(attrs: NamedAttrMap | undefined): PadAttr {
  return (attrs?.['pad'] ?? 'valid') as PadAttr;
}

function roundingAttr(attrs: NamedAttrMap | undefined): RoundingMode {
  return (attrs?.['dimRoundingMode'] ?? undefined) as RoundingMode;
}

/**
 * Runs `compute` on Tensor views of the kernel inputs and returns its result as a TensorInfo owned by the
 * caller (see the module comment for the reference-counting contract).
 */
function runComposite(
  backend: unknown,
  infos: readonly TensorInfo[],
  compute: (...tensors: tf.Tensor[]) => tf.Tensor,
): TensorInfo {
  if (!isRefCountingBackend(backend)) throw new Error('wasm kernel: backend cannot count references');
  const engine = tf.engine();
  const result = tf.tidy(() => {
    const tensors = infos.map((info) => {
      backend.incRef(info.dataId);
      return engine.makeTensorFromTensorInfo(info);
    });
    return compute(...tensors);
  });
  backend.incRef(result.dataId);
  const out: TensorInfo = { dataId: result.dataId, shape: result.shape.slice(), dtype: result.dtype };
  result.dispose();
  return out;
}

/**
 * im2col patches for a group of filter taps: [batch*outH*outW, taps.length*channels], tap-major then channel,
 * where tap t = (i, j) reads x[b, oh*sh + i*dh, ow*sw + j*dw, c] of the already padded NHWC input.
 */
function patches(
  xPadded: tf.Tensor4D,
  taps: readonly Pair[],
  outH: number,
  outW: number,
  strides: Pair,
  dilations: Pair,
): tf.Tensor2D {
  const [batch, , , channels] = xPadded.shape;
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const slices = taps.map(([i, j]) => {
    const begin: Quad = [0, i * dh, j * dw, 0];
    if (sh === 1 && sw === 1) return tf.slice(xPadded, begin, [batch, outH, outW, channels]);
    const end: Quad = [batch, i * dh + (outH - 1) * sh + 1, j * dw + (outW - 1) * sw + 1, channels];
    return tf.stridedSlice(xPadded, begin, end, [1, sh, sw, 1]) as tf.Tensor4D;
  });
  const stacked = slices.length === 1 ? (slices[0] as tf.Tensor4D) : tf.stack(slices, 3);
  return tf.reshape(stacked, [batch * outH * outW, taps.length * channels]);
}

/** Filter taps (i, j) in row-major order, split into groups whose patch matrices fit the memory bound. */
function tapGroups(filterH: number, filterW: number, rowsTimesChannels: number): Pair[][] {
  const perGroup = Math.max(1, Math.floor(MAX_PATCH_ELEMENTS / Math.max(1, rowsTimesChannels)));
  const groups: Pair[][] = [];
  let current: Pair[] = [];
  for (let i = 0; i < filterH; i++) {
    for (let j = 0; j < filterW; j++) {
      current.push([i, j]);
      if (current.length === perGroup) {
        groups.push(current);
        current = [];
      }
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function padNHWC(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { top, bottom, left, right } = info.padInfo;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  // Negative padding cannot occur for 'same'/'valid'; explicit padding is non-negative by contract.
  return tf.pad(x, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/**
 * dW[i, j, c, o] = Σ_{b, oh, ow} xp[b, oh*sh + i, ow*sw + j, c] · dy[b, oh, ow, o]
 * for NHWC x [batch, H, W, in] (xp: x padded as the forward pass padded it), dy [batch, outH, outW, out];
 * returns [fh, fw, in, out].
 *
 * The sum is itself a convolution with the batch as the contracted channel axis: the input
 * xpᵀ = transpose(xp) [in, Hp, Wp, batch] ("batch" of `in` images with `batch` channels), the filter
 * dyᵀ = transpose(dy) [outH, outW, batch, out], stride 1, dilation (sh, sw), 'valid' padding, gives
 * [in, fh, fw, out] once xp is cropped to the rows/columns the forward pass read
 * ((fh-1) + (outH-1)*sh + 1 of them). One XNNPACK convolution and three transposes: measured here 10–25×
 * faster than an im2col built from slices (wasm's Slice/Pack are slow for few channels), with no
 * taps-times-input memory.
 */
export function conv2dBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Quad,
  strides: Pair,
  pad: PadAttr,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [fh, fw, inChannels, outChannels] = filterShape;
  const [batch, outH, outW, dyChannels] = dy.shape;
  if (outH !== info.outHeight || outW !== info.outWidth || dyChannels !== outChannels) {
    throw new Error(
      `Conv2DBackpropFilter: dy is [${dy.shape}], the convolution gives ` +
        `[${batch},${info.outHeight},${info.outWidth},${outChannels}]`,
    );
  }
  const [sh, sw] = strides;
  const usedH = fh - 1 + (outH - 1) * sh + 1;
  const usedW = fw - 1 + (outW - 1) * sw + 1;
  let xp = padNHWC(x, info);
  if (xp.shape[1] !== usedH || xp.shape[2] !== usedW) {
    xp = tf.slice(xp, [0, 0, 0, 0], [batch, usedH, usedW, inChannels]);
  }
  const xT = tf.transpose(xp, [3, 1, 2, 0]); // [in, usedH, usedW, batch]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [outH, outW, batch, out]
  const dWT = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [in, fh, fw, out]
  return tf.transpose(dWT, [1, 2, 0, 3]);
}

/**
 * Depthwise filter gradient: dW[i, j, c, m] = Σ_{b, oh, ow} x[b, oh*sh + i*dh - padTop, ow*sw + j*dw - padLeft,
 * c] · dy[b, oh, ow, c*M + m] for x [batch, H, W, C], dy [batch, outH, outW, C*M]; returns [fh, fw, C, M].
 */
export function depthwiseConv2dBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Quad,
  strides: Pair,
  dilations: Pair,
  pad: PadAttr,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
    'channelsLast',
  );
  const [fh, fw, channels, multiplier] = filterShape;
  const [batch, outH, outW] = dy.shape;
  const rows = batch * outH * outW;
  const xp = padNHWC(x, info);
  // dy per channel: [C, rows, M].
  const dyByChannel = tf.transpose(tf.reshape(dy, [rows, channels, multiplier]), [1, 0, 2]);
  const parts = tapGroups(fh, fw, rows * channels).map((taps) => {
    // [rows, taps, C] -> [C, taps, rows], then per channel [taps, rows] · [rows, M] = [taps, M].
    const p = tf.reshape(patches(xp, taps, outH, outW, strides, dilations), [rows, taps.length, channels]);
    const perChannel = tf.matMul(tf.transpose(p, [2, 1, 0]), dyByChannel);
    return tf.transpose(perChannel, [1, 0, 2]); // [taps, C, M]
  });
  const dW = parts.length === 1 ? (parts[0] as tf.Tensor3D) : tf.concat(parts, 0);
  return tf.reshape(dW, filterShape);
}

/**
 * Depthwise input gradient through the full-convolution input gradient: the depthwise filter [fh, fw, C, M]
 * equals the full filter F[i, j, c, c'*M + m] = W[i, j, c, m] if c = c' else 0, of shape [fh, fw, C, C*M].
 * Costs C times the arithmetic of a dedicated kernel; depthwise layers are not on this project's hot path.
 */
export function depthwiseConv2dBackpropInputNHWC(
  inputShape: Quad,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: Pair,
  pad: PadAttr,
  dimRoundingMode?: RoundingMode,
): tf.Tensor4D {
  const [fh, fw, channels, multiplier] = filter.shape;
  const eye = tf.reshape(tf.eye(channels), [1, 1, channels, channels, 1]);
  const blocks = tf.mul(tf.reshape(filter, [fh, fw, channels, 1, multiplier]), eye);
  const full: tf.Tensor4D = tf.reshape(blocks, [fh, fw, channels, channels * multiplier]);
  return tf.conv2dTranspose(dy, full, inputShape, strides, pad, dimRoundingMode);
}

/** Padding of dy (top, bottom, left, right) that turns the conv2d input gradient into a 'valid' convolution. */
export interface InputGradientPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * The dy padding for {@link conv2dBackpropInputNHWC}, or null when the forward padding exceeds the filter
 * (explicit pads that large), which that formulation cannot express.
 */
export function inputGradientPadding(
  inputShape: Quad,
  filterShape: Quad,
  strides: Pair,
  pad: PadAttr,
  dimRoundingMode?: RoundingMode,
): InputGradientPadding | null {
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [, height, width] = inputShape;
  const [fh, fw] = filterShape;
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  // The zero-dilated dy has outH·sh rows (sh − 1 trailing zero rows included).
  const bottom = height + fh - 1 - top - info.outHeight * strides[0];
  const right = width + fw - 1 - left - info.outWidth * strides[1];
  return top < 0 || left < 0 || bottom < 0 || right < 0 ? null : { top, bottom, left, right };
}

/**
 * dx of a stride-s conv2d as a stride-1 convolution (XNNPACK) of the zero-dilated, padded dy with the
 * spatially flipped filter, in/out channels swapped:
 *   dx[b, h, w, c] = Σ_{i, j, o} dyd[b, h + i, w + j, o] · W[fh-1-i, fw-1-j, c, o]
 * where dyd is dy with s−1 zeros after each row/column, padded (see inputGradientPadding) so the 'valid'
 * result has exactly the input's H×W.
 */
export function conv2dBackpropInputNHWC(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: Pair,
  padding: InputGradientPadding,
): tf.Tensor4D {
  const [batch, oh, ow, outChannels] = dy.shape;
  const [sh, sw] = strides;
  let dyd = dy;
  if (sh > 1 || sw > 1) {
    const spread = tf.pad(tf.reshape(dy, [batch, oh, 1, ow, 1, outChannels]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    dyd = tf.reshape(spread, [batch, oh * sh, ow * sw, outChannels]);
  }
  const padded = tf.pad(dyd, [
    [0, 0],
    [padding.top, padding.bottom],
    [padding.left, padding.right],
    [0, 0],
  ]);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [fh, fw, out, in]
  return tf.conv2d(padded, flipped, 1, 'valid');
}

/** The part of the wasm backend (BackendWasm) a JavaScript kernel needs to work on its heap directly. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function isHeapBackend(backend: unknown): backend is HeapBackend {
  const b = backend as { makeOutput?: unknown; typedArrayFromHeap?: unknown } | null;
  return typeof b?.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

/**
 * Max-pool input gradient on flat NHWC arrays: each dy[b, oh, ow, c] is added to dx at the first position
 * (row-major within the window, padding excluded) holding the window's maximum — the cpu backend's and
 * TensorFlow's rule. A window with nothing above −∞ (all NaN or −∞) passes nothing, as on cpu.
 */
export function maxPoolBackpropInto(
  dx: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * C;
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * sh - top;
      const rStart = Math.max(0, r0);
      const rEnd = Math.min(inHeight, r0 + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const c0 = ow * sw - left;
        const cStart = Math.max(0, c0);
        const cEnd = Math.min(inWidth, c0 + fw);
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let r = rStart; r < rEnd; r++) {
            for (let col = cStart; col < cEnd; col++) {
              const k = xBatch + (r * inWidth + col) * C + c;
              const v = x[k] as number;
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) dx[at] = (dx[at] as number) + (dy[dyBase + c] as number);
        }
      }
    }
  }
}

/**
 * MaxPoolGrad for wasm as a JavaScript loop over the wasm heap (no copies): for this project's pools
 * (2×1, stride 2×1) it is one pass over x, ~1 ms for a [32, 240, 20] activation.
 */
const maxPoolGradKernel: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    if (!isHeapBackend(backend)) throw new Error('MaxPoolGrad (wasm): unexpected backend');
    const dy = input(inputs, 'dy');
    const x = input(inputs, 'input');
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('MaxPoolGrad (wasm): float32 only');
    const info = tf.backend_util.computePool2DInfo(
      x.shape as Quad,
      pair(attrs?.['filterSize'], 'filterSize'),
      pair(attrs?.['strides'], 'strides'),
      1,
      padAttr(attrs),
      roundingAttr(attrs),
    );
    if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) {
      throw new Error(
        `MaxPoolGrad (wasm): dy is [${dy.shape}], the pooling gives ${info.outHeight}x${info.outWidth}`,
      );
    }
    // Allocate first: allocation may grow the heap and detach earlier views.
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    maxPoolBackpropInto(
      backend.typedArrayFromHeap(out) as Float32Array,
      backend.typedArrayFromHeap(x) as Float32Array,
      backend.typedArrayFromHeap(dy) as Float32Array,
      info,
    );
    return out;
  },
};

const conv2dBackpropFilterKernel: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const strides = pair(attrs?.['strides'], 'strides');
    const filterShape = quad(attrs?.['filterShape'], 'filterShape');
    const channelsFirst = attrs?.['dataFormat'] === 'NCHW';
    return runComposite(backend, [input(inputs, 'x'), input(inputs, 'dy')], (x, dy) => {
      // NCHW inputs are brought to NHWC; the filter layout is [fh, fw, in, out] in both formats.
      const x4 = (channelsFirst ? tf.transpose(x as tf.Tensor4D, [0, 2, 3, 1]) : x) as tf.Tensor4D;
      const dy4 = (channelsFirst ? tf.transpose(dy as tf.Tensor4D, [0, 2, 3, 1]) : dy) as tf.Tensor4D;
      return conv2dBackpropFilterNHWC(x4, dy4, filterShape, strides, padAttr(attrs), roundingAttr(attrs));
    });
  },
};

const depthwiseBackpropFilterKernel: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const strides = pair(attrs?.['strides'], 'strides');
    const dilations = pair(attrs?.['dilations'] ?? 1, 'dilations');
    const filterShape = quad(attrs?.['filterShape'], 'filterShape');
    return runComposite(backend, [input(inputs, 'x'), input(inputs, 'dy')], (x, dy) =>
      depthwiseConv2dBackpropFilterNHWC(
        x as tf.Tensor4D,
        dy as tf.Tensor4D,
        filterShape,
        strides,
        dilations,
        padAttr(attrs),
        roundingAttr(attrs),
      ),
    );
  },
};

const depthwiseBackpropInputKernel: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const strides = pair(attrs?.['strides'], 'strides');
    const dilations = pair(attrs?.['dilations'] ?? 1, 'dilations');
    if (dilations[0] !== 1 || dilations[1] !== 1) {
      // TF.js's own depthwise gradient refuses dilations > 1 before it gets here.
      throw new Error(`DepthwiseConv2dNativeBackpropInput (wasm): dilations ${dilations} are not supported`);
    }
    const inputShape = quad(attrs?.['inputShape'], 'inputShape');
    return runComposite(backend, [input(inputs, 'dy'), input(inputs, 'filter')], (dy, filter) =>
      depthwiseConv2dBackpropInputNHWC(
        inputShape,
        dy as tf.Tensor4D,
        filter as tf.Tensor4D,
        strides,
        padAttr(attrs),
        roundingAttr(attrs),
      ),
    );
  },
};

const unsortedSegmentSumKernel: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const numSegments = attrs?.['numSegments'];
    if (typeof numSegments !== 'number') throw new Error('UnsortedSegmentSum (wasm): numSegments missing');
    return runComposite(backend, [input(inputs, 'x'), input(inputs, 'segmentIds')], (x, ids) => {
      // segmentIds has the shape of a prefix of x: flatten both to [n] and [n, rest].
      const n = ids.size;
      const rest = x.shape.slice(ids.rank);
      const restSize = rest.reduce((a, b) => a * b, 1);
      const oneHot = tf.cast(tf.oneHot(tf.cast(tf.reshape(ids, [n]), 'int32'), numSegments), 'float32');
      const xFlat = tf.cast(tf.reshape(x, [n, restSize]), 'float32');
      const sums = tf.reshape(tf.matMul(oneHot, xFlat, true, false), [numSegments, ...rest]);
      return x.dtype === 'float32' ? sums : tf.cast(sums, x.dtype);
    });
  },
};

/** The gradient kernels this module provides, in registration order. */
export const WASM_GRADIENT_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropFilterKernel,
  depthwiseBackpropFilterKernel,
  depthwiseBackpropInputKernel,
  unsortedSegmentSumKernel,
];

/**
 * Kernels wasm has but gets wrong, replaced by this module. MaxPoolGrad (4.22): the C++ kernel seeds its
 * running maximum with `std::numeric_limits<float>::min()` (the smallest positive float, not the lowest),
 * so a window whose values are all negative routes no gradient at all; ties go to the last maximum instead
 * of the first. Any model with max-pooling after a linear, ELU or tanh activation trains wrongly on it.
 */
export const WASM_REPLACED_KERNELS: readonly KernelConfig[] = [maxPoolGradKernel];

/** The matrix-product kernels whose transposed forms get the fast path. */
export const WASM_MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

/** Kernel configs installed by this module (to recognise them and stay idempotent). */
const ours = new WeakSet<KernelConfig>();

interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

function isDisposingBackend(backend: unknown): backend is DisposingBackend {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as { disposeData?: unknown }).disposeData === 'function'
  );
}

/**
 * Wraps a wasm matrix-product kernel (inputs `a`, `b`, optional others; attrs transposeA/transposeB) so
 * transposed operands are materialised by the Transpose kernel (last two axes swapped) and the original
 * kernel runs untransposed. Operand temporaries are released before returning.
 */
function withExplicitTranspose(original: KernelConfig): KernelConfig {
  const wrapped: KernelConfig = {
    ...original,
    kernelFunc: (args) => {
      const transposeA = args.attrs?.['transposeA'] === true;
      const transposeB = args.attrs?.['transposeB'] === true;
      if (!transposeA && !transposeB) return original.kernelFunc(args);
      const { backend } = args;
      const transpose = tf.getKernel('Transpose', 'wasm');
      if (transpose === undefined || !isDisposingBackend(backend)) return original.kernelFunc(args);
      const temporaries: TensorInfo[] = [];
      const swapLastTwo = (info: TensorInfo): TensorInfo => {
        const rank = info.shape.length;
        const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
        const out = transpose.kernelFunc({ inputs: { x: info }, backend, attrs: { perm } }) as TensorInfo;
        temporaries.push(out);
        return out;
      };
      try {
        const a = input(args.inputs, 'a');
        const b = input(args.inputs, 'b');
        return original.kernelFunc({
          inputs: { ...args.inputs, a: transposeA ? swapLastTwo(a) : a, b: transposeB ? swapLastTwo(b) : b },
          backend,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        });
      } finally {
        for (const t of temporaries) backend.disposeData(t.dataId);
      }
    },
  };
  ours.add(wrapped);
  return wrapped;
}

/**
 * Wraps wasm's Conv2DBackpropInput so it runs as a forward convolution (conv2dBackpropInputNHWC); the
 * original handles the padding that formulation cannot express.
 */
function withConvolutionInputGradient(original: KernelConfig): KernelConfig {
  const wrapped: KernelConfig = {
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const strides = pair(attrs?.['strides'], 'strides');
      const shape = quad(attrs?.['inputShape'], 'inputShape');
      const dy = input(inputs, 'dy');
      const filter = input(inputs, 'filter');
      const channelsFirst = attrs?.['dataFormat'] === 'NCHW';
      const nhwcShape: Quad = channelsFirst ? [shape[0], shape[2], shape[3], shape[1]] : shape;
      const filterShape = quad(filter.shape, 'filter shape');
      const padding = inputGradientPadding(
        nhwcShape,
        filterShape,
        strides,
        padAttr(attrs),
        roundingAttr(attrs),
      );
      if (padding === null) return original.kernelFunc(args);
      return runComposite(backend, [dy, filter], (dyT, filterT) => {
        // NCHW dy/dx are brought to/from NHWC; the filter is [fh, fw, in, out] in both formats.
        const dy4 = (channelsFirst ? tf.transpose(dyT, [0, 2, 3, 1]) : dyT) as tf.Tensor4D;
        const dx = conv2dBackpropInputNHWC(dy4, filterT as tf.Tensor4D, strides, padding);
        return channelsFirst ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
      });
    },
  };
  ours.add(wrapped);
  return wrapped;
}

/**
 * Registers, for the wasm backend, the missing gradient kernels, the MaxPoolGrad replacement and the fast
 * paths (items 1–3 of the module comment). Idempotent; a missing kernel that the installed
 * @tensorflow/tfjs-backend-wasm already provides (a later version) is left alone. Returns the names this
 * call registered, replaced or wrapped. Safe before or after the wasm backend is initialised (wrappers keep
 * the originals' setup functions).
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const kernel of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(kernel.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel(kernel);
    ours.add(kernel);
    registered.push(kernel.kernelName);
  }
  for (const kernel of WASM_REPLACED_KERNELS) {
    const current = tf.getKernel(kernel.kernelName, 'wasm');
    if (current !== undefined && ours.has(current)) continue;
    if (current !== undefined) tf.unregisterKernel(kernel.kernelName, 'wasm');
    tf.registerKernel(kernel);
    ours.add(kernel);
    registered.push(`${kernel.kernelName} (replacement)`);
  }
  for (const name of WASM_MATMUL_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (current === undefined || ours.has(current)) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(withExplicitTranspose(current));
    registered.push(`${name} (explicit-transpose wrapper)`);
  }
  const convInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (convInput !== undefined && !ours.has(convInput)) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(withConvolutionInputGradient(convInput));
    registered.push('Conv2DBackpropInput (forward-convolution wrapper)');
  }
  return registered;
}

/** Whether this module's kernels are the ones registered for wasm under every name it handles. */
export function wasmTrainingKernelsInstalled(): boolean {
  const names = [
    ...WASM_GRADIENT_KERNELS.map((k) => k.kernelName),
    ...WASM_REPLACED_KERNELS.map((k) => k.kernelName),
    ...WASM_MATMUL_KERNELS,
    'Conv2DBackpropInput',
  ];
  return names.every((name) => {
    const k = tf.getKernel(name, 'wasm');
    return k !== undefined && ours.has(k);
  });
}
