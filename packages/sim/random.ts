/**
 * Seeded random streams. Each stream is derived from (seed, name) only, so streams are
 * independent of each other and of the order in which they are created: the harness draws
 * workload randomness from streams whose names do not mention the backend, and both backends
 * see the same numbers (common random numbers).
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG), seeded by a 128-bit
 * murmur-style hash of the seed and the name. Not cryptographic; fast and well distributed.
 */

function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export class RandomStream {
  readonly name: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, name: string) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    this.name = name;
    [this.a, this.b, this.c, this.d] = hash128(`${seed}\u0000${name}`);
    for (let i = 0; i < 12; i++) this.next_u32(); // warm up: the first outputs are weak
  }

  /** Uniform 32-bit unsigned integer. */
  next_u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 53 bits. */
  float(): number {
    const hi = this.next_u32() >>> 5; // 27 bits
    const lo = this.next_u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new RangeError(`int(${lo}, ${hi}): need integers with lo <= hi`);
    }
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Uniform index in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }
}

/** The root of a run's randomness: hands out named streams. */
export class RandomStreams {
  readonly seed: number;
  private readonly streams = new Map<string, RandomStream>();

  constructor(seed: number) {
    this.seed = seed;
  }

  /** The stream with this name; the same object on every call within a run. */
  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new RandomStream(this.seed, name);
      this.streams.set(name, s);
    }
    return s;
  }
}
