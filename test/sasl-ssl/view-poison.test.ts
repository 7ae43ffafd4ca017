import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/view-poison.test.ts');
