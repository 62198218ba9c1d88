import { UsernameSchema } from '@sotto/shared-types';
import { SottoError, unregisteredError } from '../core/errors.js';
import type { Messenger } from '../core/messenger.js';
import type { ConversationSummary, MessageView } from '../core/messenger-types.js';
import { Profile } from '../core/profile.js';
import { formatSafetyNumber } from '../core/protocol/safety-number.js';
import { shownName } from '../core/sync/content-handler.js';
import { formatDuration } from '../ipc/duration.js';
import { readMessageInput, readSecretLine } from './input.js';
import { note, out, outJson, printable } from './output.js';

export interface GlobalOptions {
  profile?: string;
}

export function profileDir(options: GlobalOptions): string {
  const dir = options.profile ?? process.env.SOTTO_HOME;
  if (!dir) {
    throw new SottoError('invalid_argument', 'no profile folder: pass --profile DIR or set SOTTO_HOME');
  }
  return dir;
}

/** What to do about a profile that would not open, after its reason (unless the reason says it already). */
function withNextStep(error: unknown): unknown {
  if (
    !(SottoError.is(error, 'locked') || SottoError.is(error, 'wrong_key')) ||
    error.message.includes('sotto unlock')
  ) {
    return error;
  }
  const unlock = 'sotto unlock, then type the key shown at registration';
  const passphrase = SottoError.is(error, 'wrong_key') && process.env.SOTTO_DB_PASSPHRASE;
  const step = passphrase ? `check SOTTO_DB_PASSPHRASE, or ${unlock}` : unlock;
  return new SottoError(error.code, `${error.message} (${step})`);
}

async function withMessenger<T>(options: GlobalOptions, fn: (m: Messenger) => Promise<T>): Promise<T> {
  const messenger = await new Profile(profileDir(options)).openMessenger().catch((error: unknown) => {
    throw withNextStep(error);
  });
  messenger.on((event) => {
    if (event.type === 'conversation_updated') {
      known.set(event.conversation.id, event.conversation);
    }
  });
  try {
    return await fn(messenger);
  } finally {
    await messenger.close();
  }
}

function conversationFor(m: Messenger, name: string): ConversationSummary {
  const conversation = m.findConversation(name);
  if (!conversation) {
    throw new SottoError('not_found', `no conversation with ${name}`);
  }
  return conversation;
}

/** How long `receive` holds a stranger's first lines for the relay to confirm the username they claim. */
const CLAIM_WAIT_MS = 3000;

/** Conversations by id, as last read or announced (conversation_updated keeps them current: see withMessenger). */
const known = new Map<string, ConversationSummary>();

function conversationById(m: Messenger, id: string): ConversationSummary | undefined {
  let conversation = known.get(id);
  if (!conversation) {
    conversation = m.conversation(id);
    if (conversation) {
      known.set(id, conversation);
    }
  }
  return conversation;
}

function usernameOf(m: Messenger, message: MessageView): string {
  if (message.fromMe) {
    return m.profile().username;
  }
  const conversation = conversationById(m, message.conversationId);
  return conversation ? shownName(conversation) : message.authorAccountId;
}

function messageJson(m: Messenger, message: MessageView) {
  return {
    from: usernameOf(m, message),
    fromAccountId: message.authorAccountId,
    text: message.body,
    sentAt: message.sentAt,
    receivedAt: message.receivedAt,
    id: message.id,
    kind: message.kind,
    status: message.status,
  };
}

export async function register(
  options: GlobalOptions & { relay: string; username: string; invite?: string },
): Promise<void> {
  const profile = new Profile(profileDir(options));
  const { messenger, recoveryKey } = await profile.registerMessenger({
    relayUrl: options.relay,
    username: options.username,
    ...(options.invite ? { inviteCode: options.invite } : {}),
    deviceName: 'sotto cli',
  });
  const info = messenger.profile();
  await messenger.close();
  out(`registered ${info.username} (${info.accountId}) on ${info.relayUrl}`);
  out(`recovery key (shown once, keep it safe): ${recoveryKey}`);
}

export async function send(options: GlobalOptions, name: string, given: string | undefined): Promise<void> {
  // Read before the profile is opened: a person may take a while to type it.
  const text = given ?? (await readMessageInput());
  await withMessenger(options, async (m) => {
    const known = m.findConversation(name);
    let conversation: ConversationSummary;
    try {
      // A name only this profile uses (unverified-…, NAME-former-…) is not in the relay's directory.
      const localName = known !== undefined && !UsernameSchema.safeParse(known.username).success;
      // Otherwise asked of the relay each time: a name can pass to a new account once its owner deleted theirs.
      conversation = localName ? known : await m.startConversation(name);
    } catch (error) {
      const unanswered =
        SottoError.is(error, 'relay_unreachable') || (SottoError.is(error, 'relay_error') && error.status === 429);
      if (!(known && unanswered)) {
        throw error;
      }
      conversation = known; // offline, or too many lookups: sent to (or queued for) the account the name had
    }
    if (known && known.id !== conversation.id) {
      const former = m.listConversations().find((c) => c.id === known.id)?.username;
      note(
        `${name} is a new account now (the earlier one is gone); your history with the earlier one is under ${former}`,
      );
    }
    const message = await m.sendText(conversation.id, text);
    await m.flushOutgoing();
    const after = m.history(conversation.id, { limit: 200 }).messages.find((x) => x.id === message.id);
    if (after?.status === 'failed') {
      if (m.conversation(conversation.id)?.identityChanged) {
        throw new SottoError(
          'untrusted_identity',
          `not sent: the safety number with ${shownName(conversation)} changed since you verified it. Compare the new one (sotto safety-number ${name}), then send again`,
        );
      }
      throw new SottoError('relay_error', 'the relay refused the message');
    }
    if (after?.status === 'sending') {
      throw new SottoError(
        'relay_unreachable',
        'not sent yet (relay unreachable); it stays queued and is retried on the next run',
      );
    }
    out(message.id);
  });
}

