#!/usr/bin/env node
// `sotto` command line: runs the built CLI when present and up to date, otherwise the TypeScript
// source through tsx with the `source` export condition (so it works right after `npm install`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/src/cli/main.js', import.meta.url);
const sourceDirs = ['../src/core/', '../src/cli/', '../../shared-types/src/'].map((d) =>
  fileURLToPath(new URL(d, import.meta.url)),
);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(`${path}/`) : statSync(path).mtimeMs);
  }
  return newest;
}

const useBuild =
  !process.env.SOTTO_CLI_FROM_SOURCE &&
  existsSync(built) &&
  statSync(built).mtimeMs >= Math.max(...sourceDirs.filter((d) => existsSync(d)).map(newestSource));

if (useBuild) {
  await import(built.href);
} else {
  const addSourceCondition = `export async function resolve(specifier, context, next) {
    const conditions = [...new Set([...(context.conditions ?? []), 'source'])];
    return next(specifier, { ...context, conditions });
  }`;
  register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
