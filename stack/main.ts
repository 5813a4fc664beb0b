import { ConfigError } from '../config';
import { runStart } from './start';
import { runTests } from './test';

/** Entered from stack/bootstrap.js once dependencies are installed. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'start') return await runStart();
    if (command === 'test') return await runTests(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78;
    }
    throw err;
  }
  console.error('usage: node stack/bootstrap.js <start|test> [test files...]');
  return 64;
}
