/**
 * The one configuration module. Every setting is an environment variable, declared here once with
 * its default and what it means; `loadConfig` validates them all at start and throws a
 * `ConfigError` naming each bad variable. The README's configuration table is checked against
 * `configKeys` by a test, so the two cannot drift apart.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common/lib/time';
import { weekdays, type LaunchWindowPolicy, type Weekday } from '../domain/launch-window';
import { parseSchedule } from '../domain/webhooks';
import { parseCodecKeys } from '../infra/payload-codec';

const weekdayNames: readonly string[] = weekdays;

const port = z.coerce.number().int().min(1).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const url = z.string().refine((value) => URL.canParse(value), 'expected a URL');
const postgresUrl = url.refine(
  (value) => /^postgres(ql)?:$/.test(new URL(value).protocol),
  'expected a postgres:// URL',
);

/** `EUR:0.01,USD:0.012`: an amount per ISO 4217 currency. */
const perCurrency = z
  .string()
  .regex(
    /^[A-Z]{3}:\d+(\.\d+)?(,[A-Z]{3}:\d+(\.\d+)?)*$/,
    'expected CUR:amount pairs separated by commas, e.g. EUR:0.01,USD:0.012',
  )
  .transform((value) =>
    Object.fromEntries(value.split(',').map((pair) => [pair.slice(0, 3), Number(pair.slice(4))])),
  );

