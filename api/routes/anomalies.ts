/**
 * `GET /anomalies`: what the anomaly detectors found (guardrails/), newest first, for ops to look
 * into: which detector, about whom and what, what was seen against which threshold, and why.
 * A bad filter is a 422 naming it (as on every list route); nothing here changes anything.
 */
import { z } from 'zod';
import type { Db } from '../../infra/db';
import { detectorNames } from '../../guardrails/detectors';
import { findingExists, listFindings, type FindingRow } from '../../guardrails/findings';
import { Problem } from '../problem';
import { bigintId, defineRoute, type RouteSpec } from '../route';

const finding = z.object({
  id: z.number().int(),
  detector: z.enum(detectorNames),
  memberId: z.uuid().nullable().describe('Null for programme-wide findings (spikes).'),
  subject: z
    .string()
    .describe('What it is about: `redemption:<id>`, `event:<id>`, `reward:<id>@<hour>`, ...'),
  redemptionId: z.string().nullable().describe('The redemption screened, when it is about one.'),
  seen: z.record(z.string(), z.unknown()).describe('What the detector saw.'),
  threshold: z.record(z.string(), z.unknown()).describe('The policy it crossed.'),
  why: z.string(),
  ruleVersion: z.number().int().nullable().describe('The programme version whose policy fired.'),
  at: z.iso.datetime(),
});

const view = (r: FindingRow): z.infer<typeof finding> => ({
  id: Number(r.id),
  detector: r.detector,
  memberId: r.member_id,
  subject: r.subject,
  redemptionId: r.subject.startsWith('redemption:') ? r.subject.slice('redemption:'.length) : null,
  seen: r.seen,
  threshold: r.threshold,
  why: r.why,
  ruleVersion: r.rule_version,
  at: r.at.toISOString(),
});

export function anomalyRoutes(deps: { db: Db }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/anomalies',
      operationId: 'listAnomalies',
      summary:
        "The anomaly detectors' findings, newest first: what was seen against which threshold",
      tag: 'Program',
      auth: 'readonly',
      query: z.object({
        detector: z.enum(detectorNames).optional().describe('Only this detector.'),
        memberId: z.uuid().optional().describe("Only this member's findings."),
        since: z.iso
          .datetime({ offset: true })
          .optional()
          .describe('Only findings at or after this time.'),
        after: bigintId()
          .optional()
          .describe('Findings after this one (its id, from `nextAfter`).'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      responses: {
        200: {
          description: 'One page of findings; `nextAfter` is the `after` of the next page.',
          schema: z.object({
            anomalies: z.array(finding),
            nextAfter: z.number().int().nullable(),
          }),
        },
        422: { description: 'A filter is not valid (says which), or `after` names no finding.' },
      },
      handler: async ({ query }, _req, res) => {
        if (query.after !== undefined && !(await findingExists(deps.db, query.after))) {
          throw new Problem('validation', `No finding ${query.after} to page after.`, {
            errors: [{ field: 'query.after', message: 'unknown finding id' }],
          });
        }
        const rows = await listFindings(deps.db, {
          detector: query.detector,
          memberId: query.memberId,
          since: query.since ? new Date(query.since) : undefined,
          after: query.after,
          limit: query.limit,
        });
        res.json({
          anomalies: rows.map(view),
          nextAfter: rows.length === query.limit ? Number(rows.at(-1)!.id) : null,
        });
      },
    }),
  ];
}
