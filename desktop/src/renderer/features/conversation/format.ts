const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

export function formatTime(at: number): string {
  return time.format(at);
}

export function formatDay(at: number): string {
  return day.format(at);
}

export function sameDay(a: number, b: number): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
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
