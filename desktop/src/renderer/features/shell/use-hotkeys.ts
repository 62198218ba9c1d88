import { useEffect } from 'react';

/** App shortcuts inside the page (Electron's menu accelerators send the same commands). */
export function useHotkeys(bindings: Record<string, () => void>): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = `${mod ? 'Mod+' : ''}${event.key.length === 1 ? event.key.toLowerCase() : event.key}`;
      const action = bindings[key];
      if (action) {
        event.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [bindings]);
}
