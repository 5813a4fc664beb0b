/**
 * The partner services a test runs against: a real warehouse and gift-card provider on free
 * ports (the simulators `npm start` runs too), and the settings that point the app at them.
 */
import type { AppConfig } from '../../config';
import { generateSecret } from '../../infra/webhook-signature';
import { startGiftCards } from '../../partners/giftcards';
import { startWarehouse, type WarehouseOptions } from '../../partners/warehouse';

export type RunningWarehouse = Awaited<ReturnType<typeof startWarehouse>>;
export type RunningGiftCards = Awaited<ReturnType<typeof startGiftCards>>;

export interface Partners {
  warehouse: RunningWarehouse;
  giftcards: RunningGiftCards;
  config: Partial<AppConfig>;
  stop: () => Promise<void>;
}

export interface PartnerOptions {
  warehouse?: WarehouseOptions;
  giftcards?: Parameters<typeof startGiftCards>[0];
}

export async function startPartners(options: PartnerOptions = {}): Promise<Partners> {
  const secret = generateSecret();
  const warehouse = await startWarehouse({
    dispatchIntervalMs: 5,
    deliveryDelayMs: 50,
    callbackInitialDelayMs: 50,
    ...options.warehouse,
    webhookSecret: secret,
  });
  const giftCardSecret = generateSecret();
  const giftcards = await startGiftCards({
    callbackInitialDelayMs: 50,
    ...options.giftcards,
    webhookSecret: giftCardSecret,
  });
  return {
    warehouse,
    giftcards,
    config: {
      WAREHOUSE_URL: warehouse.url,
      GIFTCARD_URL: giftcards.url,
      WAREHOUSE_WEBHOOK_SECRET: secret,
      GIFTCARD_WEBHOOK_SECRET: giftCardSecret,
    },
    stop: async () => {
      await Promise.all([warehouse.close(), giftcards.close()]);
    },
  };
}
