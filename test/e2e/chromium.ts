// Debian's Chromium for the browser tests: where it is, why a test skips
// without it, and how each test starts it (headless, and without the
// background connections this machine's closed network refuses).
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The browser's path (CHROMIUM_PATH, or Debian's), or undefined where there is none. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => existsSync(p));

/** Why a browser test skips here, or false. */
export const NO_CHROMIUM = CHROMIUM === undefined ? 'no Chromium here (apt-get install -y chromium, or set CHROMIUM_PATH)' : false;

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Starts headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}
