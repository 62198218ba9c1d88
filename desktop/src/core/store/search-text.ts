import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';

/**
 * What SQLite's unicode61 tokenizer cannot find, and how the full-text index holds it instead.
 * - Scripts written without spaces between words: Chinese, Japanese (kanji, hiragana, katakana) and Korean
 *   (whose particles join the word: 서울에서, "in Seoul"). unicode61 splits at spaces and punctuation only, so
 *   a whole sentence became one token and a word of it (北京 in 我们明天去北京吃饭) was never found. Each of
 *   their characters is a token of its own; a searched word becomes the phrase of its characters.
 * - Emoji, which unicode61 drops as separators: each becomes the token `x` + its code point (🎉 → x1f389),
 *   so 🎉 finds 🎉; skin tones, variation selectors and joiners stay separators (👍 finds 👍🏽).
 * Text without either is indexed exactly as written.
 */
const SPLIT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Extended_Pictographic}]/u;
const EACH_SPLIT = new RegExp(SPLIT.source, 'gu');
const EMOJI = /\p{Extended_Pictographic}/u;

/** The text the full-text index holds for `text` (SQL function `search_text`, used by its triggers too). */
export function searchText(text: string): string {
  return SPLIT.test(text)
    ? text.replace(EACH_SPLIT, (char) => (EMOJI.test(char) ? ` x${char.codePointAt(0)?.toString(16)} ` : ` ${char} `))
    : text;
}

/** Defines `search_text(text)` on a connection (the full-text index's triggers and indexing call it). */
export function defineSearchText(db: BetterSqlite3.Database): void {
  db.function('search_text', { deterministic: true }, (text: unknown) =>
    typeof text === 'string' ? searchText(text) : text,
  );
}

/** Whether the index holds `text` as written (else its snippet cannot come from FTS5: see searchSnippet). */
export function indexedAsWritten(text: string): boolean {
  return !SPLIT.test(text);
}

/**
 * A snippet of `body` with each searched word marked by `open` … `close`, for bodies the index holds
 * split up (FTS5's snippet() re-reads the body as written, where the phrase's token positions do not
 * exist). Matches ignore case; at most `context` characters either side of the first match.
 */
export function searchSnippet(body: string, words: string[], open: string, close: string, context = 24): string {
  const lower = body.toLowerCase();
  const marks: [number, number][] = [];
  for (const word of words) {
    const needle = word.toLowerCase();
    for (let at = lower.indexOf(needle); needle && at >= 0; at = lower.indexOf(needle, at + needle.length)) {
      marks.push([at, at + needle.length]);
    }
  }
  marks.sort((a, b) => a[0] - b[0]);
  const first = marks[0]?.[0] ?? 0;
  const start = Math.max(0, first - context);
  const end = Math.min(body.length, first + context * 2);
  let out = start > 0 ? '…' : '';
  let at = start;
  for (const [from, to] of marks) {
    if (from < at || to > end) {
      continue; // overlapping, or outside the window
    }
    out += `${body.slice(at, from)}${open}${body.slice(from, to)}${close}`;
    at = to;
  }
  return `${out}${body.slice(at, end)}${end < body.length ? '…' : ''}`;
}