const displaced = () =>
  new SottoError(
    'relay_unreachable',
    'another client of this profile (the app, or another sotto receive) holds its connection to the relay; close it and try again',
  );

function unreachable(m: Messenger, waitedMs: number, received: number): SottoError {
  const { relayUrl } = m.profile();
  if (m.connectionState() === 'elsewhere') {
    return displaced();
  }
  return new SottoError(
    'relay_unreachable',
    `could not reach the relay at ${relayUrl} for ${waitedMs / 1000} s; ` +
      `${received === 0 ? 'nothing was' : `only ${received} message(s)`} received. Check that it is running and try again`,
  );
}

/**
 * Resolves once the relay's queue is drained. Fails once the relay has been out of reach for `waitMs` in a
 * row: at the start, or after it went away part-way through a long queue.
 */
async function untilDrained(m: Messenger, since: number, waitMs: number, received: () => number): Promise<void> {
  let drained = false;
  const done = m.whenDrained().then(() => {
    drained = true;
  });
  let outOfReachSince: number | undefined = since;
  for (;;) {
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 200))]);
    if (drained) {
      return;
    }
    if (m.connectionState() === 'unregistered') {
      throw unregisteredError();
    }
    if (m.connectionState() === 'online') {
      outOfReachSince = undefined;
    } else if (outOfReachSince === undefined) {
      outOfReachSince = Date.now();
    } else if (Date.now() - outOfReachSince >= waitMs) {
      throw unreachable(m, waitMs, received());
    }
  }
}

export async function receive(
  options: GlobalOptions & { timeout: number; connectTimeout: number; json?: boolean; markRead?: boolean },
): Promise<void> {
  await withMessenger(options, async (m) => {
    let received = 0;
    /** Conversations with a message printed in this run. */
    const shown = new Set<string>();
    const print = (message: MessageView) => {
      shown.add(message.conversationId);
      const line = messageJson(m, message);
      if (options.json) {
        outJson(line);
      } else {
        out(`${printable(line.from)}: ${message.kind === 'text' ? printable(line.text) : `[${message.kind}]`}`);
      }
    };
    // A stranger's first message claims a username, which the relay's directory is asked to confirm (in
    // milliseconds, as a rule): lines wait for the answer, in order, for at most CLAIM_WAIT_MS, so the
    // sender printed is never only their word (a bot may act on it). Unanswered: printed as unverified-….
    const waiting: { message: MessageView; since: number }[] = [];
    const release = (all = false) => {
      for (let head = waiting[0]; head; head = waiting[0]) {
        const claimPending = conversationById(m, head.message.conversationId)?.claimPending;
        if (claimPending && !all && Date.now() - head.since < CLAIM_WAIT_MS) {
          return;
        }
        waiting.shift();
        print(head.message);
      }
    };
    m.on((event) => {
      if (event.type === 'message' && !event.message.fromMe) {
        received += 1;
        waiting.push({ message: event.message, since: Date.now() });
      }
      if (event.type === 'message' || event.type === 'conversation_updated') {
        release();
      }
    });
    const releaser = setInterval(release, 100);
    try {
      // On a terminal, say what a wait is for; a script gets only the one-line reason if it fails.
      const notice = process.stderr.isTTY
        ? setTimeout(() => note(`waiting for the relay at ${m.profile().relayUrl}…`), 2000)
        : undefined;
      try {
        const started = Date.now();
        // Fails at once if the relay no longer accepts this device.
        await m.connect({ timeoutMs: 1000 });
        await untilDrained(m, started, options.connectTimeout * 1000, () => received);
      } finally {
        clearTimeout(notice);
      }
      const quietMs = options.timeout * 1000;
      const deadline = Date.now() + quietMs + 10 * 60_000;
      while (Date.now() - m.lastActivity() < quietMs && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, quietMs)));
      }
      await m.flushOutgoing();
      if (m.connectionState() === 'elsewhere') {
        throw displaced(); // what arrived meanwhile went to the other client
      }
      if (m.connectionState() !== 'online') {
        throw new SottoError(
          'relay_unreachable',
          `lost the connection to the relay at ${m.profile().relayUrl}; what was received is kept, try again`,
        );
      }
      // Claims still being asked about get their answer, within the bound.
      while (waiting.length > 0 && Date.now() - (waiting[0]?.since ?? 0) < CLAIM_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (options.markRead) {
        release(true);
        // As opening the conversation in the app: disappearing timers start, and read receipts go out.
        for (const conversationId of shown) {
          await m.markRead(conversationId);
        }
        await m.flushOutgoing();
      }
    } finally {
      clearInterval(releaser);
      release(true); // what arrived is printed, also when the connection failed
    }
  });
}

