// `npm run test:reliability [-- --profile ci|full]`: a thin entry point; the runner lives with the suite
// in relay/test/reliability/runner.ts (typechecked there).
import '../../relay/test/reliability/runner.js';