/** Settings of the running services: the API, the workers and the operator commands. */
export const appSchema = z.object({
  PORT: port.default(3000).describe('Port the HTTP API listens on.'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Interface the HTTP API binds to.'),
  DATABASE_URL: postgresUrl
    .default('postgres://postgres:loyalty@127.0.0.1:54329/loyalty')
    .describe(
      'The app database. When unset, `npm start` runs an embedded Postgres (this default points at it) and `npm test` a throwaway one; when set, `npm test` uses a throwaway database on that server.',
    ),
  DATABASE_POOL_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe('Connections per process.'),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'expected host:port')
    .default('127.0.0.1:7233')
    .describe('Temporal frontend (gRPC).'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace.'),
  TEMPORAL_TASK_QUEUE: z
    .string()
    .min(1)
    .default('loyalty-ops')
    .describe('Task queue the workers poll and the API starts workflows on.'),
  TEMPORAL_UI_URL: url
    .default('http://127.0.0.1:8233')
    .describe('Temporal Web UI base URL, used for links to workflows.'),
  PAYLOAD_CODEC_KEYS: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseCodecKeys(value);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `expected id:base64key pairs separated by commas (32-byte keys): ${(err as Error).message}`,
        });
      }
    })
    .optional()
    .describe(
      'Keys encrypting workflow payloads (AES-256-GCM), `id1:base64key,id2:base64key`: the first encrypts, all decrypt (rotation: put the new key first, keep the old ones). Unset: payloads are not encrypted. Payloads written unencrypted stay readable. `npm start` makes one and keeps it in its data folder.',
    ),
  LOG_LEVEL: logLevel.default('info').describe('pino log level.'),
  WAREHOUSE_URL: url
    .default('http://127.0.0.1:4101')
    .describe('Base URL of the warehouse partner (shipments); `npm start` runs a local one.'),
  GIFTCARD_URL: url
    .default('http://127.0.0.1:4102')
    .describe('Base URL of the gift-card provider; `npm start` runs a local one.'),
  CALLBACK_BASE_URL: url
    .default('http://127.0.0.1:3000')
    .describe(
      'This API as partners reach it: where the warehouse and the gift-card provider send callbacks.',
    ),
  WAREHOUSE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'expected whsec_<base64>')
    .optional()
    .describe(
      "The warehouse's callback signing secret. Unset, warehouse callbacks are refused (503). `npm start` makes one and gives it to both sides.",
    ),
  GIFTCARD_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'expected whsec_<base64>')
    .optional()
    .describe(
      "The gift-card provider's callback signing secret. Unset, its status callbacks are refused (503). `npm start` makes one and gives it to both sides.",
    ),
  GIFTCARD_FLOAT_LOW: z.coerce
    .number()
    .min(0)
    .default(1000)
    .describe(
      "Below this balance (in the provider's currency) a gift-card provider's float is low: one `giftcard.float_low` event per episode.",
    ),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('5s,5m,30m,2h,5h,10h,10h,14h,14h,16h')
    .refine((value) => {
      try {
        return parseSchedule(value).length > 0;
      } catch {
        return false;
      }
    }, 'expected durations separated by commas, e.g. 5s,5m,30m')
    .describe(
      'Waits between webhook delivery attempts (about 3 days in all by default); after the last, the delivery fails and the subscription is disabled.',
    ),
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe('How long a partner endpoint has to answer one webhook attempt.'),
  WEBHOOK_POLL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(1000)
    .describe('How often the dispatcher looks for new outbox events when it has found none.'),
  WEBHOOK_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe(
      "Deliveries a subscription's workflow claims and sends at once (each request bounded by WEBHOOK_TIMEOUT_MS), then records in one transaction.",
    ),
  WEBHOOK_CIRCUIT_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(20)
    .describe(
      'After this many failed attempts in a row at one endpoint, only its oldest delivery is tried (by WEBHOOK_RETRY_SCHEDULE) until one goes through; the rest wait.',
    ),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .describe(
      'Let webhook subscriptions point at internal addresses (loopback, private networks, link-local and cloud metadata, unique-local IPv6...). Off, such URLs are refused when subscribing and every delivery connects only to an address checked to be public. `npm start` and `npm test` turn it on (their partners listen on 127.0.0.1).',
    ),
  ACCRUAL_BATCH_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe(
      'At most this many earning events per group-commit batch (`POST /events`): one transaction and one statement for them all. `POST /events/batch` writes a request in chunks of this many (chunks of concurrent requests waiting together share a transaction, up to 1,000 events).',
    ),
  ACCRUAL_BATCHES_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(1)
    .max(32)
    .default(2)
    .describe(
      'Group-commit batches an API process writes at the same time; events arriving meanwhile wait for the next batch. `POST /events/batch` requests likewise share this many transactions at a time.',
    ),
  IDEMPOTENCY_LEASE_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .describe(
      'How long a request with an `Idempotency-Key` that has not answered keeps the key (a repeat meanwhile is a 409); after that a repeat runs again, so a crashed request never blocks its key.',
    ),
  IDEMPOTENCY_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(5000)
    .describe(
      'How often each API process refreshes its heartbeat (`api_instances`). A request with an `Idempotency-Key` whose process missed three heartbeats is taken over by a repeat at once, without waiting for the lease.',
    ),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 365)
    .default(24)
    .describe(
      'How long an `Idempotency-Key` and its stored answer are remembered; after that the key may be used for a new request, and housekeeping deletes it.',
    ),
  INBOUND_WEBHOOK_RETENTION_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 365)
    .default(24 * 7)
    .describe(
      "How long a partner callback's `webhook-id` is remembered (so a replay of it changes nothing); housekeeping deletes older ones. Callbacks signed over five minutes ago are refused anyway, so an hour is plenty.",
    ),
  HOUSEKEEPING_EVERY_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(60)
    .describe(
      'How often the housekeeping schedule (`housekeeping:<task queue>`, made or updated when a worker starts) deletes expired idempotency keys and old callback ids.',
    ),
  HOUSEKEEPING_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(5000)
    .describe(
      'Rows housekeeping deletes per statement (short transactions, however many are due).',
    ),
  SLA_AT_RISK_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 3600)
    .default(24 * 3600)
    .describe(
      'A redemption still waiting for delivery is `atRisk` from this many seconds before its delivery SLA deadline (and once past it): `GET /redemptions` and `GET /redemptions/:id`.',
    ),
  REDEMPTION_ANSWER_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(300)
    .default(10)
    .describe(
      '`POST /redemptions` waits this long for the hold to be known (points held, or refused); past it, it answers with `hold` null.',
    ),
  API_KEY_CACHE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300)
    .default(10)
    .describe(
      'How long the API remembers a valid API key (0: look it up on every request); a revoked key keeps working for at most this long.',
    ),
  EVENT_ACCESS_LOG_SAMPLE: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(100)
    .describe(
      'One in this many successful `POST /events` requests gets an access-log line (1: every one); errors and other routes are always logged.',
    ),
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe(
      "Port of the worker's Prometheus endpoint (`/metrics`: the Temporal SDK's worker metrics and the redemption, partner and webhook metrics); 0 turns it off. Each worker on one machine needs its own.",
    ),
  WORKER_METRICS_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe("Interface the worker's metrics endpoint binds to (`0.0.0.0` in a container)."),
  SESSION_TTL_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(480)
    .describe(
      'How long a console session lasts after sign-in (an API key exchanged at `POST /session`); it also ends on sign-out and when its key is revoked.',
    ),
  POINT_COST: perCurrency
    .default({ EUR: 0.01, USD: 0.01, GBP: 0.01 })
    .describe(
      'What one outstanding point costs the programme, per currency (`EUR:0.01,USD:0.01`): programme health values the points liability in each.',
    ),
  SHIPPING_COST: perCurrency
    .default({ EUR: 5, USD: 5, GBP: 5 })
    .describe(
      'Shipping cost of one physical redemption, per currency of the reward (`EUR:5,USD:5`): programme health adds it to the fulfilment cost.',
    ),
  FLOAT_BURN_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(365)
    .default(7)
    .describe(
      "A gift-card provider's burn rate is the value of cards issued in this many past days, per day; its float's days left follow from it.",
    ),
  METRICS_CACHE_SECONDS: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(5)
    .describe(
      'How long `/metrics` reuses the business gauges (members, points, redemptions...) it read from Postgres (0: read on every scrape).',
    ),
  PROGRAM_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine((value) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: value });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Europe/Berlin')
    .describe(
      "The programme's time zone: launch blackout days, holidays and launch hours are in it.",
    ),
  LAUNCH_BLACKOUT_DAYS: z
    .string()
    .default('Fri,Sat,Sun')
    .refine(
      (value) => value === 'none' || value.split(',').every((d) => weekdayNames.includes(d.trim())),
      'expected weekdays such as Fri,Sat,Sun, or none',
    )
    .transform((value) =>
      value === 'none' ? [] : value.split(',').map((d) => d.trim() as Weekday),
    )
    .describe(
      'Weekdays on which no rule change takes effect and no launch goes live (`none`: every day allowed); one asked for then waits for the next allowed slot.',
    ),
  PROGRAM_HOLIDAYS: z
    .string()
    .default('')
    .refine(
      (value) =>
        value === '' || value.split(',').every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.trim())),
      'expected dates YYYY-MM-DD separated by commas',
    )
    .transform((value) => (value === '' ? [] : value.split(',').map((d) => d.trim())))
    .describe('Holidays (`YYYY-MM-DD,...`, programme time zone): blackout days like the weekdays.'),
  LAUNCH_HOURS: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'expected HH:MM-HH:MM')
    .refine((value) => value.slice(0, 5) < value.slice(6), 'the hours must end after they start')
    .default('09:00-17:00')
    .transform((value) => ({ from: value.slice(0, 5), to: value.slice(6) }))
    .describe(
      'Local hours (programme time zone) in which a rule change may take effect or a launch go live.',
    ),
  RULE_CHANGE_APPROVALS: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(1)
    .describe(
      'Distinct approvers a rule change needs (never its proposer); editing a proposed change revokes its approvals.',
    ),
  RULE_CHANGE_NOTICE: z
    .string()
    .default('7 days')
    .refine((value) => {
      try {
        return msToNumber(value) >= 0;
      } catch {
        return false;
      }
    }, 'expected a duration such as "7 days" or "30 seconds"')
    .describe(
      'How long before a scheduled rule change takes effect members are told (`program.rules_changing`).',
    ),
  PROMETHEUS_URL: url
    .optional()
    .describe(
      "Prometheus' base URL (`http://127.0.0.1:9090`), for a launch's readiness checks: critical alerts firing and the partners' error rates across workers. Unset, the checks evaluate the same critical conditions from the programme's own figures and the worker's own partner calls.",
    ),
  RULE_CHANGE_SIMULATION_WINDOW: z
    .string()
    .default('30 days')
    .refine((value) => {
      try {
        return msToNumber(value) > 0;
      } catch {
        return false;
      }
    }, 'expected a duration such as "30 days"')
    .describe(
      "The past a proposed rule change's what-if replays: the events of this long before proposing.",
    ),
  SIMULATION_PAGE_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(10_000)
    .describe(
      'Events a what-if simulation replays per activity (one page); its progress moves a page at a time.',
    ),
});

