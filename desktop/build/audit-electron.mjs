#!/usr/bin/env node
// Runs @doyensec/electronegativity over desktop/ and fails on any finding of HIGH severity or worse.
// Uses the programmatic runner: the package's CLI expects an old `commander` it does not declare.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import run from '@doyensec/electronegativity/dist/runner.js';

const desktop = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const result = await run({
  input: desktop,
  isRelative: true,
  isVerbose: false,
  customScan: [],
  excludeFromScan: [],
  electronVersionOverride: '41.0.0',
});

const failing = new Set(['HIGH', 'CRITICAL']);
const rows = result.issues.map((i) => ({
  severity: i.severity.name,
  confidence: i.confidence.name,
  id: i.id,
  where: `${i.file}:${i.location.line}:${i.location.column}`,
  review: Boolean(i.manualReview),
}));
for (const row of rows.sort((a, b) => a.severity.localeCompare(b.severity))) {
  process.stdout.write(
    `${row.severity.padEnd(13)} ${row.confidence.padEnd(10)} ${row.id.padEnd(40)} ${row.where}${row.review ? ' (review)' : ''}\n`,
  );
}
if (result.errors.length > 0) {
  process.stdout.write(`${result.errors.length} file(s) could not be parsed\n`);
}
const high = rows.filter((r) => failing.has(r.severity));
process.stdout.write(
  `${JSON.stringify({ findings: rows.length, high: high.length, checks: result.atomicChecks + result.globalChecks })}\n`,
);
process.exit(high.length > 0 ? 1 : 0);
