/** The CLI's only way to print: plain lines on stdout, one-line reasons on stderr. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function outJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function fail(reason: string): void {
  process.stderr.write(`sotto: ${reason.replace(/\s+/g, ' ').trim()}\n`);
}
