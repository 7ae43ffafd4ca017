// One view in its own process, for the chaos suite. It writes every change notification to a file (partition,
// offset, key) and reports its state on stdout twice a second; on stdin it answers read-your-writes checks
// (waitFor a token, then get the key) and a final digest.
import { appendFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createLogger } from '../../services/lib/logger.ts';
import { createView } from '../../services/lib/view/view.ts';

const {
  CHAOS_BROKERS = '',
  CHAOS_REGISTRY = '',
  CHAOS_TOPIC = '',
  CHAOS_NAME = 'view',
  CHAOS_CHANGES = '',
} = process.env;
const say = (message: object): void => {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...message })}\n`);
};

writeFileSync(CHAOS_CHANGES, '');
let pending: string[] = [];
const flush = (): void => {
  if (pending.length === 0) return;
  appendFileSync(CHAOS_CHANGES, pending.join(''));
  pending = [];
};

const view = await createView({
  kafka: { brokers: CHAOS_BROKERS.split(','), clientId: `chaos-${CHAOS_NAME}` },
  registryUrl: CHAOS_REGISTRY,
  topic: CHAOS_TOPIC,
  healthCheckIntervalMs: 1000,
  staleAfterMs: 3000,
  logger: createLogger({ level: 'warn' }).child({ view: CHAOS_NAME }),
});
view.onChange((change) => {
  pending.push(`${String(change.partition)} ${String(change.offset)} ${change.key}\n`);
});
const status = (): void => {
  const s = view.status();
  say({
    type: 'status',
    state: s.state,
    positions: Object.fromEntries(s.partitions.map((p) => [p.partition, p.position])),
  });
};
setInterval(() => {
  flush();
  status();
}, 500).unref();
await view.ready;
say({ type: 'ready' });

interface Command {
  readonly id: number;
  readonly type: 'check' | 'digest';
  readonly token?: string;
  readonly key?: string;
}

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  if (command.type === 'check') {
    try {
      await view.waitFor(command.token ?? '', 30_000);
      const item = view.get<{ seq: number }>(command.key ?? '');
      say({ type: 'check', id: command.id, ok: true, seq: item === undefined ? null : item.value.seq });
    } catch (error) {
      say({ type: 'check', id: command.id, ok: false, error: (error as Error).message });
    }
  } else {
    flush();
    const lines = view
      .keys()
      .map((key) => {
        const item = view.get(key);
        return `${key} ${String(item?.partition)} ${String(item?.offset)}`;
      })
      .sort();
    say({
      type: 'digest',
      id: command.id,
      digest: createHash('sha256').update(lines.join('\n')).digest('hex'),
      keys: lines.length,
      state: view.status().state,
    });
  }
}
