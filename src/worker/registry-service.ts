/**
 * The agent registry, written only by the worker. Agents send heartbeats on `vapora.agents.heartbeat.<agentId>`
 * (the subject is their identity: only that agent may publish on it); every replica listens in one queue group,
 * so each heartbeat is handled once. A heartbeat becomes the registry entry under the subject's id, bounded by the
 * operator's roster and stamped with the worker's receive time (an agent's own clock is never trusted). An agent's
 * first heartbeat also creates its assignment consumer.
 *
 * Heartbeats waiting to be handled are kept per subject, the latest only (a heartbeat states the whole registration),
 * and handled in turn: an agent that floods its own subject costs one registry write per turn, and cannot queue the
 * other agents' heartbeats behind its own until their entries expire.
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

/**
 * An unchanged registration is written at most this often per agent and replica. Every write reaches every
 * replica's registry mirror; heartbeats come every 10 s by default and an entry lives 30 s, so this costs nothing
 * to an honest agent and caps what one flooding its own subject can make the registry do.
 */
export const MIN_REFRESH_MS = 1_000;

/** Queue group of every replica's heartbeat subscription. */
export const HEARTBEAT_QUEUE = 'vapora-learning-workers';

export class RegistryService {
  private subscription: Subscription | undefined;
  private done: Promise<void> = Promise.resolve();
  /** subject → the latest heartbeat not handled yet; insertion order is the order of turns. */
  private readonly waiting = new Map<string, Uint8Array>();
  private draining: Promise<void> = Promise.resolve();
  private drainRunning = false;
  /** agentId → when this replica last wrote its registration, and what it wrote (without the time). */
  private readonly written = new Map<string, { at: number; same: string }>();
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
        // A newer heartbeat of the same subject replaces the waiting one and keeps its turn.
        this.waiting.set(msg.subject, msg.data);
        if (!this.drainRunning) this.draining = this.drain();
      }
    })();
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.done;
    await this.draining;
  }

  /** Handles the waiting heartbeats, one subject at a time, until none is left. */
  private async drain(): Promise<void> {
    this.drainRunning = true;
    try {
      for (const [subject, data] of this.waiting) {
        this.waiting.delete(subject);
        await this.handle(subject, data).catch((err: unknown) =>
          this.deps.log.warn({ err, subject }, 'heartbeat not recorded; the next one will be'),
        );
      }
    } finally {
      this.drainRunning = false;
    }
  }

  /**
   * Applies one heartbeat; exposed for the unit of work, not for callers outside the worker. Returns the
   * registration written, or undefined when nothing was (ignored, leaving, or an unchanged one refreshed too soon).
   */
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
      this.written.delete(agentId);
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
    const { heartbeatAt: _at, ...rest } = verdict.registration;
    const same = JSON.stringify(rest);
    const last = this.written.get(agentId);
    if (last !== undefined && last.same === same && now.getTime() - last.at < MIN_REFRESH_MS)
      return undefined;
    await this.deps.agentsKv.put(agentId, JSON.stringify(verdict.registration));
    this.written.set(agentId, { at: now.getTime(), same });
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
