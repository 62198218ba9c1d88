import type { Duplex } from 'node:stream';

const corked = new Set<Duplex>();
let scheduled = false;

function uncorkAll(): void {
  scheduled = false;
  for (const socket of corked) {
    socket.uncork();
  }
  corked.clear();
}

/**
 * Holds a socket's writes until the end of this event-loop turn, so the frames one turn produces for a socket
 * (a send result, envelopes from several commits) leave in one system call instead of one each. Under load
 * the write system calls were the relay's largest cost.
 */
export function corkUntilTurnEnds(socket: Duplex): void {
  if (corked.has(socket)) {
    return;
  }
  socket.cork();
  corked.add(socket);
  if (!scheduled) {
    scheduled = true;
    setImmediate(uncorkAll);
  }
}
