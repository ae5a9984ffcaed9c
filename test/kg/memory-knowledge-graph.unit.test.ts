import { MemoryKnowledgeGraph } from '../../src/kg/memory-knowledge-graph.js';
import { describeKnowledgeGraphConformance } from './knowledge-graph.conformance.js';

describeKnowledgeGraphConformance('MemoryKnowledgeGraph', async () => new MemoryKnowledgeGraph());
