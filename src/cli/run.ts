/** Development entry (`npm run cli -- <command>`, via tsx). */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exit(code);
