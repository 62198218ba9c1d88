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
  process.stderr.write(`sotto: ${reason.replace(/\s+/g, ' ').trim()}\n`);
}