/** Settings only `npm start` / `npm test` read: where the local stack keeps its data and ports. */
export const stackSchema = z.object({
  LOYALTY_DATA_DIR: z
    .string()
    .min(1)
    .default('.data')
    .describe(
      'Folder for the local Temporal SQLite file, embedded Postgres, the admin key and the warehouse webhook secret.',
    ),
  TEMPORAL_PORT: port.default(7233).describe('Port of the local Temporal dev server (gRPC).'),
  TEMPORAL_UI_PORT: port.default(8233).describe('Port of the local Temporal Web UI.'),
  EMBEDDED_POSTGRES_PORT: port
    .default(54329)
    .describe('Port of the embedded Postgres, when DATABASE_URL is unset.'),
  WAREHOUSE_PORT: port
    .default(4101)
    .describe('Port of the local warehouse simulator, unless WAREHOUSE_URL names another.'),
  GIFTCARD_PORT: port
    .default(4102)
    .describe('Port of the local gift-card simulator, unless GIFTCARD_URL names another.'),
  WAREHOUSE_DISPATCH_MS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60_000)
    .default(20)
    .describe(
      'The local warehouse simulator ships one parcel every this many ms (20: at most 50/s); lower it to benchmark faster.',
    ),
  WAREHOUSE_STATE_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'File where the local warehouse simulator journals its shipments, reloaded when it restarts (default `<LOYALTY_DATA_DIR>/warehouse-shipments.jsonl` under `npm start`; unset under `npm run partners`: in memory only).',
    ),
  TEMPORAL_CLI_PATH: z
    .string()
    .min(1)
    .optional()
    .describe('Temporal CLI to use instead of `temporal` on PATH or the cached build.'),
  TEMPORAL_TEST_SERVER_PATH: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Temporal's time-skipping test server (runs `io.temporal.testserver.TestServer <port>`) for the tests that set a clock, instead of the cached copy.",
    ),
});

export type AppConfig = z.infer<typeof appSchema>;

/** The launch window settings as the workflows take them (in their input, so replay is stable). */
export function launchWindowPolicy(config: AppConfig): LaunchWindowPolicy {
  return {
    timeZone: config.PROGRAM_TIME_ZONE,
    blackoutDays: config.LAUNCH_BLACKOUT_DAYS,
    holidays: config.PROGRAM_HOLIDAYS,
    hours: config.LAUNCH_HOURS,
  };
}
export type StackConfig = z.infer<typeof stackSchema>;

export const configKeys = [...Object.keys(appSchema.shape), ...Object.keys(stackSchema.shape)];

export class ConfigError extends Error {
  constructor(readonly problems: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function parse<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return { key, message: `${issue.message}; got ${JSON.stringify(env[key])}` };
    }),
  );
}

export function loadConfig(env: Env = process.env): AppConfig {
  return parse(appSchema, env);
}

export function loadStackConfig(env: Env = process.env): StackConfig {
  return parse(stackSchema, env);
}

/** Entry points call this: a bad value stops the process with a message naming the variable. */
export function loadConfigOrExit(env: Env = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
