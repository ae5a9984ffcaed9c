/**
 * The agent registry, written only by the worker. Agents send heartbeats on `vapora.agents.heartbeat.<agentId>`
 * (the subject is their identity: only that agent may publish on it); every replica listens in one queue group,
 * so each heartbeat is handled once. A heartbeat becomes the registry entry under the subject's id, bounded by the
 * operator's roster and stamped with the worker's receive time (an agent's own clock is never trusted). An agent's
 * first heartbeat also creates its assignment consumer.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ensureAgentConsumer } from '../bus/agent-consumer.js';
import { agentIdOfHeartbeatSubject, Subjects } from '../bus/subjects.js';
import type { AgentRegistration, AgentSpec } from '../domain/index.js';
import { AgentHeartbeatSchema, decode, registrationFrom } from '../domain/index.js';

export interface RegistryDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  agentsKv: KV;
  /** The operator's roster; undefined: none configured, heartbeats declare role and capacity. */
  roster: readonly AgentSpec[] | undefined;
  log: Logger;
  clock?: () => Date;
}

/** Queue group of every replica's heartbeat subscription. */
export const HEARTBEAT_QUEUE = 'vapora-learning-workers';

export class RegistryService {
  private subscription: Subscription | undefined;
  private done: Promise<void> = Promise.resolve();
  /** Agents whose consumer this replica has ensured, with the ceiling it was ensured for. */
  private readonly consumers = new Map<string, number>();
  private readonly specs: ReadonlyMap<string, AgentSpec>;

  constructor(private readonly deps: RegistryDeps) {
    this.specs = new Map((deps.roster ?? []).map((spec) => [spec.agentId, spec]));
  }

  /** Creates the consumers of the roster's agents, then starts listening to heartbeats. */
  async start(): Promise<void> {
    if (this.deps.roster === undefined) {
      this.deps.log.warn(
        'no agent roster (AGENTS) configured: taking role and capacity from heartbeats as declared',
      );
    }
    for (const spec of this.deps.roster ?? []) await this.ensureConsumer(spec.agentId, spec.maxConcurrent);
    const subscription = this.deps.nc.subscribe(Subjects.allHeartbeats, { queue: HEARTBEAT_QUEUE });
    this.subscription = subscription;
    this.done = (async () => {
      for await (const msg of subscription) {
        await this.handle(msg.subject, msg.data).catch((err: unknown) =>
          this.deps.log.warn({ err, subject: msg.subject }, 'heartbeat not recorded; the next one will be'),
        );
      }
    })();
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.done;
  }

  /** Applies one heartbeat; exposed for the unit of work, not for callers outside the worker. */
  async handle(subject: string, data: Uint8Array): Promise<AgentRegistration | undefined> {
    const agentId = agentIdOfHeartbeatSubject(subject);
    const decoded = decode(AgentHeartbeatSchema, data);
    if (agentId === null || !decoded.ok) {
      this.deps.log.warn(
        { subject, reason: decoded.ok ? 'bad subject' : decoded.reason },
        'ignoring heartbeat',
      );
      return undefined;
    }
    if (decoded.value.leaving === true) {
      await this.deps.agentsKv.delete(agentId);
      return undefined;
    }
    const now = (this.deps.clock ?? (() => new Date()))();
    const verdict = registrationFrom(
      agentId,
      decoded.value,
      now,
      this.specs.get(agentId),
      this.deps.roster !== undefined,
    );
    if (!verdict.ok) {
      this.deps.log.warn({ agentId, reason: verdict.reason }, 'ignoring heartbeat');
      return undefined;
    }
    await this.ensureConsumer(agentId, verdict.registration.maxConcurrent);
    await this.deps.agentsKv.put(agentId, JSON.stringify(verdict.registration));
    return verdict.registration;
  }

  private async ensureConsumer(agentId: string, maxConcurrent: number): Promise<void> {
    if (this.consumers.get(agentId) === maxConcurrent) return;
    const action = await ensureAgentConsumer(this.deps.jsm, agentId, maxConcurrent);
    if (action !== 'unchanged')
      this.deps.log.info({ agentId, maxConcurrent, action }, 'agent consumer ready');
    this.consumers.set(agentId, maxConcurrent);
  }
}
