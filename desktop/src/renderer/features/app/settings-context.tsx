import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { Settings } from '../../../ipc/contract.js';
import { call } from '../../api/client.js';
import { useTheme } from './use-theme.js';

interface SettingsContextValue {
  settings: Settings;
  update: (patch: Partial<Settings>) => Promise<void>;
}

const defaults: Settings = { theme: 'system', notifications: true, hideNotificationContent: false };
const SettingsContext = createContext<SettingsContextValue>({ settings: defaults, update: async () => {} });

export function SettingsProvider({ children }: { children: ReactNode }) {
  const [settings, setSettings] = useState<Settings>(defaults);
  useEffect(() => {
    void (async () => setSettings(await call('settings:get')))();
  }, []);
  useTheme(settings.theme);
  const update = useCallback(async (patch: Partial<Settings>) => {
    // Optimistic: controlled inputs reflect the choice at once; main's answer is the truth.
    setSettings((current) => ({ ...current, ...patch }));
    setSettings(await call('settings:set', patch));
  }, []);
  const value = useMemo(() => ({ settings, update }), [settings, update]);
  return <SettingsContext.Provider value={value}>{children}</SettingsContext.Provider>;
}

export function useSettings(): SettingsContextValue {
  return useContext(SettingsContext);
}
