/**
 * The local partners as one process for development: the warehouse on WAREHOUSE_PORT (default
 * 4101) and the gift-card provider on GIFTCARD_PORT (default 4102), both on PARTNERS_HOST (default
 * 127.0.0.1; 0.0.0.0 in a container); the warehouse ships one parcel every WAREHOUSE_DISPATCH_MS
 * (default 20) and, with WAREHOUSE_STATE_FILE, keeps its shipments in that file across restarts. Warehouse callbacks are signed with WAREHOUSE_WEBHOOK_SECRET when it is set;
 * gift-card status callbacks are sent, signed, only with GIFTCARD_WEBHOOK_SECRET. SIGINT or SIGTERM closes both servers
 * and exits 0. Run with `tsx partners/main.ts`.
 */
import { z } from 'zod';
import { createLogger, type Logger } from '../infra/logger';
import { startGiftCards } from './giftcards';
import { startWarehouse } from './warehouse';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const partnersEnvSchema = z.object({
  WAREHOUSE_PORT: port(4101),
  GIFTCARD_PORT: port(4102),
  /** One parcel leaves the warehouse every this many ms (documented in config/index.ts). */
  WAREHOUSE_DISPATCH_MS: z.coerce.number().int().min(1).max(60_000).default(20),
  PARTNERS_HOST: z.string().min(1).default('127.0.0.1'),
  /** The warehouse keeps its shipments in this file across restarts (documented in config/index.ts). */
  WAREHOUSE_STATE_FILE: z.string().min(1).optional(),
  WAREHOUSE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'expected whsec_<base64 key>')
    .optional(),
  GIFTCARD_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'expected whsec_<base64 key>')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type PartnersEnv = z.infer<typeof partnersEnvSchema>;

/** Validates the variables; the error names every bad one. */
export function parsePartnersEnv(env: NodeJS.ProcessEnv): PartnersEnv {
  const result = partnersEnvSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`Invalid partner simulator settings:\n${lines.join('\n')}`);
}

/** Starts both simulators; if the second cannot listen, the first is closed again. */
export async function startPartners(
  settings: Omit<PartnersEnv, 'PARTNERS_HOST' | 'WAREHOUSE_DISPATCH_MS'> &
    Partial<Pick<PartnersEnv, 'PARTNERS_HOST' | 'WAREHOUSE_DISPATCH_MS'>>,
  logger?: Logger,
) {
  const host = settings.PARTNERS_HOST ?? '127.0.0.1';
  const started = async <T>(variable: string, start: () => Promise<T>): Promise<T> =>
    start().catch((err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.message;
      throw new Error(
        `Cannot listen on ${variable}=${String(settings[variable as keyof PartnersEnv])}: ${why}.`,
      );
    });
  const warehouse = await started('WAREHOUSE_PORT', () =>
    startWarehouse({
      port: settings.WAREHOUSE_PORT,
      host,
      dispatchIntervalMs: settings.WAREHOUSE_DISPATCH_MS,
      webhookSecret: settings.WAREHOUSE_WEBHOOK_SECRET,
      stateFile: settings.WAREHOUSE_STATE_FILE,
      logger,
    }),
  );
  const giftCards = await started('GIFTCARD_PORT', () =>
    startGiftCards({
      port: settings.GIFTCARD_PORT,
      host,
      webhookSecret: settings.GIFTCARD_WEBHOOK_SECRET,
      logger,
    }),
  ).catch(async (err: unknown) => {
    await warehouse.close();
    throw err;
  });
  return {
    warehouse,
    giftCards,
    close: async (): Promise<void> => {
      await Promise.all([warehouse.close(), giftCards.close()]);
    },
  };
}

async function main(): Promise<void> {
  let settings: PartnersEnv;
  try {
    settings = parsePartnersEnv(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG, as the other entry points
  }
  const logger = createLogger({ level: settings.LOG_LEVEL, name: 'partners' });
  const partners = await startPartners(settings, logger);
  logger.info(
    { warehouse: partners.warehouse.url, giftcards: partners.giftCards.url },
    `partner simulators: warehouse ${partners.warehouse.url}, gift cards ${partners.giftCards.url}`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    logger.info({ signal }, 'partner simulators: stopping');
    partners.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'partner simulators: close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`partners failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
