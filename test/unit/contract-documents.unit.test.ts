/**
 * The contract as documents: asyncapi.yaml and schemas/*.json are generated from the TypeBox schemas
 * (`npm run docs:contract`), checked in, valid, and current.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Value } from '@sinclair/typebox/value';
import { generateContractFiles, REPO_ROOT } from '../../tools/contract/generate.js';
import { MESSAGE_SCHEMAS } from '../../tools/contract/json-schemas.js';

const readRepo = (file: string) => readFile(new URL(file, REPO_ROOT), 'utf8');

describe('contract documents', () => {
  const generated = generateContractFiles();

  it('the checked-in files are what the script generates (run npm run docs:contract)', async () => {
    expect(generated.size).toBe(1 + MESSAGE_SCHEMAS.length);
    for (const [file, text] of generated) {
      expect({ file, text: await readRepo(file).catch(() => '(missing)') }).toEqual({ file, text });
    }
  });

  it('asyncapi.yaml parses with @asyncapi/parser without errors or warnings', async () => {
    const { document, diagnostics } = await new Parser().parse(await readRepo('asyncapi.yaml'));
    const problems = diagnostics.filter(
      (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    );
    expect(problems.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    expect(addresses.sort()).toEqual([
      'vapora.agents.heartbeat.{agentId}',
      'vapora.assignments.{agentId}',
      'vapora.dlq.{origin}',
      'vapora.results.timeouts.{agentId}',
      'vapora.results.{agentId}',
      'vapora.tasks.arrived',
      'vapora.tasks.unassignable',
    ]);
    // Who publishes: agents send results and heartbeats only; nobody but the worker sends assignments.
    const senders = (address: string) =>
      document!
        .operations()
        .all()
        .filter((o) => o.action() === 'send' && o.channels().all()[0]?.address() === address)
        .map((o) => o.tags().all()[0]?.name())
        .sort();
    expect(senders('vapora.assignments.{agentId}')).toEqual(['worker']);
    expect(senders('vapora.results.{agentId}')).toEqual(['agent']);
    expect(senders('vapora.results.timeouts.{agentId}')).toEqual(['worker']);
    expect(senders('vapora.tasks.arrived')).toEqual(['producer', 'worker']);
    const result = document!
      .messages()
      .all()
      .find((m) => m.name() === 'ExecutionResult');
    expect(result?.payload()?.required()).toEqual(
      expect.arrayContaining(['executionId', 'taskId', 'agentId', 'success']),
    );
  });

  it('each JSON Schema file is its TypeBox schema plus the document keys', async () => {
    for (const message of MESSAGE_SCHEMAS) {
      const fromFile = JSON.parse(await readRepo(`schemas/${message.file}`)) as Record<string, unknown>;
      expect(fromFile['$schema']).toBe('http://json-schema.org/draft-07/schema#');
      // The file minus its document keys is the TypeBox schema itself (what the worker validates with).
      const { $schema: _s, $id: _i, title: _t, description: _d, ...body } = fromFile;
      expect(body).toEqual(JSON.parse(JSON.stringify({ ...message.schema, description: undefined })));
      expect(Value.Check(message.schema, {})).toBe(
        message.name === 'AgentHeartbeat', // the only message whose fields are all optional
      );
    }
  });
});
