// Service configuration from the environment, validated once with zod: one error lists every bad setting.
// Only service entry points call these; the library never reads the environment.
import { z } from 'zod';
import { HotstateError } from '../lib/errors.ts';
import { securityProblems, securitySettingsShape, type SecuritySettings } from '../lib/settings/security-settings.ts';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);
const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const common = {
  KAFKA_BROKERS: csv.pipe(
    z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1, 'at least one broker'),
  ),
  SCHEMA_REGISTRY_URL: z.url(),
  HOTSTATE_DATASETS: csv.pipe(
    z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'a dataset is a topic name')).min(1, 'at least one dataset'),
  ),
  HOTSTATE_HTTP_HOST: z.string().default('0.0.0.0'),
  HOTSTATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  HOTSTATE_BODY_LIMIT_BYTES: int(1_048_576, 1024, 64 * 1_048_576),
  HOTSTATE_SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 600_000),
  ...securitySettingsShape,
};

/** Adds the cross-field problems of the Kafka and registry security settings (security-settings.ts). */
const checkSecurity = (settings: SecuritySettings, ctx: z.RefinementCtx): void => {
  for (const problem of securityProblems(settings))
    ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
};

export const stateServiceSchema = z
  .object({
    ...common,
    HOTSTATE_HTTP_PORT: int(8080, 0, 65535),
    HOTSTATE_MIN_VERSION_TIMEOUT_MS: int(5000, 0, 300_000),
    HOTSTATE_POISON_POLICY: z.enum(['fail', 'skip', 'dead-letter']).default('skip'),
    HOTSTATE_DEAD_LETTER_CREATE: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    HOTSTATE_CURSOR_TTL_MS: int(60_000, 1000, 3_600_000),
    HOTSTATE_CHANGE_BUFFER: int(10_000, 10, 10_000_000),
    HOTSTATE_FEED_MAX_BUFFERED_BYTES: int(262_144, 4096, 64 * 1_048_576),
    HOTSTATE_MAX_FEEDS: int(1000, 1, 100_000),
    HOTSTATE_HEALTH_CHECK_INTERVAL_MS: int(5000, 100, 600_000),
    HOTSTATE_STALE_AFTER_MS: int(5000, 100, 3_600_000),
    HOTSTATE_READY_MAX_STALE_MS: int(30_000, 0, 86_400_000),
    HOTSTATE_SNAPSHOT_DIR: z.string().min(1).optional(),
    KAFKA_CONNECT_URL: z.url().optional(),
    HOTSTATE_CDC_DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
      .optional(),
    HOTSTATE_CDC_SLOT_INTERVAL_MS: int(15_000, 100, 3_600_000),
    HOTSTATE_CDC_TRANSACTIONS: z.enum(['whole', 'each-change']).default('whole'),
    HOTSTATE_SNAPSHOT_INTERVAL_MS: int(600_000, 1000, 86_400_000),
    HOTSTATE_SNAPSHOT_KEEP: int(2, 1, 100),
    HOTSTATE_SNAPSHOT_PEERS: csv.pipe(z.array(z.url())).default([]),
    HOTSTATE_OPERATOR_TOKEN: z.string().min(16, 'use an operator token of at least 16 characters').optional(),
    HOTSTATE_READ_TOKEN: z.string().min(16, 'use a read token of at least 16 characters').optional(),
    HOTSTATE_READ_TOKENS_FILE: z.string().min(1).optional(),
  })
  .refine((c) => c.HOTSTATE_SNAPSHOT_PEERS.length === 0 || c.HOTSTATE_SNAPSHOT_DIR !== undefined, {
    path: ['HOTSTATE_SNAPSHOT_PEERS'],
    error: 'peers give snapshots to HOTSTATE_SNAPSHOT_DIR: set it too',
  })
  .superRefine(checkSecurity);

export const ingestServiceSchema = z
  .object({
    ...common,
    HOTSTATE_HTTP_PORT: int(8090, 0, 65535),
    HOTSTATE_INGEST_TOKEN: z.string().min(16, 'use a bearer token of at least 16 characters').optional(),
    HOTSTATE_INGEST_TOKENS_FILE: z.string().min(1).optional(),
    HOTSTATE_MAX_BATCH_RECORDS: int(5000, 1, 100_000),
    HOTSTATE_OPERATOR_TOKEN: z.string().min(16, 'use an operator token of at least 16 characters').optional(),
  })
  .refine((c) => c.HOTSTATE_INGEST_TOKEN !== undefined || c.HOTSTATE_INGEST_TOKENS_FILE !== undefined, {
    path: ['HOTSTATE_INGEST_TOKEN'],
    error: 'writes need a token: set HOTSTATE_INGEST_TOKEN or HOTSTATE_INGEST_TOKENS_FILE',
  })
  .refine((c) => c.HOTSTATE_OPERATOR_TOKEN === undefined || c.HOTSTATE_OPERATOR_TOKEN !== c.HOTSTATE_INGEST_TOKEN, {
    path: ['HOTSTATE_OPERATOR_TOKEN'],
    error: 'must differ from HOTSTATE_INGEST_TOKEN: writers must not be operators',
  })
  .superRefine(checkSecurity);

export type StateServiceConfig = Readonly<z.infer<typeof stateServiceSchema>>;
export type IngestServiceConfig = Readonly<z.infer<typeof ingestServiceSchema>>;

export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    // zod messages name the rule, never the value, so secrets such as the ingest token are not echoed.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new HotstateError('HOTSTATE_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(parsed.data);
}
