import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type Settings, SettingsSchema } from '../ipc/contract.js';

export const DEFAULT_SETTINGS: Settings = { theme: 'system', notifications: true, hideNotificationContent: false };

/** Non-secret preferences in a small JSON file (never keys or message content). */
export class SettingsStore {
  private value: Settings;
  private readonly listeners = new Set<(settings: Settings) => void>();

  constructor(private readonly path: string | null) {
    this.value = path ? SettingsStore.read(path) : { ...DEFAULT_SETTINGS };
  }

  private static read(path: string): Settings {
    try {
      const parsed = SettingsSchema.partial().safeParse(JSON.parse(readFileSync(path, 'utf8')));
      return { ...DEFAULT_SETTINGS, ...(parsed.success ? parsed.data : {}) };
    } catch {
      return { ...DEFAULT_SETTINGS };
    }
  }

  get(): Settings {
    return { ...this.value };
  }

  update(patch: Partial<Settings>): Settings {
    this.value = SettingsSchema.parse({ ...this.value, ...patch });
    if (this.path) {
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.value), { mode: 0o600 });
      renameSync(`${this.path}.tmp`, this.path);
    }
    for (const listener of this.listeners) {
      listener(this.get());
    }
    return this.get();
  }

  onChange(listener: (settings: Settings) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
