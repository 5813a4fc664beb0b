/**
 * Workflow payloads encrypted before they leave the process (AES-256-GCM), so gift-card and
 * coupon codes and members' personal data in workflow inputs, results, signals, queries and
 * memos are not readable in Temporal's database or UI. Keys come from PAYLOAD_CODEC_KEYS
 * (`id:base64key,...`): the first encrypts, every one decrypts, and each encrypted payload names
 * its key's id, so keys rotate by putting a new one first. Payloads that were never encrypted
 * (histories from before, or written with no keys set) are read as they are.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const encryptedEncoding = 'binary/encrypted';
const keyIdKey = 'encryption-key-id';
const ivBytes = 12;
const tagBytes = 16;

export interface CodecKey {
  id: string;
  key: Buffer;
}

/** `id1:base64key,id2:base64key` (32-byte keys) as keys; throws naming what is wrong. */
export function parseCodecKeys(value: string): CodecKey[] {
  const keys = value.split(',').map((pair, i) => {
    const match = /^([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9+/]+={0,2})$/.exec(pair.trim());
    if (!match) throw new Error(`entry ${i + 1} is not id:base64key`);
    const key = Buffer.from(match[2]!, 'base64');
    if (key.length !== 32)
      throw new Error(
        `key ${match[1]} is ${key.length} bytes; AES-256 needs 32 (base64 of 32 bytes)`,
      );
    return { id: match[1]!, key };
  });
  const ids = keys.map((k) => k.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new Error(`key id ${repeated} is given twice`);
  return keys;
}

/** A new key in PAYLOAD_CODEC_KEYS form (`npm start` makes one for local development). */
export const generateCodecKey = (id: string): string =>
  `${id}:${randomBytes(32).toString('base64')}`;

const text = (bytes: Uint8Array | null | undefined): string | undefined =>
  bytes ? Buffer.from(bytes).toString('utf8') : undefined;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: CodecKey;

  constructor(keys: CodecKey[]) {
    if (!keys[0]) throw new Error('a payload codec needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Synchronous work: a failure rejects the promise (then, not a throw before it). */
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => this.encrypt(p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((p) => this.decrypt(p)));
  }

  private encrypt(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(this.current.id));
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: Buffer.from(encryptedEncoding),
        [keyIdKey]: Buffer.from(this.current.id),
      },
      data,
    };
  }

  private decrypt(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== encryptedEncoding) return payload;
    const id = text(payload.metadata?.[keyIdKey]) ?? '';
    const key = this.byId.get(id);
    if (!key)
      throw new Error(`a payload is encrypted with key "${id}", which PAYLOAD_CODEC_KEYS lacks`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < ivBytes + tagBytes) throw new Error('an encrypted payload is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, ivBytes));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(data.subarray(data.length - tagBytes));
    const plain = Buffer.concat([
      decipher.update(data.subarray(ivBytes, data.length - tagBytes)),
      decipher.final(),
    ]);
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/** The codec PAYLOAD_CODEC_KEYS asks for, or null (unset: payloads are not encrypted). */
export function payloadCodecOf(config: {
  PAYLOAD_CODEC_KEYS?: string | undefined;
}): PayloadCodec | null {
  return config.PAYLOAD_CODEC_KEYS
    ? new AesGcmPayloadCodec(parseCodecKeys(config.PAYLOAD_CODEC_KEYS))
    : null;
}

/** Every client and worker's data converter: the codec, when keys are set. */
export function dataConverterOf(config: {
  PAYLOAD_CODEC_KEYS?: string | undefined;
}): DataConverter {
  const codec = payloadCodecOf(config);
  return codec ? { payloadCodecs: [codec] } : {};
}
