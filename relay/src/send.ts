import type { SendMessagesRequest, SendMessagesResponse } from '@sotto/shared-types';
import type { AuthInfo, Services } from './context.js';
import { isForeignKeyViolation, RelayError } from './errors.js';
import { newGuid } from './guid.js';
import type { SendBudget } from './rate-limits.js';
import { findAccountById } from './store/accounts.js';
import type { DeviceRow } from './store/devices.js';
import { type NewEnvelope, toEnvelope } from './store/messages.js';

/** The key of a device's send limit. */
export const sendLimitKey = (auth: AuthInfo) => `${auth.accountId}:${auth.deviceId}`;

/**
 * Longest a send waits for Postgres and Redis before it is answered anyway: 200 if its envelopes are committed
 * (or, `online`, handed over) and only their doorbells are still on their way, else 503 with Retry-After.
 * Neither client has a timeout of its own: a connection that stays open but stops answering (a stalled
 * network, a Redis command held across a reconnect) would leave the send, and a socket's frames behind it,
 * waiting for ever. Well above the barrier's give-up time (fanout's BARRIER_TIMEOUT_MS), so by the deadline a
 * committed send's local copy has gone out as a bare doorbell and cannot overtake a later send.
 */
export const SEND_DEADLINE_MS = 10_000;
/** Seconds a send answered 503 at its deadline is told to wait. */
const DEADLINE_RETRY_AFTER_SECONDS = 5;

export interface AcceptSendOptions {
  /** A socket's prepaid send limit; without it the send takes its point from Redis. */
  budget?: SendBudget | undefined;
  /** See SEND_DEADLINE_MS. */
  deadlineMs?: number | undefined;
}

/**
 * One send, however it arrived (`PUT /v1/messages/:accountId` or a socket's `send` frame): checks the
 * sender's view of the destination's devices (409 missing/extra, 410 re-registered), commits one envelope
 * per device in Postgres (group commit with concurrent sends), then rings each device's doorbell. Answers
 * only after the commit; throws a RelayError otherwise, having changed nothing, except at the deadline
 * (see SEND_DEADLINE_MS), when a 503 may come for envelopes that commit after all.
 */
