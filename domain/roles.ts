/**
 * API roles. A key's role grants the roles listed for it: an admin may do anything, ops may do
 * what readonly may, and partners see only the partner routes.
 */
export const roles = ['admin', 'ops', 'partner', 'readonly'] as const;
export type Role = (typeof roles)[number];

const grants: Record<Role, readonly Role[]> = {
  admin: roles,
  ops: ['ops', 'readonly'],
  partner: ['partner'],
  readonly: ['readonly'],
};

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** Whether a key holding `held` may call a route that requires `required`. */
export function roleAllows(held: Role, required: Role): boolean {
  return grants[held].includes(required);
}
