// The JS side of the WebAssembly backend's memory: a bump allocator over the
// module's imported shared memory. Shared memory never detaches its views when it
// grows (a later worker pool can share it too), but every grow hands out a new
// SharedArrayBuffer object for the larger length, so views are recognised by the
// set of buffer objects this heap has handed out, not by identity with
// `memory.buffer`.

const PAGE = 65536;
/** Cache-line alignment: SIMD rows never straddle a line at their start, and buffers never share one. */
const ALIGN = 64;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export class WasmHeap {
  private top: number;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private workspace = { ptr: 0, floats: 0 };

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maximumPages: number,
  ) {
    this.top = align(base);
  }

  /** Bytes handed out so far, the module's static data included. */
  get used(): number {
    return this.top;
  }

  /** A zeroed float buffer: memory is only ever handed out once, and fresh memory is zero. */
  f32(length: number): Float32Array {
    const offset = this.reserve(length * 4);
    return new Float32Array(this.current(), offset, length);
  }

  i32(length: number): Int32Array {
    const offset = this.reserve(length * 4);
    return new Int32Array(this.current(), offset, length);
  }

  /** The pointer a kernel gets for a view; throws for an array that does not live in this memory or is too short. */
  ptr(view: Float32Array | Int32Array, minLength: number, what: string): number {
    if (!this.buffers.has(view.buffer)) throw new Error(`wasm kernels: ${what} is not a buffer of this backend (use kernels.alloc)`);
    if (view.length < minLength) throw new Error(`wasm kernels: ${what} has ${view.length} elements, needs ${minLength}`);
    return view.byteOffset;
  }

  /** As ptr, with null (no buffer) as 0. */
  ptrOrNull(view: Float32Array | null, minLength: number, what: string): number {
    return view === null ? 0 : this.ptr(view, minLength, what);
  }

  /**
   * Scratch for the kernels (packed matrices, per-step temporaries): at least
   * `floats` floats, reused across calls and grown by half again when too small,
   * so steady-state training allocates nothing.
   */
  scratch(floats: number): number {
    if (floats > this.workspace.floats) {
      const n = Math.max(floats, Math.ceil(this.workspace.floats * 1.5));
      this.workspace = { ptr: this.reserve(n * 4), floats: n };
    }
    return this.workspace.ptr;
  }

  private reserve(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`wasm kernels: cannot allocate ${bytes} bytes`);
    const offset = this.top;
    const end = offset + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = have / PAGE;
      const needed = Math.ceil((end - have) / PAGE);
      if (pages + needed > this.maximumPages) {
        throw new RangeError(`wasm kernels: out of memory (${end} bytes needed, at most ${this.maximumPages * PAGE})`);
      }
      // Grow by at least a quarter to keep the number of grows logarithmic.
      const extra = Math.min(Math.max(needed, Math.ceil(pages / 4)), this.maximumPages - pages);
      this.memory.grow(extra);
    }
    this.top = align(end);
    return offset;
  }

  private current(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return buffer;
  }
}
