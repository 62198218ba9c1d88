import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure, Figures, ProfileName } from './support/profile.js';

/**
 * `npm run test:reliability [-- --profile ci|full]`: runs relay/test/reliability under vitest with the
 * profile, gathers each section's figures, writes docs/reliability.md after a full run, and ends its
 * output with one line holding the totals as JSON.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Section {
  section: string;
  profile: ProfileName;
  figures: Figures;
}

function parseProfile(argv: string[]): ProfileName {
  const i = argv.indexOf('--profile');
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--profile='))?.split('=')[1];
  if (value === undefined || value === 'ci') {
    return 'ci';
  }
  if (value === 'full') {
    return 'full';
  }
  process.stderr.write(`unknown profile ${value}: use ci or full\n`);
  process.exit(2);
}

const num = (v: Figure | Record<string, Figure> | undefined): number => (typeof v === 'number' ? v : 0);

function totals(sections: Section[], passed: boolean): Record<string, number | boolean | string> {
  const by = new Map(sections.map((s) => [s.section, s.figures]));
  const sum = (key: string) => sections.reduce((n, s) => n + num(s.figures[key]), 0);
  const get = (section: string, key: string) => num(by.get(section)?.[key]);
  const faults = by.get('relay-faults') ?? {};
  const recoveries = Object.values(faults)
    .filter((v): v is Record<string, Figure> => typeof v === 'object' && v !== null)
    .map((v) => num(v.recovery_ms));
  return {
    lost: sum('lost'),
    duplicated: sum('duplicated'),
    reordered: sum('reordered'),
    fuzz_cases: get('fuzz-rest', 'fuzz_cases'),
    ws_frames: get('fuzz-ws', 'ws_frames'),
    server_errors: sum('server_errors'),
    auth_bypasses: sum('auth_bypasses'),
    canary_hits: sum('canary_hits'),
    state_changes: sum('state_changes'),
    relay_crashes: sum('relay_crashes'),
    forged_tokens: get('auth-attacks', 'forged_tokens'),
    idor_cases: get('idor', 'idor_cases'),
    flood_429s: get('floods', 'flood_429s'),
    fault_messages: get('relay-faults', 'messages'),
    max_recovery_ms: recoveries.length ? Math.max(...recoveries) : 0,
    fuzz_rss_growth_mib: Math.max(get('fuzz-rest', 'rss_growth_mib'), get('fuzz-ws', 'rss_growth_mib')),
    soak_rss_growth_pct: get('soak', 'rss_growth_pct'),
    client_kills: get('client-faults', 'kills'),
    sections: sections.length,
    passed,
  };
}

function markdown(profile: ProfileName, sections: Section[], total: Record<string, unknown>, seconds: number): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  const lines = [
    '# Reliability and security figures',
    '',
    `Last **${profile}** run of \`npm run test:reliability -- --profile ${profile}\`: ${new Date().toISOString()},`,
    `commit ${commit || 'unknown'} (plus the working tree), ${cpus().length} × ${cpu}, Node ${process.version},`,
    `${Math.round(seconds)} s. Written by relay/test/reliability/runner.ts; do not edit by hand.`,
    '',
    '## Totals',
    '',
    '```json',
    JSON.stringify(total, null, 2),
    '```',
    '',
    'Must be zero: `lost`, `duplicated`, `reordered`, `server_errors`, `auth_bypasses`, `canary_hits`,',
    '`state_changes`, `relay_crashes`. Timings (latencies, recovery) are reported, never asserted.',
    '',
  ];
  for (const s of sections) {
    lines.push(`## ${s.section}`, '', '| figure | value |', '| --- | --- |');
    for (const [key, value] of Object.entries(s.figures)) {
      if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          lines.push(`| ${key} · ${k} | ${String(v)} |`);
        }
      } else {
        lines.push(`| ${key} | ${String(value)} |`);
      }
    }
    lines.push('');
  }
  lines.push(
    '## How to run',
    '',
    '- `npm run test:reliability` runs the `ci` profile (a few minutes; the same files also run in `npm test`).',
    '- `npm run test:reliability -- --profile full` runs the full profile (about 25 minutes on 2 cores) and',
    '  rewrites this file. Set `SOTTO_FUZZ_SEED` to replay a fuzzing run (the seed is printed above).',
    '',
    '## What each section does',
    '',
    '- `fuzz-rest`: fast-check cases against every REST route of a real relay (Postgres + Redis, child process):',
    '  malformed, oversized, wrongly typed and boundary bodies, paths and headers. Never a 5xx, never a 2xx for',
    '  a refused case, one JSON error shape, row counts of every table unchanged, relay RSS growth under 50 MiB.',
    '- `fuzz-ws`: sessions of valid frames (pings must be answered, acks of unknown GUIDs change nothing) ending',
    '  in a malformed, oversized or out-of-place frame that must close the socket with 4000/4001/1009.',
    '- `auth-attacks`: forged tokens (alg none, HS256 keyed with the public key, other keys, tampered, truncated,',
    '  and tokens signed with the real key but expired, future-dated, mis-addressed or for a revoked family) on',
    '  REST, on the upgrade header and in the auth frame; refresh-token reuse; revoked sockets; foreign Origins.',
    "- `idor`: every route tried with another account's ids; the victim keeps its devices, keys and queue.",
    '- `floods`: registration, token, prekey-fetch, send and upload floods from one address/account get 429 with',
    '  Retry-After while another user keeps working (p50/p99 before and during are reported, not asserted).',
    '- `relay-faults`: private Postgres (initdb/pg_ctl) and Redis, two relay processes, exactly-once receivers',
    '  that record then ack: Postgres crash-restarted, Redis stopped, one relay SIGKILLed, and a TCP proxy that',
    '  delays, cuts, blackholes and refuses connections, each in the middle of a burst of numbered messages.',
    '  `ambiguous_resends` are resends after a network error that the relay had in fact stored (the receiving',
    '  libsignal session drops those as duplicates); they are not counted as duplicates.',
    '- `at-rest-relay`: device secrets, access and refresh tokens searched (in several encodings) in every table,',
    '  in Redis MONITOR traffic and in trace-level logs of two instances.',
    '- `client-faults`: the `sotto` CLI as child processes: receivers SIGKILLed at random moments and right after',
    '  displaying a message while a sender keeps sending, `PRAGMA integrity_check` between kills, wrong-key open;',
    '  \u00b15 min clock skew with faketime; the plaintext canary searched in the client files (WAL/SHM included),',
    '  relay tables, Redis traffic and relay logs.',
    '- `soak`: clients in a ring sending to each other through one relay: everything delivered once and in order,',
    '  relay RSS and file descriptors compared after warm-up and at the end; once the clients are gone, none of',
    '  their connections may be left open on the relay.',
    '',
  );
  return lines.join('\n');
}

function main(): void {
  const profile = parseProfile(process.argv.slice(2));
  const out = mkdtempSync(join(tmpdir(), 'sotto-reliability-'));
  const started = Date.now();
  const args = [
    'vitest',
    'run',
    '--config',
    'scripts/vitest.config.ts',
    '--no-file-parallelism',
    ...(profile === 'full' ? ['--testTimeout', '1500000', '--hookTimeout', '600000'] : []),
    'relay/test/reliability/',
  ];
  const run = spawnSync('npx', args, {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, SOTTO_RELIABILITY_PROFILE: profile, SOTTO_RELIABILITY_OUT: out },
  });
  const sections: Section[] = readdirSync(out)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as Section);
  rmSync(out, { recursive: true, force: true });
  const passed = run.status === 0;
  const total = totals(sections, passed);
  if (profile === 'full') {
    const doc = markdown(profile, sections, total, (Date.now() - started) / 1000);
    writeFileSync(join(repoRoot, 'docs', 'reliability.md'), doc);
    process.stdout.write('wrote docs/reliability.md\n');
  }
  process.stdout.write(`${JSON.stringify(total)}\n`);
  process.exit(passed ? 0 : 1);
}

main();
