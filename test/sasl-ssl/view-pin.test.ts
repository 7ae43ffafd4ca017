import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/view-pin.test.ts');
