export { memberWorkflow } from './member';
