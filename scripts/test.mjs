#!/usr/bin/env node
// Runs the whole test suite. Keychain tests need a Secret Service: when this shell has no
// D-Bus session, start a private one with an unlocked gnome-keyring for the run.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const hasSessionBus = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

let result;
if (!hasSessionBus && has('dbus-run-session') && has('gnome-keyring-daemon')) {
  const inner = [
    // A throwaway keyring for the test run, unlocked with a throwaway password.
    'export XDG_DATA_HOME="$(mktemp -d)"',
    'printf "sotto-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null',
    'exec npx vitest run --config scripts/vitest.config.ts "$@"',
  ].join('; ');
  result = spawnSync('dbus-run-session', ['--', 'sh', '-c', inner, 'sh', ...args], { stdio: 'inherit' });
} else {
  if (!hasSessionBus) {
    console.warn('No D-Bus session and no gnome-keyring: keychain tests will be skipped. See README "Development".');
  }
  result = spawnSync('npx', ['vitest', 'run', '--config', 'scripts/vitest.config.ts', ...args], { stdio: 'inherit' });
}
process.exit(result.status ?? 1);
