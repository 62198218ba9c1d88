import type { Envelope } from '@sotto/shared-types';

export interface DeviceAddress {
  accountId: string;
  deviceId: number;
}

/**
 * What travels through the fan-out. It is only a doorbell: `mail` says "read your queue from Postgres".
 * `ephemeral` carries an `online` envelope that is never stored; `takeover` and `revoke` close sockets.
 */
export type FanoutEvent =
  | { kind: 'mail' }
  | { kind: 'ephemeral'; envelope: Envelope }
  | { kind: 'takeover'; connectionId: string }
  | { kind: 'revoke'; familyId?: string };

export type FanoutHandler = (event: FanoutEvent) => void;

/** One interface, two implementations: Redis pub/sub (production) and in-process (embedded default). */
export interface Fanout {
  /** Delivers to every subscriber of the device on every instance. Never throws (a lost doorbell is covered by polling). */
  publish(to: DeviceAddress, event: FanoutEvent): Promise<void>;
  /** Subscribes a local handler; returns the unsubscribe function. */
  subscribe(to: DeviceAddress, handler: FanoutHandler): () => void;
  /** Rings only the handlers in this process (the fallback doorbell uses it). */
  deliverLocal(to: DeviceAddress, event: FanoutEvent): void;
  /** Every device with a local subscriber. */
  localDevices(): DeviceAddress[];
  /** False while cross-instance delivery is known to be broken (Redis down). */
  healthy(): boolean;
  /** Round trip to the backing service, for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const deviceKey = (a: DeviceAddress) => `${a.accountId}:${a.deviceId}`;

/** Local subscriber table shared by both implementations. */
export class LocalHub {
  private readonly handlers = new Map<string, { address: DeviceAddress; handlers: Set<FanoutHandler> }>();

  /** Returns true when this is the first handler for the device. */
  add(to: DeviceAddress, handler: FanoutHandler): boolean {
    const key = deviceKey(to);
    const entry = this.handlers.get(key);
    if (entry) {
      entry.handlers.add(handler);
      return false;
    }
    this.handlers.set(key, { address: { ...to }, handlers: new Set([handler]) });
    return true;
  }

  /** Returns true when the device has no handler left. */
  remove(to: DeviceAddress, handler: FanoutHandler): boolean {
    const key = deviceKey(to);
    const entry = this.handlers.get(key);
    if (!entry) {
      return false;
    }
    entry.handlers.delete(handler);
    if (entry.handlers.size === 0) {
      this.handlers.delete(key);
      return true;
    }
    return false;
  }

  deliver(to: DeviceAddress, event: FanoutEvent): void {
    const entry = this.handlers.get(deviceKey(to));
    if (!entry) {
      return;
    }
    for (const handler of [...entry.handlers]) {
      handler(event);
    }
  }

  devices(): DeviceAddress[] {
    return [...this.handlers.values()].map((e) => e.address);
  }
}
