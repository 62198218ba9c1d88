import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { emit, stdinCommands } from './bench-support.js';

/**
 * Holds many authenticated, idle WebSockets to one relay (a process may open at most 20,000 files, so
 * the bench spreads them over several of these). Config: { wsUrl, tokens, concurrency }.
 * Commands on stdin: {"type":"connect","count":n} opens the next n sockets; {"type":"exit"}.
 */
interface IdleConfig {
  wsUrl: string;
  tokens: string[];
  concurrency: number;
}

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as IdleConfig;
const sockets: WebSocket[] = [];
let next = 0;
let failed = 0;

function open(token: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(config.wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    let done = false;
    const finish = (ok: boolean) => {
      if (!done) {
        done = true;
        if (ok) {
          sockets.push(ws);
        } else {
          failed += 1;
        }
        resolve();
      }
    };
    const timer = setTimeout(() => {
      ws.terminate();
      finish(false);
    }, 30_000);
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'queue_empty') {
        clearTimeout(timer);
        finish(true);
      }
    });
    ws.on('error', () => finish(false));
    ws.on('close', () => finish(false));
  });
}

async function connect(count: number): Promise<void> {
  const end = Math.min(config.tokens.length, next + count);
  const workers = Array.from({ length: config.concurrency }, async () => {
    while (next < end) {
      const token = config.tokens[next++] as string;
      await open(token);
    }
  });
  await Promise.all(workers);
  emit({ type: 'connected', open: sockets.length, failed });
}

let queue = Promise.resolve();
stdinCommands((cmd) => {
  if (cmd.type === 'connect') {
    queue = queue.then(() => connect(Number(cmd.count)));
  } else if (cmd.type === 'exit') {
    for (const ws of sockets) {
      ws.terminate();
    }
    setTimeout(() => process.exit(0), 200);
  }
});
emit({ type: 'ready' });
