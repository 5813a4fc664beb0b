/**
 * `npm run bench:http-floor`: what one API process can answer at all on this machine, doing no
 * work. A child process serves `POST /events` with the API's HTTP stack (express 5, its JSON body
 * parser, pino-http request logs to /dev/null at info) and answers 201 with a small JSON body, no
 * validation, no database; `--clients` closed-loop clients post a purchase to it for
 * `--duration` seconds. The rate it reaches is the ceiling of `POST /events` per API process here.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import express from 'express';
import pino from 'pino';
import { pinoHttp } from 'pino-http';
import { JsonClient } from './http';
import { Latencies } from './latency';
import { positive } from './options';

function serve(): void {
  const app = express();
  app.use(pinoHttp({ logger: pino({ level: 'info' }, fs.createWriteStream('/dev/null')) }));
  app.post('/events', express.json({ limit: '1mb' }), (req, res) => {
    const body = req.body as { eventId?: string };
    res
      .status(201)
      .json({ eventId: body.eventId, points: { earned: 1 }, balance: { available: 1 } });
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

/** Serves the floor in a child process; resolves its base URL and how to stop it. */
export async function startHttpFloor(): Promise<{ url: string; stop: () => void }> {
  const child = fork(__filename, ['--serve'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => child.disconnect() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '20' },
      clients: { type: 'string', default: '64' },
    },
  });
  const seconds = positive('duration', values.duration);
  const clients = positive('clients', values.clients);
  const floor = await startHttpFloor();
  const http = new JsonClient(floor.url, 'none', clients);
  const latencies = new Latencies();
  const started = Date.now();
  const until = started + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const res = await http.request('POST', '/events', {
          type: 'purchase',
          eventId: `e-${n++}`,
          memberId: '00000000-0000-4000-8000-000000000000',
          orderId: `o-${n}`,
          amount: 12.5,
          currency: 'EUR',
          channel: 'web',
          country: 'DE',
          lines: [{ sku: 'a', category: 'books', quantity: 1, amount: 12.5 }],
        });
        if (res.status !== 201) throw new Error(`answered ${res.status}`);
        latencies.add(performance.now() - t0);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const s = latencies.summary();
  console.log(
    `http floor: ${clients} clients, ${s.count} requests in ${elapsed.toFixed(1)} s: ` +
      `${(s.count / elapsed).toFixed(0)}/s, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`,
  );
  floor.stop();
}

// The child serves; run as a command, this measures; imported (bench/accrual.ts), it does neither.
if (process.argv.includes('--serve')) serve();
else if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
