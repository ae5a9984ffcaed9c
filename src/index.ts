/** vapora-learning: the library entry. */
export * from './domain/index.js';
