import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('e2e/state-snapshots.test.ts');
