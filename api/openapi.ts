/** Builds the OpenAPI 3.1 document from the route declarations (the same schemas that validate). */
import { z } from 'zod';
import { honoursIdempotencyKey, type RouteSpec } from './route';
import { problemTypes } from './problem';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

export const openApiPath = (expressPath: string): string =>
  expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const problemSchema: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', examples: ['/problems/validation'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

function parameters(spec: RouteSpec): JsonSchema[] {
  const list: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape)) {
      list.push({
        name,
        in: where,
        required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(field as z.ZodType, 'input'),
      });
    }
  }
  if (honoursIdempotencyKey(spec)) {
    list.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes a retry safe: the same key and request return the stored answer; the same key with another request is a 422; a repeat while the first is in flight is a 409.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return list;
}

function operation(spec: RouteSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    const contentType = response.contentType ?? 'application/json';
    responses[status] = {
      description: response.description,
      ...(response.schema
        ? { content: { [contentType]: { schema: jsonSchema(response.schema, 'output') } } }
        : {}),
    };
  }
  const errors: number[] = [500];
  if (spec.auth !== 'public') errors.push(401, 403);
  if (spec.body || spec.query) errors.push(422);
  if (spec.body) errors.push(400, 415);
  if (spec.params) errors.push(404);
  if (honoursIdempotencyKey(spec)) errors.push(409);
  for (const status of errors) {
    responses[String(status)] ??= { $ref: `#/components/responses/Problem${status}` };
  }
  const params = parameters(spec);
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.auth === 'public'
      ? { security: [] }
      : { security: [{ apiKey: [] }], 'x-required-role': spec.auth }),
    ...(params.length ? { parameters: params } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export function buildOpenApi(routes: RouteSpec[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of routes) {
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation(spec);
  }
  const problemResponses = Object.fromEntries(
    Object.values(problemTypes).map(({ status, title }) => [
      `Problem${status}`,
      {
        description: title,
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'loyalty-ops API',
      version: info.version,
      description:
        'Loyalty operations on Temporal. Authenticate with `Authorization: Bearer <key>`; each ' +
        "operation's `x-required-role` names the role it needs (admin may do everything, ops " +
        'what readonly may). Errors are `application/problem+json`.',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key' } },
      schemas: { Problem: problemSchema },
      responses: problemResponses,
    },
    security: [{ apiKey: [] }],
    paths,
  };
}
