import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** LOG_FORMAT: `auto` is pretty on a terminal and JSON lines otherwise (a file, a pipe, a container log). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The process's logger. Secrets never reach a line: the API key header, webhook secrets and
 * photo or embedding fields are redacted wherever a caller might pass them by mistake.
 * Pretty output is pino-pretty in this thread (`sync`), not a transport worker: a start-up
 * error logged just before `process.exit` is still printed.
 */
export function createLogger(
  level: string,
  name: string,
  format: LogFormat = 'json',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    name,
    base: { pid: process.pid },
    redact: {
      paths: [
        'headers["x-api-key"]',
        '*.headers["x-api-key"]',
        'secret',
        '*.secret',
        'webhook_secret',
        '*.webhook_secret',
        'image',
        '*.image',
        'embedding',
        '*.embedding',
      ],
      censor: '[redacted]',
    },
  };
  const usePretty = format === 'pretty' || (format === 'auto' && !destination && process.stdout.isTTY);
  if (usePretty) {
    return pino(
      options,
      pretty({
        sync: true,
        colorize: !destination && process.stdout.isTTY,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
        ...(destination ? { destination } : {}),
      }),
    );
  }
  return destination ? pino(options, destination) : pino(options);
}
