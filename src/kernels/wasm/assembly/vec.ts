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
export function vexp(x: v128): v128 {
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
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** 1 / (1 + e^-x); for very negative x the quotient stays accurate (no cancellation). */
export function vsigmoid(x: v128): v128 {
  return f32x4.div(splat(1.0), f32x4.add(splat(1.0), vexp(f32x4.neg(x))));
}

/**
 * tanh. 1 - 2 / (e^2|x| + 1) cancels badly near zero, where tanh(x) ~ x and a
 * relative error is what matters, so |x| < 0.25 uses the odd Taylor series to
 * x^9 (next term < 1e-8 relative there).
 */
export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = vexp(f32x4.add(ax, ax));
  const big = f32x4.sub(splat(1.0), f32x4.div(splat(2.0), f32x4.add(e, splat(1.0))));
  const x2 = f32x4.mul(ax, ax);
  let q = splat(62.0 / 2835.0);
  q = fmadd(q, x2, splat(-17.0 / 315.0));
  q = fmadd(q, x2, splat(2.0 / 15.0));
  q = fmadd(q, x2, splat(-1.0 / 3.0));
  const small = fmadd(f32x4.mul(q, x2), ax, ax);
  const mag = v128.bitselect(small, big, f32x4.lt(ax, splat(0.25)));
  // Restore the sign of x.
  return v128.or(mag, v128.and(x, i32x4.splat(<i32>0x80000000)));
}
