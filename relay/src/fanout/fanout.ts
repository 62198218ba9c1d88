import type { Envelope } from '@sotto/shared-types';
import type { QueuedEnvelope } from '../store/messages.js';

export interface DeviceAddress {
  accountId: string;
  deviceId: number;
}

/**
 * What travels through the fan-out. It is a doorbell: `mail` says "read your queue from Postgres". It may
 * also carry a copy of the committed envelope (`queued`), so a socket that is caught up sends it at once
 * instead of reading its queue back; the copy is only a shortcut, the queue in Postgres stays the truth
 * (a lost doorbell or copy delays nothing beyond the next read). `ephemeral` carries an `online` envelope
 * that is never stored; `takeover` and `revoke` close sockets.
 */
export type FanoutEvent =
  | { kind: 'mail'; queued?: QueuedEnvelope }
  | { kind: 'ephemeral'; envelope: Envelope }
  /**
   * A socket of the device connected at `at` (wall-clock ms, with a fraction): any older one closes. Ordered
   * by (at, connectionId), so of two sockets connecting at once on two instances exactly one stays. Without
   * `at` (an instance of an older version): every other one closes.
   */
  | { kind: 'takeover'; connectionId: string; at?: number }
  | { kind: 'revoke'; familyId?: string };

export type FanoutHandler = (event: FanoutEvent) => void;

/**
 * Taken when a send starts (before its INSERT): the point in the fan-out's order after which the send's
 * copies for devices on this instance may be delivered. Opaque to callers.
 */
export interface OrderPoint {
  /** Settles once the point is recorded in the shared order (a send answers only after that). */
  readonly recorded: Promise<void>;
  /**
   * Calls `then(true)` once every doorbell published before the point has reached this instance, or
   * `then(false)` once that is unknown. Called while the fan-out handles the message that passes the point,
   * before any message that came after it (in the same read from Redis, say); if the point is already passed,
   * in a microtask (a publisher never runs subscriber code inline).
   */
  whenPassed(then: (passed: boolean) => void): void;
}

/** One interface, two implementations: Redis pub/sub (production) and in-process (embedded default). */
export interface Fanout {
  /**
   * Delivers to every subscriber of the device on every instance. Never throws (a lost doorbell is covered by
   * polling). A `mail` doorbell for a device connected to this instance stays here: the device has one live
   * socket, and a socket that closes with mail unacked rings the other instances itself (see DeviceSession).
   * Such local mail carries its copy only when given the send's `order` point (see `orderPoint`).
   */
  publish(to: DeviceAddress, event: FanoutEvent, order?: OrderPoint): Promise<void>;
  /** Call when a send starts; pass the point to `publish` for its committed envelopes. Undefined: no copies here. */
  orderPoint(): OrderPoint | undefined;
  /** Tells every instance, this one included, that an account's device list changed (cached lists are dropped). */
  announceDevicesChanged(accountId: string): Promise<void>;
  /** Registers the listener for device-list changes (one per instance: the device list cache). */
  onDevicesChanged(handler: DevicesChangedHandler): void;
  /** A point in this instance's sequence of events: a socket stamps each queue read. */
  stamp(): number;
  /**
   * True when a doorbell's copy of an envelope may be sent to the device at once: no earlier doorbell for it
   * can have been lost since its queue read stamped `readStamp` (else the copy could overtake that mail).
   */
  trustsCopies(to: DeviceAddress, readStamp: number): boolean;
  /** Subscribes a local handler; returns the unsubscribe function. */
  subscribe(to: DeviceAddress, handler: FanoutHandler): () => void;
  /** Rings only the handlers in this process (the fallback doorbell uses it). */
  deliverLocal(to: DeviceAddress, event: FanoutEvent): void;
  /** Every device with a local subscriber. */
  localDevices(): DeviceAddress[];
  /** False while cross-instance delivery is known to be broken (Redis down). */
  healthy(): boolean;
  /** While unhealthy, the backing service's last error, for the log ("connect ECONNREFUSED 10.0.0.5:6379"). */
  problem(): string | undefined;
  /** Round trip to the backing service, for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const deviceKey = (a: DeviceAddress) => `${a.accountId}:${a.deviceId}`;

/** Largest envelope (base64 characters) whose copy rides along with a doorbell to other instances. */
export const MAX_COPIED_CONTENT = 8192;

/** The event as other instances receive it: big envelopes are left to be read from the queue. */
export const forOtherInstances = (event: FanoutEvent): FanoutEvent =>
  event.kind === 'mail' && event.queued && event.queued.envelope.content.length > MAX_COPIED_CONTENT
    ? { kind: 'mail' }
    : event;

/** Told which account's device list changed; undefined means "any may have" (after a fan-out outage). */
export type DevicesChangedHandler = (accountId: string | undefined) => void;

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

  has(to: DeviceAddress): boolean {
    return this.handlers.has(deviceKey(to));
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
