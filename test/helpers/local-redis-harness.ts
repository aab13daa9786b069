/**
 * Wired as all-in-one.ts wires its Redis (onShutdown first, then redisForStart with REDIS_URL
 * unset), on a port of the test's choosing (the real default, 6379, is the shared test Redis).
 * argv: <port> <how to end: wait | exit | throw> (used by test/ops/all-in-one-redis.test.ts). Prints `ready <pid of redis-server>`.
 */
import { redisForStart } from '../../src/launcher/redis-bootstrap.js';
import { onShutdown } from '../../src/shared/shutdown.js';
import { logger } from './service.js';

const [port, end = 'wait'] = process.argv.slice(2);
// `npm test` runs every file under dist/test: without a port this is that run, and does nothing.
if (port) await harness(port, end);

async function harness(port: string, end: string): Promise<void> {
  onShutdown(logger, () => Promise.resolve());
  const own = await redisForStart(`redis://127.0.0.1:${port}`, true, () => undefined);
  process.stdout.write(`ready ${own?.pid ?? 0}\n`);
  // Half a second for the test to see the redis-server running before this process ends (an
  // exit at once raced the test's check: it found the server already gone, 1 run in ~5).
  if (end === 'exit') setTimeout(() => process.exit(0), 500);
  if (end === 'throw')
    setTimeout(() => {
      throw new Error('a bug after start-up');
    }, 500);
  setInterval(() => undefined, 1000);
}
