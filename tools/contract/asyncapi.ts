/**
 * The AsyncAPI 3.0 document of the wire contract (README "Subjects, streams and buckets"), built from the TypeBox
 * schemas. Roles are operations: each says who sends or receives on a channel, tagged with the role (producer,
 * agent, worker, operator), so one document serves every team.
 */
import { DlqHeaders } from '../../src/bus/dead-letter.js';
import { Streams } from '../../src/bus/subjects.js';
import { MESSAGE_SCHEMAS, plainSchema } from './json-schemas.js';

const str = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  description,
  ...extra,
});

const MSG_ID = (what: string) => str(`JetStream deduplication id: ${what}.`);

/** Header schemas per message: what each publisher sets and what readers may rely on. */
const HEADERS = {
  task: {
    type: 'object',
    properties: {
      'Nats-Msg-Id': MSG_ID(
        'the taskId, so a task published twice within 2 minutes is stored once. Producers set it; the worker’s reassignment requests carry none (a guessable id could be published first and get the request dropped)',
      ),
      'Vapora-Attempt': str(
        'Set by the worker on a reassignment request (the attempt to make, 2 or more); producers do not set it. Only a request: the worker acts on it once per attempt, while the task record says the previous attempt was taken back, and takes the task from that record, so one sent by anybody else changes nothing the worker would not have done.',
        { pattern: '^[0-9]+$' },
      ),
      'Vapora-Replayed-From': str('Set by `dlq replay`: VAPORA_DLQ:<sequence> of the dead letter replayed.'),
    },
  },
  unassignable: {
    type: 'object',
    properties: { 'Nats-Msg-Id': MSG_ID('unassignable-<taskId>') },
  },
  assignment: {
    type: 'object',
    properties: {
      'Nats-Msg-Id': MSG_ID('<taskId>.<attempt>, so a re-published decision is stored once'),
      'Vapora-Task-Id': str('The taskId, for tooling that reads headers only.'),
    },
  },
  result: {
    type: 'object',
    properties: {
      'Nats-Msg-Id': MSG_ID(
        'unguessable (e.g. a random UUID per execution); never a value another agent could predict',
      ),
      'Vapora-Replayed-From': str('Set by `dlq replay`: VAPORA_DLQ:<sequence> of the dead letter replayed.'),
    },
  },
  timeout: {
    type: 'object',
    description:
      'No Nats-Msg-Id: the learner keys the timeout by (taskId, attempt, agentId) like any result, so a repeat counts once. The payload’s executionId is timeout-<attempt>.',
    properties: {
      'Vapora-Synthetic': str('Always `timeout`: the worker charged the attempt as failed.', {
        const: 'timeout',
      }),
    },
    required: ['Vapora-Synthetic'],
  },
  deadLetter: {
    type: 'object',
    description:
      'The original headers are kept; every original `Nats-*` header is renamed `Vapora-Dlq-Original-<name>`.',
    properties: {
      'Nats-Msg-Id': MSG_ID(
        'dlq-<origin stream>-<origin sequence>: a redelivered poison message is kept once',
      ),
      [DlqHeaders.reason]: str(
        'Why: `invalid task: …`, `invalid execution result: …`, `agentId mismatch: …`, `unassigned result`, `processing failed <n> times`. One line, at most 1 KiB.',
      ),
      [DlqHeaders.error]: str('The error behind the reason, when there was one. One line, at most 1 KiB.'),
      [DlqHeaders.origin]: str('The subject the message was published on (where `dlq replay` sends it).'),
      [DlqHeaders.stream]: str('The stream that held the original.'),
      [DlqHeaders.sequence]: str('The original stream sequence.', { pattern: '^[0-9]+$' }),
      [DlqHeaders.deliveries]: str('Deliveries of the original before it was dead-lettered.', {
        pattern: '^[0-9]+$',
      }),
      [DlqHeaders.receivedAt]: str('When the worker dead-lettered it (ISO 8601).', { format: 'date-time' }),
      [DlqHeaders.truncated]: str(
        'Present when the payload is only the head of the original: the original size in bytes.',
        { pattern: '^[0-9]+$' },
      ),
      'Vapora-Dlq-Original-Nats-Msg-Id': str("The original's Nats-Msg-Id."),
      'Vapora-Original-Msg-Id': str("The original's Nats-Msg-Id (earlier name, still written)."),
    },
    required: [DlqHeaders.reason, DlqHeaders.origin],
  },
} as const;

const agentIdParameter = {
  description: 'The agent: one NATS subject token (no ".", "*", ">" or whitespace), at most 128 characters.',
};

type Role = 'producer' | 'agent' | 'worker' | 'operator';

interface ChannelSpec {
  id: string;
  address: string;
  title: string;
  description: string;
  message: { name: string; title: string; summary: string; payload: string | null; headers: object };
  parameters?: Record<string, { description: string }>;
  send: Role[];
  receive: Role[];
}

