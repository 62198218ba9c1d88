/** The CLI's only way to print: plain lines on stdout, one-line reasons on stderr. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function outJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Progress for a person at a terminal (stderr), never part of a command's output. */
export function note(line: string): void {
  process.stderr.write(`sotto: ${line}\n`);
}

export function fail(reason: string): void {
  process.stderr.write(`sotto: ${printable(reason.replace(/\s+/g, ' ').trim())}\n`);
}

/**
 * Characters that act on a terminal or reorder what it shows: C0 and C1 controls (ESC starts sequences that
 * recolour, move the cursor, rewrite the title or clear the screen) and the bidi overrides and isolates.
 */
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from elsewhere (a message, a name, a relay's answer) as it may be printed on one line of a terminal:
 * each of those characters shown as an escape (\n, \u{1b}). A message can then neither act on the reader's
 * terminal nor, with a line break, print a line that looks like another sender's message.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}
