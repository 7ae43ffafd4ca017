import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/topics.test.ts');
