import { Command, InvalidArgumentError } from 'commander';
import { SottoError } from '../core/errors.js';
import * as commands from './commands.js';
import { fail } from './output.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return n;
}

export function buildProgram(): Command {
  const program = new Command('sotto')
    .description('Sotto end-to-end encrypted messenger (command line)')
    .option('--profile <dir>', 'profile folder (or SOTTO_HOME)')
    .showHelpAfterError(false)
    .exitOverride()
    // Before any subcommand is added: each copies these settings when it is created.
    .configureOutput({
      writeErr: (text) => fail(text.replace(/^error: /, '')),
      outputError: (text, write) => write(text),
    });
  const global = () => program.opts<commands.GlobalOptions>();

  program
    .command('register')
    .description('create a profile and register it on a relay')
    .requiredOption('--relay <url>', 'relay URL')
    .requiredOption('--username <name>', 'username')
    .option('--invite <code>', 'invite code')
    .action((o: { relay: string; username: string; invite?: string }) => commands.register({ ...global(), ...o }));
  program
    .command('send')
    .argument('<name>')
    .argument('[text]', 'the message; left out, it is read from standard input (then it is not in the process list)')
    .description('send a message')
    // A message may start with "-" ("-1 for that", "- first item"): it is the text, not an unknown option.
    .allowUnknownOption()
    .action((name: string, text: string | undefined) => commands.send(global(), name, text));
  program
    .command('receive')
    .description('receive queued and live messages, exit after the queue is drained and --timeout seconds of quiet')
    .option('--timeout <seconds>', 'seconds of quiet before exiting', positiveInt, 5)
    .option(
      '--connect-timeout <seconds>',
      'seconds to wait for a relay that is out of reach before giving up',
      positiveInt,
      20,
    )
    .option('--json', 'one JSON object per line')
    .option(
      '--mark-read',
      'mark the conversations it printed messages from as read (starts disappearing timers, sends read receipts)',
    )
    .action((o: { timeout: number; connectTimeout: number; json?: boolean; markRead?: boolean }) =>
      commands.receive({ ...global(), ...o }),
    );
  program
    .command('conversations')
    .option('--json')
    .action((o: { json?: boolean }) => commands.conversations({ ...global(), ...o }));
  program
    .command('history')
    .argument('<name>')
    .option('--limit <n>', 'number of messages', positiveInt, 50)
    .option('--json')
    .action((name: string, o: { limit: number; json?: boolean }) => commands.history({ ...global(), ...o }, name));
  program
    .command('search')
    .argument('<query>')
    .option('--json')
    .allowUnknownOption()
    .action((query: string, o: { json?: boolean }) => commands.search({ ...global(), ...o }, query));
  program
    .command('safety-number')
    .argument('<name>')
    .action((name: string) => commands.safetyNumber(global(), name));
  program
    .command('verify')
    .argument('<name>')
    .option('--safety-number <digits>', 'the number you compared (refused if it is not the current one)')
    .action((name: string, o: { safetyNumber?: string }) => commands.verify({ ...global(), ...o }, name));
  program
    .command('unlock')
    .option(
      '--recovery-key <key>',
      'the recovery key shown at registration (left out: asked for without echo, or read from standard input)',
    )
    .action((o: { recoveryKey?: string }) => commands.unlock({ ...global(), ...o }));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number' && 'code' in error) {
      // commander already printed the reason (or help/version, exit code 0)
      return error.exitCode;
    }
    fail(describeError(error));
    return 1;
  }
}

function describeError(error: unknown): string {
  if (error instanceof SottoError) {
    return error.message;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

const code = await main(process.argv);
process.exitCode = code;
// Open sockets or timers must not keep a finished command alive.
setTimeout(() => process.exit(code), 50).unref();
