// Ends the deferral of deferred-validators.ts: imported right after @platformatic/kafka (kafka-library.ts).
import { compileAtOnceAgain } from './deferred-validators.ts';

compileAtOnceAgain();
