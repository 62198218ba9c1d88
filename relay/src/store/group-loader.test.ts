import { describe, expect, it } from 'vitest';
import { GroupLoader } from './group-loader.js';

describe('GroupLoader (grouped reads)', () => {
  it('answers each caller, and groups the lookups that wait behind a running one into one load', async () => {
    const loads: string[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loader = new GroupLoader<string, number>(
      async (keys) => {
        loads.push(keys);
        await gate;
        return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
      },
      (k) => k,
      { maxConcurrent: 1, maxBatch: 100 },
    );
    const first = loader.get('a');
    const rest = ['bb', 'ccc', 'bb', 'missing'].map((k) => loader.get(k));
    release();
    expect(await first).toBe(1);
    expect(await Promise.all(rest)).toEqual([2, 3, 2, undefined]);
    // One load for the first key, one for everything that queued behind it (duplicates asked once).
    expect(loads).toEqual([['a'], ['bb', 'ccc', 'missing']]);
  });

  it('fails every waiting caller when the load fails, and keeps working afterwards', async () => {
    let fail = true;
    const loader = new GroupLoader<string, string>(
      async (keys) => {
        if (fail) {
          throw new Error('database down');
        }
        return new Map(keys.map((k) => [k, k]));
      },
      (k) => k,
    );
    await expect(loader.get('x')).rejects.toThrow('database down');
    fail = false;
    expect(await loader.get('y')).toBe('y');
  });
});
