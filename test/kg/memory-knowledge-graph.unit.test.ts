import { MemoryKnowledgeGraph } from '../support/memory-knowledge-graph.js';
import { describeKnowledgeGraphConformance } from './knowledge-graph.conformance.js';

describeKnowledgeGraphConformance('MemoryKnowledgeGraph', async () => new MemoryKnowledgeGraph());
