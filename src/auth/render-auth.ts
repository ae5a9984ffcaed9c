/**
 * The nats-server authorization for a roster of agents, rendered as text (no I/O): `vapora-learning auth render`
 * prints it, k8s/base/nats/auth.conf is its output for the roster the manifests configure, and the deploy
 * validator renders it again to prove the shipped file was not edited by hand.
 *
 * One account (VAPORA) holds every stream and bucket, so per-user permissions are the only boundary between
 * clients. Config-file mode has no permission templates: each agent gets its own user with exactly what the SDK
 * needs and nothing that writes shared state (no KV, no consumer or stream API, no shared inbox).
 */
import { Buckets, Streams, Subjects } from '../bus/subjects.js';
import type { AgentSpec } from '../domain/agent-roster.js';

export const WORKER_USER = 'worker';
export const PRODUCER_USER = 'producer';
export const WORKER_PASSWORD_VARIABLE = 'VAPORA_WORKER_PASSWORD';
export const PRODUCER_PASSWORD_VARIABLE = 'VAPORA_PRODUCER_PASSWORD';
export const DASHBOARD_USER = 'dashboard';
export const DASHBOARD_PASSWORD_VARIABLE = 'VAPORA_DASHBOARD_PASSWORD';
/** The dashboard's reply inbox (`inboxPrefix` of its connection, src/dashboard/run-dashboard.ts). */
export const DASHBOARD_INBOX_PREFIX = '_INBOX.dashboard';

/** The command that renders this file, written into its header. */
export const RENDER_COMMAND = 'vapora-learning auth render --agents';

// Names the file and the environment can carry unquoted: the id becomes part of a variable name.
const RENDERABLE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export interface UserPermissions {
  publish: readonly string[];
  subscribe: readonly string[];
}

export const agentUser = (agentId: string): string => `agent-${agentId}`;
export const agentInboxPrefix = (agentId: string): string => `_INBOX.${agentUser(agentId)}`;

