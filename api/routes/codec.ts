import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { AppConfig } from '../../config';
import { payloadCodecOf } from '../../infra/payload-codec';
import { Problem } from '../problem';
import { defineRoute, type RouteSpec } from '../route';

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64')
  .max(4 * 1024 * 1024);
const payload = z.object({
  metadata: z.record(z.string(), base64).optional(),
  data: base64.optional(),
});
const payloads = z
  .object({ payloads: z.array(payload).max(1000) })
  .describe("Temporal's remote codec format: payloads with base64 metadata values and data.");

type JsonPayload = z.infer<typeof payload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * The payload codec as Temporal UI's (and `temporal --codec-endpoint`'s) remote codec: ops and
 * admins see workflow inputs and results decrypted in the UI, nobody else. CORS lets the UI's
 * origin (TEMPORAL_UI_URL) call it from the browser. Without PAYLOAD_CODEC_KEYS, payloads pass
 * through as they are.
 */
export function codecRoutes(deps: { config: AppConfig }): RouteSpec[] {
  const codec: PayloadCodec | null = payloadCodecOf(deps.config);
  const corsOrigins = [new URL(deps.config.TEMPORAL_UI_URL).origin];
  const route = (direction: 'encode' | 'decode') =>
    defineRoute({
      method: 'post',
      path: `/codec/${direction}`,
      operationId: `${direction}Payloads`,
      summary:
        direction === 'decode'
          ? 'Decrypt workflow payloads (Temporal UI remote codec)'
          : 'Encrypt workflow payloads (Temporal UI remote codec)',
      tag: 'System',
      auth: 'ops',
      corsOrigins,
      bodyLimit: '8mb',
      body: payloads,
      responses: {
        200: { description: `The payloads, ${direction}d.`, schema: payloads },
        422: { description: 'A payload could not be decoded (unknown key, or tampered with).' },
      },
      handler: async ({ body }, _req, res) => {
        const answer = await Promise.all(
          body.payloads.map(async (p, i) => {
            if (!codec) return p;
            try {
              const [done] = await codec[direction]([fromJson(p)]);
              return toJson(done!);
            } catch (err) {
              throw new Problem('validation', `Payload ${i} could not be ${direction}d.`, {
                errors: [{ field: `payloads[${i}]`, message: (err as Error).message }],
              });
            }
          }),
        );
        res.json({ payloads: answer });
      },
    });
  return [route('decode'), route('encode')];
}
