/**
 * Gift-card and coupon codes are money: whoever reads one can spend it. Only the roles that hand
 * them out or support members with them (`ops`, and `admin`, which holds every role) see them in
 * full; every other caller sees the same masked form everywhere a code appears (the last four
 * characters, the rest as `*`). Webhooks to partners are not API reads and carry the code as is.
 */
import { roleAllows, type Role } from './roles';

/** Whether a caller with `role` may read gift-card and coupon codes in full. */
export const mayReadCodes = (role: Role): boolean => roleAllows(role, 'ops');

/** `ABCD-1234-WXYZ` → `**********WXYZ`; codes of 4 characters or fewer are masked whole. */
export function maskCode(code: string): string {
  const shown = code.length > 4 ? code.slice(-4) : '';
  return '*'.repeat(code.length - shown.length) + shown;
}

/** The code as `role` may see it. */
export const codeFor = (role: Role, code: string): string =>
  mayReadCodes(role) ? code : maskCode(code);

export const codeDescription =
  'Gift-card and coupon codes are shown in full to `ops` and `admin` keys only; other roles get ' +
  'them masked (`*` for all but the last 4 characters), everywhere a code appears.';
