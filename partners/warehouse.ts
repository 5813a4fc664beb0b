/**
 * The local warehouse: a real HTTP server standing in for the fulfilment partner, so a real one
 * replaces it by configuration alone. It accepts shipments idempotently by `shipmentId`, ships
 * them in priority order (higher first, then oldest) one every `dispatchIntervalMs`, delivers
 * each `deliveryDelayMs` later, and tells the shipment's `callbackUrl` about both steps with
 * Standard Webhooks signed callbacks, retried with backoff until answered 2xx (./callbacks.ts).
 *
 * Routes: `POST /shipments`, `POST /shipments/:id/cancel` (only while not shipped; 409 after),
 * `GET /shipments/:id`, `GET /shipments?status=`. Control (for tests and development):
 * `POST /_control/pause|resume`, `POST /_control/shipments/:id/ship|deliver|lose`,
 * `GET /_control/dispatch-order`, `GET /_control/callbacks`, plus the shared faults routes.
 *
 * With `stateFile`, shipments (and the callbacks owed on them) are journalled to that file and
 * loaded again on start: a restarted warehouse still knows what it accepted, finishes what was
 * on its way and sends again, under their first `webhook-id`, the callbacks not yet answered.
 */
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import { z } from 'zod';
import type { Logger } from '../infra/logger';
import { type CallbackRecord, createCallbackSender } from './callbacks';
import { type JournalRecord, openJournal } from './warehouse-journal';
import {
  blame,
  canonicalJson,
  createFaults,
  createPartnerApp,
  type Faults,
  listen,
  notFound,
  parseInput,
  PartnerProblem,
} from './faults';

export type { CallbackRecord } from './callbacks';

export interface WarehouseOptions {
  /** Time between two shipments leaving the dispatcher (default 20 ms). */
  dispatchIntervalMs?: number;
  /** Time from shipped to delivered (default 200 ms). */
  deliveryDelayMs?: number;
  /** false: shipments wait for `/_control/shipments/:id/ship|deliver` (default true). */
  autoDeliver?: boolean;
  /** Start with the dispatcher paused (default false). */
  paused?: boolean;
  /** Signs callbacks (`whsec_...`); unset, callbacks carry no `webhook-signature`. */
  webhookSecret?: string;
  /** How long a callback is retried before giving up (default 10 minutes). */
  callbackRetryForMs?: number;
  /** First retry delay, doubled after each failure up to `callbackMaxDelayMs` (100 ms, 5 s). */
  callbackInitialDelayMs?: number;
  callbackMaxDelayMs?: number;
  faultSeed?: number;
  logger?: Logger;
  /** Keep shipments in this file across restarts (./warehouse-journal.ts); unset, in memory. */
  stateFile?: string;
}

const statuses = ['accepted', 'shipped', 'delivered', 'lost', 'cancelled'] as const;
export type ShipmentStatus = (typeof statuses)[number];

export interface Shipment {
  shipmentId: string;
  sku: string;
  quantity: number;
  priority: number;
  callbackUrl?: string;
  address?: Record<string, unknown>;
  status: ShipmentStatus;
  trackingNumber: string;
  acceptedAt: string;
  shippedAt?: string;
  deliveredAt?: string;
  lostAt?: string;
  cancelledAt?: string;
}

const shipmentRequest = z.strictObject({
  shipmentId: z.string().min(1).max(200),
  sku: z.string().min(1).max(100),
  quantity: z.int().min(1).max(100_000),
  priority: z.int().min(0).max(100),
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  address: z.record(z.string(), z.unknown()).optional(),
});

interface Entry extends JournalRecord<Shipment> {
  shipment: Shipment;
  deliveryTimer?: NodeJS.Timeout;
}

