// UTF-8 at the level of bytes: where a file stops being valid, and where a
// chunk ends inside a sequence. Platform-neutral.

/**
 * Offset of the first byte of the first sequence that makes `bytes` invalid
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF included),
 * or -1 when it is valid. Everything before the offset is valid UTF-8. The
 * sequence's first byte is named, not the byte where the scan noticed: in
 * Latin-1 "cafés" (63 61 66 E9 73) the culprit is E9, not the valid "s" after it.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80,
      hi = 0xbf; // allowed range of the first continuation byte
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return i; // cut off by the end
      const c = bytes[i + k];
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * How many bytes at the end of `bytes` begin a UTF-8 sequence that the next
 * chunk would complete (0 to 3), so that a chunked reader can say where an
 * error lies in the whole file.
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if (b >= 0x80 && b <= 0xbf) continue; // a continuation byte: look further back for its lead
    const need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    return need >= back ? back : 0;
  }
  return 0;
}