/** `VAPORA_AGENT_<ID>_PASSWORD`, the id upper-cased with `-` as `_`. */
export function agentPasswordVariable(agentId: string): string {
  return `VAPORA_AGENT_${agentId.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
}

/**
 * Exactly what the agent SDK sends (measured against nats.js v3 in test/security/nats-permissions.int.test.ts):
 * CONSUMER.INFO when it looks its consumer up, MSG.NEXT to pull, `$JS.ACK…` for ack/ackAck/working/nak/term, its
 * results and heartbeats; replies (pulled messages, publish acks) arrive on its private inbox.
 */
export function agentPermissions(agentId: string): UserPermissions {
  const consumer = `VAPORA_ASSIGNMENTS.${agentUser(agentId)}`;
  return {
    publish: [
      `vapora.results.${agentId}`,
      `vapora.agents.heartbeat.${agentId}`,
      `$JS.API.CONSUMER.MSG.NEXT.${consumer}`,
      `$JS.API.CONSUMER.INFO.${consumer}`,
      `$JS.ACK.${consumer}.>`,
    ],
    subscribe: [`${agentInboxPrefix(agentId)}.>`],
  };
}

/** The worker owns the whole `vapora.>` space and the JetStream/KV APIs (it provisions, assigns, records). */
export const WORKER_PERMISSIONS: UserPermissions = {
  publish: ['vapora.>', '$JS.>', '$KV.>', '_INBOX.>'],
  subscribe: ['vapora.>', '$JS.>', '$KV.>', '_INBOX.>'],
};

/** Producers may only announce tasks; the subscription is for JetStream publish acks. */
export const PRODUCER_PERMISSIONS: UserPermissions = {
  publish: ['vapora.tasks.arrived'],
  subscribe: ['_INBOX.producer.>'],
};

/** The buckets the dashboard watches (src/dashboard/feed.ts). */
const WATCHED_BUCKETS = [Buckets.agents, Buckets.capacity, Buckets.profiles] as const;

/**
 * Read-only, exactly what the dashboard sends (measured against nats.js v3 in
 * test/security/dashboard-permissions.int.test.ts): a KV watch creates an ordered push consumer on
 * `CONSUMER.CREATE.KV_<bucket>.<name>.$KV.<bucket>.>` (deliveries to its inbox, flow-control replies on
 * `$JS.FC.KV_<bucket>.>`); the dead letters are read by an ordered pull consumer on VAPORA_DLQ (STREAM.INFO,
 * CREATE, MSG.NEXT); assignments and results are core subscriptions. No CONSUMER.DELETE: an ordered consumer's
 * delete on reset is best effort, and the abandoned ephemeral expires by itself (inactive_threshold, 5 min).
 * The server cannot restrict a consumer's deliver subject by permission (docs/dashboard.md, "NATS identity").
 */
export const DASHBOARD_PERMISSIONS: UserPermissions = {
  publish: [
    ...WATCHED_BUCKETS.map((b) => `$JS.API.CONSUMER.CREATE.KV_${b}.*.$KV.${b}.>`),
    ...WATCHED_BUCKETS.map((b) => `$JS.FC.KV_${b}.>`),
    `$JS.API.STREAM.INFO.${Streams.deadLetters}`,
    `$JS.API.CONSUMER.CREATE.${Streams.deadLetters}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${Streams.deadLetters}.*`,
  ],
  subscribe: [Subjects.allAssignments, 'vapora.results.>', `${DASHBOARD_INBOX_PREFIX}.>`],
};

/** Ids that cannot be rendered (not a plain token) or whose password variables would collide. */
export function checkRenderable(agents: readonly AgentSpec[]): void {
  const variables = new Map<string, string>();
  for (const { agentId } of agents) {
    if (!RENDERABLE_ID.test(agentId)) {
      throw new RangeError(
        `agent '${agentId}': an id in auth.conf must be letters, digits, '-' and '_' (it names a variable)`,
      );
    }
    const variable = agentPasswordVariable(agentId);
    const other = variables.get(variable);
    if (other !== undefined)
      throw new RangeError(`agents '${other}' and '${agentId}' would share the variable ${variable}`);
    variables.set(variable, agentId);
  }
}

/** The roster as `auth render --agents` takes it (role and ceiling always spelled out). */
export function formatAgentSpecs(agents: readonly AgentSpec[]): string {
  return agents.map((a) => `${a.agentId}:${a.role}:${a.maxConcurrent}`).join(',');
}

const quote = (s: string) => JSON.stringify(s);

function allowBlock(kind: 'publish' | 'subscribe', subjects: readonly string[], indent: string): string[] {
  return [
    `${indent}${kind}: {`,
    `${indent}  allow: [`,
    ...subjects.map((s) => `${indent}    ${quote(s)}`),
    `${indent}  ]`,
    `${indent}}`,
  ];
}

function userBlock(user: string, variable: string, permissions: UserPermissions, indent: string): string {
  const i = indent;
  return [
    `${i}{`,
    `${i}  user: ${quote(user)}`,
    `${i}  password: $${variable}`,
    `${i}  permissions: {`,
    ...allowBlock('publish', permissions.publish, `${i}    `),
    ...allowBlock('subscribe', permissions.subscribe, `${i}    `),
    `${i}  }`,
    `${i}}`,
  ].join('\n');
}

/** The whole file: header, account VAPORA with its JetStream limits, worker, producer, dashboard, one user per agent. */
export function renderAuthConf(agents: readonly AgentSpec[]): string {
  checkRenderable(agents);
  const roster = formatAgentSpecs(agents);
  const users = [
    userBlock(WORKER_USER, WORKER_PASSWORD_VARIABLE, WORKER_PERMISSIONS, '      '),
    userBlock(PRODUCER_USER, PRODUCER_PASSWORD_VARIABLE, PRODUCER_PERMISSIONS, '      '),
    '      # the read-only web dashboard (`vapora-learning dashboard`): watches KV, reads streams, writes nothing\n' +
      userBlock(DASHBOARD_USER, DASHBOARD_PASSWORD_VARIABLE, DASHBOARD_PERMISSIONS, '      '),
    ...agents.map(
      (a) =>
        `      # agent ${a.agentId} (role ${a.role}, at most ${a.maxConcurrent} in flight: the worker's AGENTS)\n` +
        userBlock(
          agentUser(a.agentId),
          agentPasswordVariable(a.agentId),
          agentPermissions(a.agentId),
          '      ',
        ),
    ),
  ];
  return `# GENERATED by \`${RENDER_COMMAND} ${roster || "''"}\`. Do not edit:
# change the roster (the worker's AGENTS) and render again; \`npm run validate:deploy\` fails when this file
# differs from what the command renders for the roster the manifests configure.
#
# VAPORA NATS authorization. Included from nats.conf; valid on nats-server 2.9.10 and 2.10+.
# One account (VAPORA) holds every stream and KV bucket, so per-user permissions are the only boundary between
# clients. Passwords are never written here: \`$NAME\` resolves from the environment of the nats-server process
# (the \`nats-auth\` Secret, loaded with envFrom).
#
# Agents write nothing shared: no KV, no consumer or stream API. The worker registers them (from heartbeats on
# vapora.agents.heartbeat.<id>) and creates each one's pull consumer agent-<id>; an agent may only fetch (MSG.NEXT)
# and ack on that consumer, look it up (INFO), publish its own results and heartbeats, and read its private inbox.
# Pull consumers deliver to the requester's reply inbox, so only the worker gets \`_INBOX.>\`; producers, agents and
# the dashboard connect with a private inbox prefix (\`inboxPrefix\` in nats.js, \`CustomInboxPrefix\` in Go):
# \`_INBOX.producer\`, \`_INBOX.agent-<id>\` and \`_INBOX.dashboard\`. The dashboard only reads: KV watches and
# dead letters through ephemeral ordered consumers, assignments and results through subscriptions.

accounts {
  VAPORA {
    # JetStream limits of the account, consistent with streams/ (streams/README.md): every stream and bucket
    # declares max_bytes, 4.58 GiB in all; R3 reserves that three times (13.7 GiB) against max_file, and each
    # node holds one copy (nats.conf max_file_store 9GB). max_bytes_required makes the server refuse any stream
    # without a byte bound, so nothing can grow until the store is full. Every stream is file storage.
    jetstream: {
      max_mem: 64MB
      max_file: 16GB
      max_bytes_required: true
    }
    users: [
${users.join('\n')}
    ]
  }
}
`;
}