export async function conversations(options: GlobalOptions & { json?: boolean }): Promise<void> {
  await withMessenger(options, async (m) => {
    for (const c of m.listConversations()) {
      if (options.json) {
        outJson(c);
      } else {
        const flags = [
          c.verified ? 'verified' : '',
          c.identityChanged ? 'SAFETY NUMBER CHANGED' : '',
          c.claimPending ? `says it is ${c.username}, not confirmed yet` : '',
        ]
          .filter(Boolean)
          .join(', ');
        const last = c.lastMessage;
        const preview = printable(
          !last ? '' : last.kind === 'text' ? last.preview : systemLine(last.kind, last.preview),
        );
        out(`${printable(shownName(c))}\t${c.unreadCount} unread\t${preview}${flags ? `\t(${printable(flags)})` : ''}`);
      }
    }
  });
}

export async function history(options: GlobalOptions & { limit: number; json?: boolean }, name: string): Promise<void> {
  await withMessenger(options, async (m) => {
    const conversation = conversationFor(m, name);
    const collected: MessageView[] = [];
    let before: string | undefined;
    for (let i = 0; i < 10_000 && collected.length < options.limit; i++) {
      const page = m.history(conversation.id, {
        limit: Math.min(500, options.limit - collected.length),
        ...(before ? { before } : {}),
      });
      collected.unshift(...page.messages);
      if (!page.nextCursor) {
        break;
      }
      before = page.nextCursor;
    }
    for (const message of collected) {
      if (options.json) {
        outJson(messageJson(m, message));
      } else {
        out(
          `${new Date(message.sentAt).toISOString()} ${printable(usernameOf(m, message))}: ${printable(describe(message))}`,
        );
      }
    }
  });
}

function describe(message: MessageView): string {
  if (message.kind !== 'text') {
    return systemLine(message.kind, message.body);
  }
  if (message.deleted) {
    return '[deleted]';
  }
  return message.fromMe && message.status === 'failed' ? `${message.body} [not sent]` : message.body;
}

/** A system line in history and as a conversation's last message (a timer change's body is its seconds). */
export function systemLine(kind: Exclude<MessageView['kind'], 'text'>, body: string): string {
  switch (kind) {
    case 'identity_change':
      return '[safety number changed]';
    case 'decryption_error':
      return '[a message could not be decrypted; the sender was asked to resend]';
    case 'timer_change': {
      const seconds = Number(body);
      return `[disappearing messages: ${seconds > 0 ? formatDuration(seconds, 'en') : 'off'}]`;
    }
  }
}

export async function search(options: GlobalOptions & { json?: boolean }, query: string): Promise<void> {
  await withMessenger(options, async (m) => {
    for (const hit of m.search(query)) {
      const found = conversationById(m, hit.message.conversationId);
      const conversation = found ? shownName(found) : hit.username;
      if (options.json) {
        outJson({ ...messageJson(m, hit.message), conversation, snippet: hit.snippet });
      } else {
        const marked = printable(hit.snippet.replaceAll('\u0002', '[').replaceAll('\u0003', ']'));
        out(`${printable(conversation)}\t${marked}`);
      }
    }
  });
}

export async function safetyNumber(options: GlobalOptions, name: string): Promise<void> {
  await withMessenger(options, async (m) => {
    const number = await m.safetyNumber(conversationFor(m, name).id);
    out(formatSafetyNumber(number.displayString));
    out(`scannable: ${number.scannable}`);
    out(number.verified ? 'verified' : 'not verified');
  });
}

/**
 * Marks NAME verified. With `--safety-number` (as compared, spaces allowed) it must be the current number;
 * without, the current number is verified and printed, so the user sees what they vouched for.
 */
export async function verify(options: GlobalOptions & { safetyNumber?: string }, name: string): Promise<void> {
  await withMessenger(options, async (m) => {
    const conversation = conversationFor(m, name);
    const compared = options.safetyNumber ?? (await m.safetyNumber(conversation.id)).displayString;
    await m.markVerified(conversation.id, true, compared);
    out(`${printable(conversation.username)} marked verified, safety number:`);
    out(formatSafetyNumber(compared.replace(/\s/g, '')));
  });
}

export async function unlock(options: GlobalOptions & { recoveryKey?: string }): Promise<void> {
  // Given as an option, the key is in the process list and the shell's history: asked for, it is in neither.
  const recoveryKey = options.recoveryKey ?? (await readSecretLine('recovery key: '));
  const messenger = await new Profile(profileDir(options)).unlockMessenger(recoveryKey);
  await messenger.close();
  out('unlocked: the database key is back in the keychain');
}
