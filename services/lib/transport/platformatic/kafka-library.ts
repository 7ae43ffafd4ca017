// @platformatic/kafka as hotstate imports it: every module of ours imports the library from here (eslint enforces
// it), so that it is evaluated between these imports, whose order is the order of evaluation (see
// deferred-validators.ts for why).
import './deferred-validators.ts';
export * from '@platformatic/kafka';
import './deferred-validators-end.ts';
