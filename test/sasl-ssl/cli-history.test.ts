import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/cli-history.test.ts');
