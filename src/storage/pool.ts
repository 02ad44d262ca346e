/** Runs `fn` over `items` with at most `jobs` in flight; the first error stops new work and is rethrown. */
export async function runPool<T>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  if (failed) throw failed.err;
}

/**
 * Bounds the bytes held in memory by transfers running at once (32 jobs x 16 MiB bodies would be
 * 512 MiB). A request bigger than the whole budget waits for all of it.
 */
export class ByteBudget {
  private free: number;
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(private readonly capacity: number) {
    this.free = capacity;
  }

  async acquire(bytes: number): Promise<() => void> {
    const n = Math.min(bytes, this.capacity);
    if (this.waiting.length || this.free < n) await new Promise<void>((go) => this.waiting.push({ n, go }));
    else this.free -= n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free += n;
      while (this.waiting.length && this.free >= this.waiting[0].n) {
        const w = this.waiting.shift()!;
        this.free -= w.n;
        w.go();
      }
    };
  }
}
