/**
 * `npm run admin:hash`: makes the ADMIN_PASSWORD_HASH for a password. Part of the build
 * (dist/cli/admin-hash.js), so it runs where only production dependencies are installed (the
 * image, a server after `npm prune --omit=dev`); with the dev dependencies, npm runs this source
 * through tsx.
 *   - on a terminal: asks for the password twice, without echo;
 *   - otherwise: reads it from stdin (`printf '%s' "$PW" | npm run -s admin:hash`), one trailing
 *     newline dropped.
 * Prints only the hash on stdout (prompts go to stderr), so `HASH=$(npm run -s admin:hash)` works.
 * The password never appears in arguments, where `ps` and shell history would show it.
 */
import { DEFAULT_SCRYPT_PARAMS, hashPassword } from '../admin/password';

const MIN_LENGTH = 12;

function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await readHidden('Admin password: ');
    const again = await readHidden('Once more: ');
    if (again !== password) throw new Error('the two passwords differ');
  } else {
    password = await readStdin();
  }
  if ([...password].length < MIN_LENGTH) throw new Error(`the password must have at least ${MIN_LENGTH} characters`);
  process.stdout.write(`${await hashPassword(password, DEFAULT_SCRYPT_PARAMS)}\n`);
  if (process.stdin.isTTY) process.stderr.write('Set it as ADMIN_PASSWORD_HASH (in single quotes: it contains $).\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`admin:hash: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
