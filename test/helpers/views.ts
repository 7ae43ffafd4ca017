// Views for tests: started on the shared infrastructure, closed after the test.
import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import { createView, type HotstateView, type ViewOptions } from '../../services/lib/view/view.ts';
import { testInfra } from './infra.ts';

export async function testView(
  t: TestContext,
  topic: string,
  options: Partial<ViewOptions> = {},
): Promise<HotstateView> {
  const view = await createView({
    kafka: testInfra().kafka,
    registryUrl: testInfra().registry,
    topic,
    healthCheckIntervalMs: 500,
    ...options,
  });
  t.after(() => view.close());
  return view;
}

/** A digest of a view's whole content and metadata, to compare two instances. */
export function viewDigest(view: HotstateView): string {
  const hash = createHash('sha256');
  const snapshot = view.snapshot();
  try {
    const items = [...snapshot.items()].sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const item of items)
      hash.update(JSON.stringify([item.key, item.value, item.partition, item.offset, item.timestamp, item.schemaId]));
  } finally {
    snapshot.release();
  }
  return hash.digest('hex');
}
