// Numbers as the reports write them, the same in every locale.

/** 12345 as "12,345", the same in every locale. */
export function thousands(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Seconds as "45s", "12m 03s" or "2h 05m". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** 0.123 as "12%" (or "12.30%" with digits 2). */
export function percent(x: number, digits = 0): string {
  return `${(100 * x).toFixed(digits)}%`;
}
