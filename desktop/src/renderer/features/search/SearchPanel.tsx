import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SearchHit } from '../../../ipc/view-models.js';
import { call, errorMessage } from '../../api/client.js';
import { formatDay, formatTime, splitSnippet } from '../conversation/format.js';

const DEBOUNCE_MS = 200;

/** Search across all messages; picking a hit jumps to it in its conversation's history. */
export function SearchPanel({ onOpenHit }: { onOpenHit: (hit: SearchHit) => void }) {
  const { t } = useTranslation();
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setHits(null);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      void (async () => {
        try {
          const result = await call('search:query', { query: q, limit: 50 });
          if (!cancelled) {
            setHits(result);
            setError(null);
          }
        } catch (err) {
          if (!cancelled) {
            setError(errorMessage(err));
          }
        }
      })();
    }, DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [query]);

  return (
    <section className="panel search" aria-labelledby="search-title">
      <h2 id="search-title">{t('search.title')}</h2>
      <input
        ref={input}
        type="search"
        value={query}
        aria-label={t('search.label')}
        placeholder={t('search.placeholder')}
        onChange={(e) => setQuery(e.target.value)}
      />
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p role="status" className="hint">
        {hits ? t('search.count', { count: hits.length }) : ''}
      </p>
      {hits && hits.length > 0 && (
        <ul className="search-results">
          {hits.map((hit) => (
            <li key={hit.message.id}>
              <button type="button" className="search-hit" onClick={() => onOpenHit(hit)}>
                <span className="search-hit-top">
                  <span className="name">{hit.username}</span>
                  <time>
                    {formatDay(hit.message.sentAt)} {formatTime(hit.message.sentAt)}
                  </time>
                </span>
                <span className="snippet">
                  {splitSnippet(hit.snippet).map((part, index) =>
                    part.hit ? (
                      // biome-ignore lint/suspicious/noArrayIndexKey: positional parts of one snippet
                      <mark key={index}>{part.text}</mark>
                    ) : (
                      // biome-ignore lint/suspicious/noArrayIndexKey: positional parts of one snippet
                      <span key={index}>{part.text}</span>
                    ),
                  )}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
