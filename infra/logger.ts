import pino, { type Logger } from 'pino';

export type { Logger };

/** One structured logger per process; children carry the request or workflow ID. */
export function createLogger(
  options: { level: string; name: string },
  destination?: pino.DestinationStream,
): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level,
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Request logs carry the headers: never write credentials to them.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
