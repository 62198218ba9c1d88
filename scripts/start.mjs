#!/usr/bin/env node
// `npm start`: a relay on the embedded default (PGlite + in-process fan-out) on port 8787,
// and the desktop app in dev mode pointed at it. Ctrl-C stops both.
import { spawn, spawnSync } from 'node:child_process';

const port = process.env.PORT ?? '8787';
const relayUrl = `http://127.0.0.1:${port}`;

console.log('Building the relay…');
const build = spawnSync('npm', ['run', 'build', '-w', '@sotto/shared-types', '-w', '@sotto/relay'], {
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error('The relay did not build. Run `npm install` first, then try again.');
  process.exit(1);
}

const children = [];
const stopAll = (code) => {
  for (const child of children) {
    child.kill('SIGTERM');
  }
  process.exit(code);
};
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

console.log(`Starting the relay on ${relayUrl} (data in ./data)…`);
const relay = spawn('node', ['relay/dist/src/server.js'], { stdio: 'inherit', env: { ...process.env, PORT: port } });
children.push(relay);
relay.on('exit', (code) => {
  console.error(`The relay stopped (exit ${code}).`);
  stopAll(code ?? 1);
});

console.log('Starting the desktop app in dev mode…');
const desktop = spawn('npm', ['run', 'dev', '-w', '@sotto/desktop'], {
  stdio: 'inherit',
  env: { ...process.env, SOTTO_DEFAULT_RELAY: relayUrl },
});
children.push(desktop);
desktop.on('exit', (code) => {
  if (code !== 0) {
    console.error(
      'The desktop app exited. If Electron is missing, reinstall without ELECTRON_SKIP_BINARY_DOWNLOAD so npm can fetch it.',
    );
  }
  stopAll(code ?? 0);
});
