// Vector helpers shared by every kernel: fused multiply-add (relaxed SIMD when the
// build enables it), partial loads and stores for row tails, and f32
// nonlinearities accurate to a few ulp (the end-to-end budget against the float64
// reference is 1e-4 relative, and errors compound over T steps and layers).

/** a * b + c; one rounding with relaxed SIMD on FMA hardware, two without. */
// @ts-ignore: decorator
@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/**
 * Loads n (1..4) floats; lanes past n are zero. A full-width load at a row's end
 * could run past the end of memory, so tails go lane by lane.
 */
export function loadPartial(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

export function storePartial(p: usize, v: v128, n: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** n floats at p (n = 4: one vector load). */
// @ts-ignore: decorator
@inline export function ld(p: usize, n: i32): v128 {
  return n == 4 ? v128.load(p) : loadPartial(p, n);
}

// @ts-ignore: decorator
@inline export function st(p: usize, v: v128, n: i32): void {
  if (n == 4) v128.store(p, v);
  else storePartial(p, v, n);
}

/**
 * e^x, Cephes-style: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n ln2_hi
 * is exact), a degree-7 Taylor polynomial for e^r (truncation < 1e-8), and 2^n
 * built in the exponent bits. Inputs are clamped so 2^n stays a normal float.
 */
// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, splat(-87.0)), splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = splat(1.0 / 5040.0);
  p = fmadd(p, r, splat(1.0 / 720.0));
  p = fmadd(p, r, splat(1.0 / 120.0));
  p = fmadd(p, r, splat(1.0 / 24.0));
  p = fmadd(p, r, splat(1.0 / 6.0));
  p = fmadd(p, r, splat(0.5));
  p = fmadd(p, r, splat(1.0));
  p = fmadd(p, r, splat(1.0));
  return f32x4.mul(p, pow2(n));
}

/** 2^n for integral n in [-126, 127], built in the exponent bits. */
// @ts-ignore: decorator
@inline function pow2(n: v128): v128 {
  return i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
}

/** 1 / (1 + e^-x); for very negative x the quotient stays accurate (no cancellation). */
// @ts-ignore: decorator
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(splat(1.0), f32x4.add(splat(1.0), vexp(f32x4.neg(x))));
}

/**
 * tanh |x| = -m / (2 + m) with m = e^(-2|x|) - 1, sign restored. m comes from
 * an expm1 (the polynomial for e^r - 1 has no constant term, and 2^n p + (2^n - 1)
 * only cancels mildly for n = -1), so tanh keeps its relative accuracy near zero,
 * where tanh(x) ~ x, with a single exponential and division.
 */
// @ts-ignore: decorator
@inline export function vtanh(x: v128): v128 {
  // Past |x| = 9, tanh is 1 in float32.
  const y = f32x4.max(f32x4.mul(f32x4.abs(x), splat(-2.0)), splat(-18.0));
  const n = f32x4.nearest(f32x4.mul(y, splat(1.44269504088896341)));
  let r = f32x4.sub(y, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = splat(1.0 / 5040.0);
  p = fmadd(p, r, splat(1.0 / 720.0));
  p = fmadd(p, r, splat(1.0 / 120.0));
  p = fmadd(p, r, splat(1.0 / 24.0));
  p = fmadd(p, r, splat(1.0 / 6.0));
  p = fmadd(p, r, splat(0.5));
  p = fmadd(f32x4.mul(p, r), r, r); // e^r - 1
  const s = pow2(n);
  const m = fmadd(s, p, f32x4.sub(s, splat(1.0)));
  const mag = f32x4.div(f32x4.neg(m), f32x4.add(m, splat(2.0)));
  // Restore the sign of x.
  return v128.or(mag, v128.and(x, i32x4.splat(<i32>0x80000000)));
}
