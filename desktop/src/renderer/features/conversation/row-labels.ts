import type { TFunction } from 'i18next';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDuration } from '../../../ipc/duration.js';
import type { MessageView } from '../../../ipc/view-models.js';

/**
 * Every string a timeline row shows, translated once per conversation view instead of once per
 * row: rows mount by the dozen each frame while scrolling, and `t()` plus a `useTranslation`
 * subscription per row would cost more than the rest of the row.
 */
export interface RowLabels {
  you: string;
  peerName: string;
  deleted: string;
  /** A reply quotes a message this device does not have (or not as quoted). */
  quoteNotFound: string;
  edited: string;
  disappearing: string;
  reactions: string;
  actions: string;
  react: string;
  reply: string;
  edit: string;
  delete: string;
  confirmDelete: string;
  cancel: string;
  /** Under a message of ours that failed to send. */
  notSent: string;
  resend: string;
  pickReaction: string;
  identityChange: string;
  decryptionError: string;
  /** A timer change whose body is not a number of seconds (not expected; kept as a fallback). */
  timerChange: string;
  /** "alice set disappearing messages to 1 hour." / "You turned off disappearing messages." */
  timerSet: (fromMe: boolean, seconds: number) => string;
  status: Record<MessageView['status'], string>;
  /** "Message from {author} at {time}" (cached per author and time). */
  message: (author: string, time: string) => string;
  reactionCount: (emoji: string, count: number) => string;
  reactWith: (emoji: string) => string;
}

function memoized<K>(build: (key: K) => string): (key: K) => string {
  const cache = new Map<K, string>();
  return (key) => {
    let text = cache.get(key);
    if (text === undefined) {
      if (cache.size > 4096) {
        cache.clear();
      }
      text = build(key);
      cache.set(key, text);
    }
    return text;
  };
}

export function rowLabels(t: TFunction, peerName: string, language: string): RowLabels {
  const message = memoized((key: string) => {
    const [author, time] = key.split('\u0000');
    return t('message.label', { author, time });
  });
  const reactionCount = memoized((key: string) => {
    const [emoji, count] = key.split('\u0000');
    return t('message.reactionLabel', { emoji, count: Number(count) });
  });
  const timerSet = memoized((key: string) => {
    const [by, seconds] = key.split('\u0000');
    const fromMe = by === 'me';
    if (Number(seconds) === 0) {
      return fromMe ? t('message.timerOffByYou') : t('message.timerOff', { name: peerName });
    }
    const duration = formatDuration(Number(seconds), language);
    return fromMe ? t('message.timerSetByYou', { duration }) : t('message.timerSet', { name: peerName, duration });
  });
  return {
    you: t('message.you'),
    peerName,
    deleted: t('message.deleted'),
    quoteNotFound: t('message.quoteNotFound'),
    edited: t('message.edited'),
    disappearing: t('message.disappearing'),
    reactions: t('message.reactions'),
    actions: t('message.actions'),
    react: t('message.react'),
    reply: t('message.reply'),
    edit: t('message.edit'),
    delete: t('message.delete'),
    confirmDelete: t('message.confirmDelete'),
    cancel: t('common.cancel'),
    notSent: t('message.notSent'),
    resend: t('message.resend'),
    pickReaction: t('message.pickReaction'),
    identityChange: t('message.identityChange', { name: peerName }),
    decryptionError: t('message.decryptionError', { name: peerName }),
    timerChange: t('message.timerChange'),
    timerSet: (fromMe, seconds) => timerSet(`${fromMe ? 'me' : 'peer'}\u0000${seconds}`),
    status: {
      sending: t('message.status.sending'),
      sent: t('message.status.sent'),
      delivered: t('message.status.delivered'),
      read: t('message.status.read'),
      failed: t('message.status.failed'),
    },
    message: (author, time) => message(`${author}\u0000${time}`),
    reactionCount: (emoji, count) => reactionCount(`${emoji}\u0000${count}`),
    reactWith: memoized((emoji: string) => t('message.reactWith', { emoji })),
  };
}

/**
 * What a system line says (a safety-number change, a message that could not be decrypted, a timer change),
 * in the timeline and as a conversation's preview. A timer change's body is the new timer in whole seconds
 * ("3600"; "0" is off).
 */
export function systemText(
  message: { kind: MessageView['kind']; body: string; fromMe: boolean },
  labels: Pick<RowLabels, 'identityChange' | 'decryptionError' | 'timerChange' | 'timerSet'>,
): string {
  switch (message.kind) {
    case 'identity_change':
      return labels.identityChange;
    case 'decryption_error':
      return labels.decryptionError;
    case 'timer_change':
      return /^\d+$/.test(message.body) ? labels.timerSet(message.fromMe, Number(message.body)) : labels.timerChange;
    case 'text':
      return message.body;
    default:
      throw new Error(`unhandled message kind ${String(message.kind satisfies never)}`);
  }
}

/** The row labels for one conversation, rebuilt when the language or the peer's name changes. */
export function useRowLabels(peerName: string): RowLabels {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => rowLabels(t, peerName, language), [t, language, peerName]);
}
