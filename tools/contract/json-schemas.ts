/**
 * One JSON Schema (draft-07) per message, taken from the TypeBox schemas in src/domain/messages.ts: TypeBox
 * schemas are JSON Schema already, so generation is a copy that drops TypeBox's symbol keys and adds an id.
 */
import type { TSchema } from '@sinclair/typebox';
import {
  AgentHeartbeatSchema,
  AgentRegistrationSchema,
  AssignmentSchema,
  ExecutionResultSchema,
  TaskArrivedSchema,
  UnassignableSchema,
} from '../../src/domain/messages.js';

export const SCHEMA_BASE_URL = 'https://github.com/vapora/vapora-learning/blob/main/schemas/';

export interface MessageSchema {
  /** Name in the AsyncAPI components and file name stem in schemas/. */
  name: string;
  file: string;
  title: string;
  description: string;
  schema: TSchema;
}

export const MESSAGE_SCHEMAS: readonly MessageSchema[] = [
  {
    name: 'TaskArrived',
    file: 'task-arrived.json',
    title: 'Task arrived',
    description: 'A task for the worker to assign, on vapora.tasks.arrived.',
    schema: TaskArrivedSchema,
  },
  {
    name: 'Unassignable',
    file: 'task-unassignable.json',
    title: 'Task unassignable',
    description: 'No eligible agent took the task in time, on vapora.tasks.unassignable.',
    schema: UnassignableSchema,
  },
  {
    name: 'Assignment',
    file: 'assignment.json',
    title: 'Assignment',
    description: 'The decision: which agent gets the task, with the score and reasoning behind it.',
    schema: AssignmentSchema,
  },
  {
    name: 'ExecutionResult',
    file: 'execution-result.json',
    title: 'Execution result',
    description:
      "An agent's report of one execution, on vapora.results.<agentId>; also the worker's record of a timeout.",
    schema: ExecutionResultSchema,
  },
  {
    name: 'AgentHeartbeat',
    file: 'agent-heartbeat.json',
    title: 'Agent heartbeat',
    description: 'An agent saying it is alive, on vapora.agents.heartbeat.<agentId> (core NATS).',
    schema: AgentHeartbeatSchema,
  },
  {
    name: 'AgentRegistration',
    file: 'agent-registration.json',
    title: 'Agent registration',
    description: 'An entry of the KV bucket vapora_agents (key <agentId>), written by the worker only.',
    schema: AgentRegistrationSchema,
  },
];

/** A plain JSON copy: TypeBox's `[Kind]` and `[OptionalKind]` symbols do not survive JSON. */
export function plainSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

export function jsonSchemaDocument(message: MessageSchema): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${SCHEMA_BASE_URL}${message.file}`,
    title: message.title,
    description: message.description,
    ...plainSchema(message.schema),
  };
}
