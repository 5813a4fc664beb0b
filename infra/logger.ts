import pino, { type Logger } from 'pino';

export type { Logger };

/** One structured logger per process; children carry the request or workflow ID. */
export function createLogger(options: { level: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
