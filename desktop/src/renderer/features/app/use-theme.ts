import { useEffect } from 'react';
import type { Theme } from '../../../ipc/contract.js';

/** Applies the theme override to <html data-theme>; `system` follows prefers-color-scheme in CSS. */
export function useTheme(theme: Theme): void {
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
}