export async function acceptSend(
  services: Services,
  auth: AuthInfo,
  destination: string,
  body: SendMessagesRequest,
  { budget, deadlineMs = SEND_DEADLINE_MS }: AcceptSendOptions = {},
): Promise<SendMessagesResponse> {
  let accepted: SendMessagesResponse | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SendMessagesResponse>((resolve, reject) => {
    timer = setTimeout(() => {
      if (accepted) {
        resolve(accepted);
        return;
      }
      reject(
        new RelayError({
          code: 'unavailable',
          message: `a backing service did not answer within ${deadlineMs} ms`,
          headers: { 'Retry-After': String(DEADLINE_RETRY_AFTER_SECONDS) },
        }),
      );
    }, deadlineMs);
    timer.unref();
  });
  try {
    // The race handles a late failure of the send itself (its work goes on; nobody waits for it).
    return await Promise.race([
      accept(services, auth, destination, body, budget, (response) => {
        accepted = response;
      }),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function accept(
  services: Services,
  auth: AuthInfo,
  destination: string,
  body: SendMessagesRequest,
  budget: SendBudget | undefined,
  /** Called once nothing but the doorbells is left to do. */
  onAccepted: (response: SendMessagesResponse) => void,
): Promise<SendMessagesResponse> {
  const { clock, env, limits, writer, fanout, metrics, lookups } = services;
  // Taken first: its barrier travels to Redis with the rate-limit call and is back while the INSERT runs.
  const order = fanout.orderPoint();
  await (budget ? budget.take() : limits.consume('send', sendLimitKey(auth)));

  const seen = new Set<number>();
  body.messages.forEach((m, i) => {
    if (seen.has(m.destinationDeviceId)) {
      throw new RelayError({
        code: 'bad_request',
        message: 'one message per destination device',
        extra: { fields: [`messages.${i}.destinationDeviceId`] },
      });
    }
    seen.add(m.destinationDeviceId);
  });

  await checkDevices(services, auth, destination, body, await lookups.listDevices(destination));

  const now = clock.now();
  const envelopes: NewEnvelope[] = body.messages.map((m) => {
    const sealed = m.type === 'sealed';
    return {
      guid: newGuid(),
      accountId: destination,
      deviceId: m.destinationDeviceId,
      type: m.type,
      sourceAccountId: sealed ? null : auth.accountId,
      sourceDeviceId: sealed ? null : auth.deviceId,
      clientTimestamp: body.timestamp,
      serverTimestamp: now,
      expiresAt: now + env.ENVELOPE_TTL_SECONDS * 1000,
      content: m.content,
    };
  });

  const response: SendMessagesResponse = {
    messages: envelopes.map((e) => ({ destinationDeviceId: e.deviceId, guid: e.guid, serverTimestamp: now })),
  };
  if (body.online) {
    onAccepted(response);
    // Ephemeral: handed to whichever devices are connected and reading right now, never queued (a socket
    // with too much unread drops it: see MAX_EPHEMERAL_BACKLOG_BYTES).
    await Promise.all(
      envelopes.map((e) =>
        fanout.publish(
          { accountId: e.accountId, deviceId: e.deviceId },
          { kind: 'ephemeral', envelope: toEnvelope({ ...e, destinationDeviceId: e.deviceId }) },
        ),
      ),
    );
  } else {
    let ids: number[];
    try {
      ids = await writer.write(envelopes);
    } catch (err) {
      if (!isForeignKeyViolation(err)) {
        throw err;
      }
      // A destination device (or the account) was removed after its list was read: a cached list may lag
      // behind a change not yet announced. Answer what the list says now (409, 410 or 404).
      lookups.forgetDevices(destination);
      await checkDevices(services, auth, destination, body, await lookups.listDevices(destination));
      // The list agrees again (the device was re-added meanwhile): one more try.
      ids = await writer.write(envelopes);
    }
    metrics.messagesAccepted.inc(envelopes.length);
    onAccepted(response);
    await Promise.all(
      envelopes.map((e, i) =>
        fanout.publish(
          { accountId: e.accountId, deviceId: e.deviceId },
          // A socket on this instance may send the committed envelope at once instead of reading its queue.
          {
            kind: 'mail',
            queued: { id: ids[i] as number, envelope: toEnvelope({ ...e, destinationDeviceId: e.deviceId }) },
          },
          order,
        ),
      ),
    );
  }
  return response;
}

/**
 * Checks the sender's view of the destination's devices against `devices` (the account's list): throws 404
 * for an account that does not exist, 409 stale_devices with the missing and extra devices, 410
 * stale_registration with the re-registered ones.
 */
async function checkDevices(
  services: Services,
  auth: AuthInfo,
  destination: string,
  body: SendMessagesRequest,
  devices: readonly DeviceRow[],
): Promise<void> {
  // Every account has devices, except one whose last device was removed: only then ask whether it exists.
  if (devices.length === 0 && !(await findAccountById(services.sql, destination))) {
    throw new RelayError({ code: 'not_found', message: 'no such account' });
  }
  const toSelf = destination === auth.accountId;
  // Sending to one's own account means "my other devices": the sending device is never a destination.
  const expected = new Map(
    devices.filter((d) => !(toSelf && d.deviceId === auth.deviceId)).map((d) => [d.deviceId, d.registrationId]),
  );
  const seen = new Set(body.messages.map((m) => m.destinationDeviceId));
  const missingDevices = [...expected.keys()].filter((id) => !seen.has(id));
  const extraDevices = [...seen].filter((id) => !expected.has(id)).sort((a, b) => a - b);
  if (missingDevices.length > 0 || extraDevices.length > 0) {
    throw new RelayError({
      code: 'stale_devices',
      message: 'the destination device list changed',
      extra: { missingDevices, extraDevices },
    });
  }
  const staleDevices = body.messages
    .filter((m) => expected.get(m.destinationDeviceId) !== m.destinationRegistrationId)
    .map((m) => m.destinationDeviceId);
  if (staleDevices.length > 0) {
    throw new RelayError({
      code: 'stale_registration',
      message: 'some destination devices were re-registered',
      extra: { staleDevices },
    });
  }
}
