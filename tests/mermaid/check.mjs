// Parses Mermaid diagrams with Mermaid's own parser, the one GitHub renders comments with,
// under jsdom (Mermaid expects a browser). Diagrams come on stdin, separated by lines of
// "=====". Prints "ok TYPE" or "error MESSAGE" per diagram; exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ['Element', 'HTMLElement', 'Node', 'DocumentFragment', 'DOMParser', 'MutationObserver']) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const diagram of readFileSync(0, 'utf8').split('\n=====\n')) {
  if (!diagram.trim()) continue;
  try {
    const result = await mermaid.parse(diagram);
    console.log('ok', result.diagramType);
  } catch (e) {
    failed += 1;
    console.log('error', String(e?.message ?? e).split('\n').join(' | '));
  }
}
process.exit(failed ? 1 : 0);
