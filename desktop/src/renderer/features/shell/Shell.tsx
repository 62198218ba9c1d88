import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationSummary, ProfileInfo, SearchHit } from '../../../ipc/view-models.js';
import { call, errorMessage, subscribe } from '../../api/client.js';
import { ConnectionBanner } from '../conversation/Banners.js';
import { ConversationView } from '../conversation/ConversationView.js';
import { ConversationList } from '../conversations/ConversationList.js';
import { NewConversation } from '../conversations/NewConversation.js';
import { useConversations } from '../conversations/use-conversations.js';
import { SafetyNumberPanel } from '../safety/SafetyNumberPanel.js';
import { SearchPanel } from '../search/SearchPanel.js';
import { SettingsPanel } from '../settings/SettingsPanel.js';
import { PlusIcon, SearchIcon, SettingsIcon } from './icons.js';
import { useConnectionState } from './use-connection.js';
import { useHotkeys } from './use-hotkeys.js';

type Panel = 'conversation' | 'search' | 'settings' | 'safety';

/** The signed-in layout: conversation list on the left, the chosen panel on the right. */
export function Shell({ profile, onSignedOut }: { profile: ProfileInfo; onSignedOut: () => void }) {
  const { t } = useTranslation();
  const { conversations, upsert } = useConversations();
  const connection = useConnectionState();
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel>('conversation');
  const [composing, setComposing] = useState(false);
  const [jump, setJump] = useState<{ messageId: string; nonce: number } | null>(null);
  /** Why a link's conversation could not be started (an unknown username, the relay unreachable). */
  const [openError, setOpenError] = useState<string | null>(null);

  const selected = conversations.find((c) => c.id === selectedId) ?? null;

  const open = useCallback((id: string) => {
    setOpenError(null);
    setSelectedId(id);
    setPanel('conversation');
    setJump(null);
  }, []);

  const started = useCallback(
    (conversation: ConversationSummary) => {
      upsert(conversation);
      setComposing(false);
      open(conversation.id);
    },
    [upsert, open],
  );

  const openHit = useCallback((hit: SearchHit) => {
    setSelectedId(hit.message.conversationId);
    setPanel('conversation');
    setJump({ messageId: hit.message.id, nonce: Date.now() });
  }, []);

  useEffect(() => {
    const offCommand = subscribe('app:command', (command) => {
      if (command === 'new-conversation') {
        setComposing(true);
      } else {
        setPanel(command);
      }
    });
    // Main keeps a link's or a notification's request until it is taken here: when main rings, and on
    // mount for one made before the shell was there (a cold start, the unlock screen, a reload).
    const takeOpenRequest = async () => {
      const target = await call('app:take-open-request').catch(() => null);
      if (!target) {
        return;
      }
      if ('conversationId' in target) {
        open(target.conversationId);
        return;
      }
      try {
        started(await call('conversations:start', { username: target.username }));
      } catch (err) {
        setOpenError(t('shell.openFailed', { name: target.username, reason: errorMessage(err) }));
      }
    };
    const offOpen = subscribe('app:open-conversation', () => void takeOpenRequest());
    void takeOpenRequest();
    return () => {
      offCommand();
      offOpen();
    };
  }, [open, started, t]);

  const hotkeys = useMemo(
    () => ({
      'Mod+n': () => setComposing(true),
      'Mod+f': () => setPanel('search'),
      'Mod+,': () => setPanel('settings'),
      Escape: () => setPanel((p) => (p === 'conversation' ? p : 'conversation')),
    }),
    [],
  );
  useHotkeys(hotkeys);

  return (
    <div className="shell">
      <nav className="sidebar" aria-label={t('shell.sidebar')}>
        <header className="sidebar-header">
          <span className="me" title={profile.username}>
            {profile.username}
          </span>
          <div className="row">
            <button type="button" onClick={() => setComposing(true)} aria-label={t('shell.newConversation')}>
              <PlusIcon />
            </button>
            <button
              type="button"
              onClick={() => setPanel('search')}
              aria-label={t('shell.search')}
              aria-pressed={panel === 'search'}
            >
              <SearchIcon />
            </button>
            <button
              type="button"
              onClick={() => setPanel('settings')}
              aria-label={t('shell.settings')}
              aria-pressed={panel === 'settings'}
            >
              <SettingsIcon />
            </button>
          </div>
        </header>
        {composing && <NewConversation onStarted={started} onCancel={() => setComposing(false)} />}
        <ConversationList conversations={conversations} selectedId={selectedId} onSelect={open} />
      </nav>
      <main className="content">
        <ConnectionBanner state={connection} />
        {openError && (
          <div className="banner warning" role="alert">
            <span>{openError}</span>
            <button type="button" onClick={() => setOpenError(null)}>
              {t('shell.dismiss')}
            </button>
          </div>
        )}
        {panel === 'search' && <SearchPanel onOpenHit={openHit} />}
        {panel === 'settings' && <SettingsPanel profile={profile} onSignedOut={onSignedOut} />}
        {panel === 'safety' && selected && (
          <SafetyNumberPanel conversation={selected} onBack={() => setPanel('conversation')} />
        )}
        {panel === 'conversation' &&
          (selected ? (
            <ConversationView
              key={selected.id}
              conversation={selected}
              profile={profile}
              jump={jump}
              onShowSafety={() => setPanel('safety')}
            />
          ) : (
            <div className="centered muted">
              <h2 className="visually-hidden">{t('shell.welcomeTitle')}</h2>
              <p>{t('shell.pickConversation')}</p>
            </div>
          ))}
      </main>
    </div>
  );
}
