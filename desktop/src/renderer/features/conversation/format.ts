const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

const MINUTE = 60_000;
const CACHE_LIMIT = 4096;
const times = new Map<number, string>();
const days = new Map<number, string>();

/** Memoizes `format` per key; the cache is simply dropped when it grows past `CACHE_LIMIT`. */
function cached(cache: Map<number, string>, key: number, format: () => string): string {
  let text = cache.get(key);
  if (text === undefined) {
    if (cache.size >= CACHE_LIMIT) {
      cache.clear();
    }
    text = format();
    cache.set(key, text);
  }
  return text;
}

/** Local calendar day of a timestamp as one comparable number (yyyymmdd). */
export function dayKey(at: number): number {
  const date = new Date(at);
  return date.getFullYear() * 10_000 + (date.getMonth() + 1) * 100 + date.getDate();
}

/** Hours and minutes; timelines repeat the same minutes, so formatted text is cached per minute. */
export function formatTime(at: number): string {
  return cached(times, Math.floor(at / MINUTE), () => time.format(at));
}

export function formatDay(at: number): string {
  return cached(days, dayKey(at), () => day.format(at));
}

export function sameDay(a: number, b: number): boolean {
  return dayKey(a) === dayKey(b);
}

/** Splits text into plain and http(s) link parts (rendered as elements, never as HTML). */
export function splitLinks(text: string): Array<{ text: string; href?: string }> {
  const parts: Array<{ text: string; href?: string }> = [];
  const pattern = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (index > last) {
      parts.push({ text: text.slice(last, index) });
    }
    parts.push({ text: match[0], href: match[0] });
    last = index + match[0].length;
  }
  if (last < text.length) {
    parts.push({ text: text.slice(last) });
  }
  return parts;
}

/** Splits a search snippet marked with \u0002 … \u0003 into plain and highlighted parts. */
export function splitSnippet(snippet: string): Array<{ text: string; hit: boolean }> {
  const parts: Array<{ text: string; hit: boolean }> = [];
  let hit = false;
  let current = '';
  for (const char of snippet) {
    if (char === '\u0002' || char === '\u0003') {
      if (current) {
        parts.push({ text: current, hit });
      }
      current = '';
      hit = char === '\u0002';
    } else {
      current += char;
    }
  }
  if (current) {
    parts.push({ text: current, hit });
  }
  return parts;
}
