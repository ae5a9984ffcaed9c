/** pino JSON logs; handlers log through child loggers bound to the message (subject, seq, ids). */
import type { Logger } from 'pino';
import { pino } from 'pino';

export function createLogger(level: string, name = 'vapora-learning'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