const CHANNELS: readonly ChannelSpec[] = [
  {
    id: 'tasksArrived',
    address: 'vapora.tasks.arrived',
    title: 'Task arrivals',
    description: `Tasks to assign (stream ${Streams.tasks}, kept 7 days). The worker's assigner consumer reads them.`,
    message: {
      name: 'TaskArrived',
      title: 'Task arrived',
      summary: 'A task to assign to an agent.',
      payload: 'TaskArrived',
      headers: HEADERS.task,
    },
    send: ['producer', 'worker'],
    receive: ['worker'],
  },
  {
    id: 'tasksUnassignable',
    address: 'vapora.tasks.unassignable',
    title: 'Unassignable tasks',
    description: `Tasks no eligible agent took in time (stream ${Streams.tasks}).`,
    message: {
      name: 'Unassignable',
      title: 'Task unassignable',
      summary: 'The worker gave up on a task: no eligible agent with capacity.',
      payload: 'Unassignable',
      headers: HEADERS.unassignable,
    },
    send: ['worker'],
    receive: ['producer', 'operator'],
  },
  {
    id: 'assignments',
    address: 'vapora.assignments.{agentId}',
    title: 'Assignments',
    description: `One subject per agent (stream ${Streams.assignments}); each agent reads its own through its durable consumer agent-<agentId>.`,
    parameters: { agentId: agentIdParameter },
    message: {
      name: 'Assignment',
      title: 'Assignment',
      summary: 'A task given to this agent, with the ranking and reasoning of the decision.',
      payload: 'Assignment',
      headers: HEADERS.assignment,
    },
    send: ['worker'],
    receive: ['agent', 'operator'],
  },
  {
    id: 'results',
    address: 'vapora.results.{agentId}',
    title: 'Execution results',
    description: `One subject per agent (stream ${Streams.results}, at most 64 KiB); only that agent may publish on it. The payload agentId must equal the subject's.`,
    parameters: { agentId: agentIdParameter },
    message: {
      name: 'ExecutionResult',
      title: 'Execution result',
      summary: 'What happened when the agent executed an assignment.',
      payload: 'ExecutionResult',
      headers: HEADERS.result,
    },
    send: ['agent'],
    receive: ['worker', 'operator'],
  },
  {
    id: 'timeouts',
    address: 'vapora.results.timeouts.{agentId}',
    title: 'Timeouts (worker only)',
    description: `The worker's record that an agent's attempt timed out (stream ${Streams.results}), counted by the learner as a failed result. No agent permission reaches this subject.`,
    parameters: { agentId: agentIdParameter },
    message: {
      name: 'Timeout',
      title: 'Timeout',
      summary: 'A charged timeout, as a failed execution result.',
      payload: 'ExecutionResult',
      headers: HEADERS.timeout,
    },
    send: ['worker'],
    receive: ['worker'],
  },
  {
    id: 'heartbeats',
    address: 'vapora.agents.heartbeat.{agentId}',
    title: 'Heartbeats',
    description:
      "Core NATS (no stream), every 10 s. The subject is the agent's identity; the worker writes the registry entry in KV vapora_agents.",
    parameters: { agentId: agentIdParameter },
    message: {
      name: 'AgentHeartbeat',
      title: 'Agent heartbeat',
      summary: 'An agent is alive (or leaving), with what it takes.',
      payload: 'AgentHeartbeat',
      headers: { type: 'object', properties: {} },
    },
    send: ['agent'],
    receive: ['worker'],
  },
  {
    id: 'deadLetters',
    address: 'vapora.dlq.{origin}',
    title: 'Dead letters',
    description: `Input a consumer could not use (stream ${Streams.deadLetters}, kept 30 days): the original bytes as payload, the reason in headers. Inspect and replay with \`vapora-learning dlq list|replay\`.`,
    parameters: {
      origin: {
        description:
          'The original subject without its "vapora." prefix, e.g. tasks.arrived or results.agent-1 (several tokens).',
      },
    },
    message: {
      name: 'DeadLetter',
      title: 'Dead letter',
      summary: 'The original message, unchanged, with Vapora-Dlq-* headers saying why.',
      payload: null,
      headers: HEADERS.deadLetter,
    },
    send: ['worker'],
    receive: ['operator'],
  },
];

const ROLE_DESCRIPTIONS: Record<Role, string> = {
  producer: 'Publishes tasks (any language, with producer credentials).',
  agent: 'An agent pod: reads its own assignments, publishes its own results and heartbeats.',
  worker: 'A vapora-learning worker replica (assigner and learner consumers).',
  operator: 'Tools that read the streams: the dashboard, the CLI, Grafana exporters.',
};

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function buildAsyncApi(version: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const c of CHANNELS) {
    channels[c.id] = {
      address: c.address,
      title: c.title,
      description: c.description,
      messages: { [c.message.name]: { $ref: `#/components/messages/${c.message.name}` } },
      ...(c.parameters ? { parameters: c.parameters } : {}),
    };
    messages[c.message.name] = {
      name: c.message.name,
      title: c.message.title,
      summary: c.message.summary,
      contentType: c.message.payload === null ? 'application/octet-stream' : 'application/json',
      headers: c.message.headers,
      ...(c.message.payload !== null
        ? { payload: { $ref: `#/components/schemas/${c.message.payload}` } }
        : { payload: { description: 'The original bytes, unchanged (may be any content).' } }),
    };
    for (const [action, roles] of [
      ['send', c.send],
      ['receive', c.receive],
    ] as const) {
      for (const role of roles) {
        operations[`${role}${capital(action)}${capital(c.id)}`] = {
          action,
          title: `${capital(role)} ${action === 'send' ? 'publishes on' : 'subscribes to'} ${c.address}`,
          channel: { $ref: `#/channels/${c.id}` },
          messages: [{ $ref: `#/channels/${c.id}/messages/${c.message.name}` }],
          tags: [{ name: role }],
        };
      }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'vapora-learning',
      version,
      description:
        'The NATS JetStream contract of vapora-learning: which agent gets which task, and what agents report back. ' +
        'Generated from the TypeBox schemas (src/domain/messages.ts) by `npm run docs:contract`; do not edit by hand. ' +
        'Changes are additive only.',
      license: { name: 'Apache-2.0' },
      tags: Object.entries(ROLE_DESCRIPTIONS).map(([name, description]) => ({ name, description })),
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:4222',
        protocol: 'nats',
        description: 'A NATS server with JetStream (2.9 or later).',
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: Object.fromEntries(MESSAGE_SCHEMAS.map((m) => [m.name, plainSchema(m.schema)])),
    },
  };
}
