import { useEffect, useState } from 'react';
import type { ConnectionState } from '../../../ipc/view-models.js';
import { call, subscribe } from '../../api/client.js';

export function useConnectionState(): ConnectionState {
  const [state, setState] = useState<ConnectionState>('connecting');
  useEffect(() => {
    let live = false;
    const unsubscribe = subscribe('messenger:event', (event) => {
      if (event.type === 'connection') {
        live = true;
        setState(event.state);
      }
    });
    void (async () => {
      const initial = await call('connection:state');
      if (!live) {
        setState(initial);
      }
    })();
    return unsubscribe;
  }, []);
  return state;
}
