import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/view-lifecycle.test.ts');