export function createWarehouse(options: WarehouseOptions = {}) {
  const autoDeliver = options.autoDeliver ?? true;
  const deliveryDelayMs = options.deliveryDelayMs ?? 200;
  const faults: Faults = createFaults({ seed: options.faultSeed });
  const entries = new Map<string, Entry>();
  const shipOrder: string[] = [];
  const callbacks = createCallbackSender({
    webhookSecret: options.webhookSecret,
    retryForMs: options.callbackRetryForMs,
    initialDelayMs: options.callbackInitialDelayMs,
    maxDelayMs: options.callbackMaxDelayMs,
    logger: options.logger,
    onDelivered: ({ subject, webhookId }) => {
      const e = entries.get(subject);
      const sent = e?.callbacks.find((c) => c.webhookId === webhookId);
      if (!e || !sent) return;
      sent.done = true;
      record(e);
    },
  });
  const journal = options.stateFile ? openJournal(options.stateFile) : undefined;
  /** Journals the entry's state after a change. */
  const record = (e: Entry): void => {
    if (!journal) return;
    const { deliveryTimer: _timer, ...state } = e;
    journal.write(state);
  };
  let paused = options.paused ?? false;
  let seq = 0;
  let closing: Promise<void> | undefined;

  const entry = (id: string): Entry => {
    const found = entries.get(id);
    if (!found) throw notFound('shipment', 'shipmentId', id);
    return found;
  };
  const wrongState = (e: Entry, action: string): PartnerProblem =>
    new PartnerProblem(
      'conflict',
      `Cannot ${action} a shipment that is ${e.shipment.status}.`,
      blame('shipmentId', `shipment is ${e.shipment.status}`),
    );

  /** Sends an event to the shipment's callback, if it has one, after its earlier events. */
  function emit(
    e: Entry,
    type: 'shipment.shipped' | 'shipment.delivered',
    at: { shippedAt?: string; deliveredAt?: string },
  ): void {
    const { callbackUrl, shipmentId, trackingNumber } = e.shipment;
    if (!callbackUrl) return;
    const webhookId = callbacks.send(callbackUrl, shipmentId, {
      type,
      shipmentId,
      trackingNumber,
      ...at,
    });
    e.callbacks.push({ type, webhookId, done: false });
  }

  /** Sends again, under the same ids, the callbacks of a journalled entry not yet answered. */
  function resend(e: Entry): void {
    const { callbackUrl, shipmentId, trackingNumber, shippedAt, deliveredAt } = e.shipment;
    if (!callbackUrl) return;
    for (const { type, webhookId, done } of e.callbacks) {
      if (done) continue;
      const at = type === 'shipment.shipped' ? { shippedAt } : { deliveredAt };
      callbacks.send(
        callbackUrl,
        shipmentId,
        { type, shipmentId, trackingNumber, ...at },
        webhookId,
      );
    }
  }

  function deliverEntry(e: Entry): void {
    clearTimeout(e.deliveryTimer);
    e.shipment.status = 'delivered';
    e.shipment.deliveredAt = new Date().toISOString();
    emit(e, 'shipment.delivered', { deliveredAt: e.shipment.deliveredAt });
    record(e);
  }

  function shipEntry(e: Entry, thenDeliver: boolean): void {
    e.shipment.status = 'shipped';
    e.shipment.shippedAt = new Date().toISOString();
    e.shippedSeq = shipOrder.push(e.shipment.shipmentId);
    emit(e, 'shipment.shipped', { shippedAt: e.shipment.shippedAt });
    record(e);
    if (thenDeliver) e.deliveryTimer = setTimeout(() => deliverEntry(e), deliveryDelayMs);
  }

  /** Ships the waiting shipment with the highest priority, the oldest among equals. */
  function dispatchOne(): void {
    if (paused || closing) return;
    let next: Entry | undefined;
    for (const e of entries.values()) {
      if (e.shipment.status !== 'accepted') continue;
      if (!next || e.shipment.priority > next.shipment.priority) next = e;
    }
    if (next) shipEntry(next, true);
  }
  // What a journal holds: shipped ones in their order, those on their way delivered in due time.
  for (const saved of journal?.records ?? []) {
    const e = saved as Entry;
    entries.set(e.shipment.shipmentId, e);
    seq = Math.max(seq, e.seq + 1);
  }
  const shippedBefore = [...entries.values()].filter((e) => e.shippedSeq !== undefined);
  for (const e of shippedBefore.sort((a, b) => a.shippedSeq! - b.shippedSeq!)) {
    e.shippedSeq = shipOrder.push(e.shipment.shipmentId);
  }
  for (const e of entries.values()) {
    resend(e);
    if (e.shipment.status === 'shipped' && autoDeliver) {
      e.deliveryTimer = setTimeout(() => deliverEntry(e), deliveryDelayMs);
    }
  }
  const dispatcher = autoDeliver
    ? setInterval(dispatchOne, options.dispatchIntervalMs ?? 20)
    : undefined;

  function accept(input: unknown): { status: 200 | 201; body: Record<string, unknown> } {
    const { shipmentId, ...request } = parseInput(shipmentRequest, input);
    const content = canonicalJson(request);
    const existing = entries.get(shipmentId);
    if (existing) {
      if (existing.content === content) return { status: 200, body: existing.accepted };
      throw new PartnerProblem(
        'conflict',
        `Shipment '${shipmentId}' was already requested with other content.`,
        blame('shipmentId', 'already used for a different shipment'),
      );
    }
    const shipment: Shipment = {
      shipmentId,
      ...request,
      status: 'accepted',
      trackingNumber: `TRK${randomBytes(6).toString('hex').toUpperCase()}`,
      acceptedAt: new Date().toISOString(),
    };
    const { trackingNumber, priority, acceptedAt } = shipment;
    const accepted = { shipmentId, status: 'accepted', trackingNumber, priority, acceptedAt };
    const e: Entry = { shipment, content, accepted, seq: seq++, callbacks: [] };
    entries.set(shipmentId, e);
    record(e);
    return { status: 201, body: accepted };
  }

  /** Shipments in the order they shipped, then those not shipped yet in the order accepted. */
  function list(status?: ShipmentStatus): Shipment[] {
    const shipped = shipOrder.map((id) => entry(id));
    const waiting = [...entries.values()].filter((e) => !shipOrder.includes(e.shipment.shipmentId));
    return [...shipped, ...waiting.sort((a, b) => a.seq - b.seq)]
      .map((e) => ({ ...e.shipment }))
      .filter((s) => !status || s.status === status);
  }

  const control = {
    faults,
    pause: (): void => void (paused = true),
    resume: (): void => void (paused = false),
    get: (id: string): Shipment => ({ ...entry(id).shipment }),
    list,
    dispatchOrder: (): string[] => [...shipOrder],
    callbacks: (): CallbackRecord[] => callbacks.records(),
    ship(id: string): Shipment {
      const e = entry(id);
      if (e.shipment.status !== 'accepted') throw wrongState(e, 'ship');
      shipEntry(e, autoDeliver);
      return { ...e.shipment };
    },
    deliver(id: string): Shipment {
      const e = entry(id);
      if (e.shipment.status === 'accepted') shipEntry(e, false);
      // A parcel given up as lost may turn up after all (its callback comes late).
      else if (e.shipment.status !== 'shipped' && e.shipment.status !== 'lost') {
        throw wrongState(e, 'deliver');
      }
      deliverEntry(e);
      return { ...e.shipment };
    },
    /** The client's cancellation: only a shipment still waiting; repeating it is harmless. */
    cancel(id: string): Shipment {
      const e = entry(id);
      if (e.shipment.status !== 'accepted' && e.shipment.status !== 'cancelled') {
        throw wrongState(e, 'cancel');
      }
      e.shipment.cancelledAt ??= new Date().toISOString();
      e.shipment.status = 'cancelled';
      record(e);
      return { ...e.shipment };
    },
    /** Never delivered: no further status change and no further callback. */
    lose(id: string): Shipment {
      const e = entry(id);
      if (e.shipment.status !== 'accepted' && e.shipment.status !== 'shipped')
        throw wrongState(e, 'lose');
      clearTimeout(e.deliveryTimer);
      e.shipment.status = 'lost';
      e.shipment.lostAt = new Date().toISOString();
      record(e);
      return { ...e.shipment };
    },
    /** Stops dispatching, deliveries, callbacks and held requests; resolves once callbacks end. */
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(dispatcher);
        for (const e of entries.values()) clearTimeout(e.deliveryTimer);
        const callbacksEnded = callbacks.close();
        faults.close();
        await callbacksEnded;
      })();
      return closing;
    },
  };

  const routes = (app: Express): void => {
    app.post('/shipments', (req, res) => {
      const { status, body } = accept(req.body);
      res.status(status).json(body);
    });
    app.get('/shipments', (req, res) => {
      const { status } = parseInput(z.object({ status: z.enum(statuses).optional() }), req.query);
      res.json({ shipments: list(status) });
    });
    app.get('/shipments/:id', (req, res) => {
      res.json(control.get(req.params.id));
    });
    app.post('/shipments/:id/cancel', (req, res) => {
      res.json(control.cancel(req.params.id));
    });
    for (const action of ['pause', 'resume'] as const) {
      app.post(`/_control/${action}`, (_req, res) => {
        control[action]();
        res.json({ paused });
      });
    }
    for (const action of ['ship', 'deliver', 'lose'] as const) {
      app.post(`/_control/shipments/:id/${action}`, (req, res) => {
        res.json(control[action](req.params.id));
      });
    }
    app.get('/_control/dispatch-order', (_req, res) => {
      res.json({ shipmentIds: control.dispatchOrder() });
    });
    app.get('/_control/callbacks', (_req, res) => {
      res.json({ callbacks: control.callbacks() });
    });
  };

  return { app: createPartnerApp({ faults, routes, logger: options.logger }), ...control };
}

export type Warehouse = ReturnType<typeof createWarehouse>;

/** Runs a warehouse on `host:port` (default 127.0.0.1, a free port). */
export async function startWarehouse(
  options: WarehouseOptions & { port?: number; host?: string } = {},
): Promise<Omit<Warehouse, 'app'> & { url: string; close(): Promise<void> }> {
  const { app, ...warehouse } = createWarehouse(options);
  const listening = await listen(app, options);
  return {
    ...warehouse,
    url: listening.url,
    close: async () => {
      const stopped = warehouse.close();
      await listening.close();
      await stopped;
    },
  };
}
