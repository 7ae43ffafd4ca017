import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/view-snapshots.test.ts');
