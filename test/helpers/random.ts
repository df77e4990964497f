/**
 * mulberry32: a tiny seeded generator of floats in [0, 1), so a random test can be
 * replayed from its seed. Not an LCG's `x % n`, whose low bits cycle (its `% 2`
 * alternates), so choices made with small moduli would follow each other.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
