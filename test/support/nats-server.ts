/** Tests use the same launcher as the demo: a private nats-server on a random port with its own store. */
export * from '../../src/bus/local-nats-server.js';
