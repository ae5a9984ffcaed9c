export {
  validateDeploy,
  validateDeployReport,
  type DeployReport,
  type ValidateOptions,
} from './validate-deploy.js';
export { formatProblem, formatProblems, type DeployProblem } from './problem.js';
export { runValidateDeploy } from './main.js';
