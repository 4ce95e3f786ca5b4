// The wasm backend's inference steps (assembly/step.ts) behind Kernels.cellStep
// and Kernels.bindModelStep: pointers are checked and worked out once per
// binding, so a model step is one call into the module.
import {
  cellStepScratchSize,
  GATES,
  modelStepScratchSize,
  type CellStepArgs,
  type CellType,
  type Kernels,
  type ModelStepArgs,
} from '../kernels.js';
import type { WasmHeap } from './heap.js';

type Ptr = number;

/** The step exports of the module (assembly/step.ts). */
export interface StepExports {
  cellStep(
    cell: number,
    B: number,
    I: number,
    H: number,
    wih: Ptr,
    whh: Ptr,
    bih: Ptr,
    bhh: Ptr,
    x: Ptr,
    table: Ptr,
    ids: Ptr,
    h: Ptr,
    c: Ptr,
    scratch: Ptr,
  ): void;
  modelStep(
    cell: number,
    L: number,
    B: number,
    H: number,
    V: number,
    table: Ptr,
    layers: Ptr,
    wout: Ptr,
    bout: Ptr,
    ids: Ptr,
    logits: Ptr,
    scratch: Ptr,
  ): void;
}

const CELL_CODE: Record<CellType, number> = { lstm: 0, gru: 1, rnn: 2 };

function checkIds(ids: Int32Array, n: number, limit: number): void {
  for (let b = 0; b < n; b++) {
    if (!(ids[b] >= 0 && ids[b] < limit)) throw new RangeError(`wasm kernels: ids[${b}] = ${ids[b]} is out of range (0 to ${limit - 1})`);
  }
}

export function wasmStepKernels(e: StepExports, heap: WasmHeap): Pick<Kernels<Float32Array>, 'cellStep' | 'bindModelStep'> {
  const p = (v: Float32Array | Int32Array, n: number, what: string): Ptr => heap.ptr(v, n, what);
  // The layer descriptors the module reads (7 i32 per layer), shared by every binding: the run
  // rewrites them when another binding ran last, so binding allocates nothing in the module's heap.
  let descriptors = heap.i32(0);
  let written: object | null = null;

  return {
    cellStep({ shape, weights: w, input, h, c, scratch }: CellStepArgs<Float32Array>) {
      const { cell, T, B, I, H } = shape;
      if (T !== 1) throw new RangeError(`cellStep runs one time step, got T = ${T}`);
      const G = GATES[cell] * H;
      if (cell === 'lstm' && c === null) throw new Error('wasm kernels: an LSTM needs c');
      const whh = p(w.whh, G * H, 'whh'),
        bhh = p(w.bhh, G, 'bhh');
      const hp = p(h, B * H, 'h'),
        cp = heap.ptrOrNull(cell === 'lstm' ? c : null, B * H, 'c');
      const sp = p(scratch, cellStepScratchSize(shape), 'scratch');
      if ('table' in input) {
        const rows = Math.floor(input.table.length / G);
        checkIds(input.ids, B, rows);
        e.cellStep(CELL_CODE[cell], B, I, H, 0, whh, 0, bhh, 0, p(input.table, G, 'table'), p(input.ids, B, 'ids'), hp, cp, sp);
      } else {
        e.cellStep(
          CELL_CODE[cell],
          B,
          I,
          H,
          p(w.wih, G * I, 'wih'),
          whh,
          p(w.bih, G, 'bih'),
          bhh,
          p(input.x, B * I, 'x'),
          0,
          0,
          hp,
          cp,
          sp,
        );
      }
    },

    bindModelStep(a: ModelStepArgs<Float32Array>) {
      const { cell, B, H, V } = a;
      const L = a.layers.length;
      const G = GATES[cell] * H;
      if (L < 1 || a.state.length !== L) throw new RangeError(`wasm kernels: ${L} layers and ${a.state.length} states`);
      const words = new Int32Array(7 * L); // per layer: I, wih, whh, bih, bhh, h, c
      a.layers.forEach(({ weights: w, inputSize: I }, l) => {
        if (l > 0 && I !== H) throw new RangeError('wasm kernels: layers past the first take the hidden size as input');
        words.set(
          [
            I,
            l > 0 ? p(w.wih, G * I, 'wih') : 0,
            p(w.whh, G * H, 'whh'),
            l > 0 ? p(w.bih, G, 'bih') : 0,
            p(w.bhh, G, 'bhh'),
            p(a.state[l].h, B * H, 'h'),
            heap.ptrOrNull(cell === 'lstm' ? a.state[l].c : null, B * H, 'c'),
          ],
          7 * l,
        );
        if (cell === 'lstm' && a.state[l].c === null) throw new Error('wasm kernels: an LSTM needs c');
      });
      const table = p(a.table, V * G, 'table'),
        wout = p(a.outWeight, V * H, 'outWeight'),
        bout = p(a.outBias, V, 'outBias');
      const ids = p(a.ids, B, 'ids'),
        logits = p(a.logits, B * V, 'logits');
      const scratch = p(a.scratch, modelStepScratchSize(cell, B, H, L), 'scratch');
      const code = CELL_CODE[cell];
      const me = {};
      return () => {
        checkIds(a.ids, B, V);
        if (written !== me) {
          if (descriptors.length < words.length) descriptors = heap.i32(words.length);
          descriptors.set(words);
          written = me;
        }
        e.modelStep(code, L, B, H, V, table, descriptors.byteOffset, wout, bout, ids, logits, scratch);
      };
    },
  };
}
