import { SottoError } from '../core/errors.js';
import { note } from './output.js';

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * One line holding a secret, kept out of the process list and the shell's history: asked for at a terminal
 * (the prompt on stderr, nothing echoed), otherwise the first line of standard input (`echo KEY | sotto …`).
 */
export async function readSecretLine(prompt: string): Promise<string> {
  const line = process.stdin.isTTY ? await askHidden(prompt) : await firstLine();
  const secret = line.trim();
  if (!secret) {
    throw new SottoError('invalid_argument', 'nothing was entered');
  }
  return secret;
}

function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: SottoError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) {
        reject(error);
      } else {
        resolve(typed);
      }
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (ENTER.has(c) || (c === CTRL_D && typed)) {
          finish();
          return;
        }
        if (c === CTRL_C || c === CTRL_D) {
          finish(new SottoError('invalid_argument', 'cancelled'));
          return;
        }
        typed = BACKSPACE.has(c) ? typed.slice(0, -1) : typed + c;
      }
    };
    stdin.on('data', onData);
  });
}

async function firstLine(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk as string;
    if (text.includes('\n')) {
      break;
    }
  }
  return text.split('\n')[0] ?? '';
}

/**
 * A message from standard input, to its end (one final line break dropped): given as an argument, it would be
 * in the process list, readable by every user of the machine while `send` runs.
 */
export async function readMessageInput(): Promise<string> {
  if (process.stdin.isTTY) {
    note('type the message, then Ctrl-D on a line of its own');
  }
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk as string;
  }
  text = text.replace(/\r?\n$/, '');
  if (!text.trim()) {
    throw new SottoError('invalid_argument', 'nothing to send: standard input was empty');
  }
  return text;
}
