// charrnn's generator (src/util/random.ts) in Python, for the parts of the
// exported program that must draw what charrnn draws: the windows of
// --val-split spread, and line mode's held-out lines and batch order. Written
// out bit for bit (32-bit integer arithmetic, and the same double for `int`).
// Platform-neutral: Python text only.

/** The Python class `Random` and its helpers: a program part that several settings share. */
export const TORCH_RANDOM = String.raw`# ---- charrnn's generator, for what charrnn draws from it (held-out text, the order of batches) ----

class Random:
    """charrnn's generator (xoshiro128**, seeded through splitmix32), as far as the program draws from it."""

    def __init__(self, seed):
        x, self.s = seed & 0xFFFFFFFF, []
        for _ in range(4):
            x = (x + 0x9E3779B9) & 0xFFFFFFFF
            z = ((x ^ (x >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
            self.s.append(z ^ (z >> 16))

    def uint32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & 0xFFFFFFFF, 7) * 9) & 0xFFFFFFFF
        t = (s1 << 9) & 0xFFFFFFFF
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 11)]
        return result

    def int(self, n):
        """An integer in [0, n), from a double with 53 random bits."""
        hi, lo = self.uint32() >> 5, self.uint32() >> 6
        return math.floor((hi * 67108864 + lo) / 9007199254740992 * n)


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def shuffle(a, rng):
    """charrnn's Fisher-Yates shuffle of a list, in place."""
    for i in range(len(a) - 1, 0, -1):
        j = rng.int(i + 1)
        a[i], a[j] = a[j], a[i]

`;
