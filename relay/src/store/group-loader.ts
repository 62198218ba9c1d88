interface Waiting<K, V> {
  key: K;
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}

export interface GroupLoaderOptions {
  /** Lookups running at once (each takes a pool connection). */
  maxConcurrent: number;
  /** Most keys in one lookup. */
  maxBatch: number;
}

/**
 * Group reads, the read-side twin of the envelope writer's group commit: lookups that arrive while
 * `maxConcurrent` are already running wait and then go together as one query. An idle relay answers
 * each lookup at once; a busy one makes one round trip for many requests.
 */
export class GroupLoader<K, V> {
  private queue: Waiting<K, V>[] = [];
  private running = 0;

  constructor(
    /** Loads many keys at once; the map is keyed by `keyOf`. Missing keys resolve to undefined. */
    private readonly load: (keys: K[]) => Promise<Map<string, V>>,
    private readonly keyOf: (key: K) => string,
    private readonly options: GroupLoaderOptions = { maxConcurrent: 2, maxBatch: 500 },
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise<V | undefined>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    while (this.running < this.options.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running += 1;
      void this.flush(batch).finally(() => {
        this.running -= 1;
        this.kick();
      });
    }
  }

  private async flush(batch: Waiting<K, V>[]): Promise<void> {
    const unique = new Map<string, K>();
    for (const w of batch) {
      unique.set(this.keyOf(w.key), w.key);
    }
    try {
      const found = await this.load([...unique.values()]);
      for (const w of batch) {
        w.resolve(found.get(this.keyOf(w.key)));
      }
    } catch (err) {
      for (const w of batch) {
        w.reject(err);
      }
    }
  }
}
