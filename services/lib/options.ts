// Options of the library's factories: the given settings over their defaults (undefined counts as not given, as a
// JavaScript caller may pass it), checked by one schema, every bad setting named in one HOTSTATE_ERR_CONFIG_INVALID.
import type { z } from 'zod';
import { HotstateError } from './errors.ts';

export function settingsOf<Options extends object, Defaults extends Partial<Options>>(
  what: string,
  defaults: Defaults,
  options: Options,
  checks: z.ZodType,
): Options & Defaults {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const settings = { ...defaults, ...given } as Options & Defaults;
  const checked = checks.safeParse(settings);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `${what} options: ${problems.join('; ')}`);
  }
  return settings;
}
