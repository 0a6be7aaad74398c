#!/usr/bin/env node
// Where a heap snapshot's memory is held (issue #16): reads a .heapsnapshot (what
// `bench/heartbeats.mjs --heap-snapshot --keep` leaves), builds its dominator tree, and prints
// the objects that retain the most, each with the path from the roots that holds it and what it
// holds grouped by constructor. "Retained" is what a collection would free if the object went.
//
//   node bench/heap-retainers.mjs <file.heapsnapshot> [--top 30] [--min-kib 256] [--per 10000]
//
// --per divides sizes by a count (agents online) to print bytes per agent beside each figure.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({ strict: false,
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    'min-kib': { type: 'string', default: '256' },
    per: { type: 'string' },
    children: { type: 'string', default: '6' },
    'path-of': { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/heap-retainers.mjs <file.heapsnapshot> [--top 30] [--min-kib 256] [--per N]');
  process.exit(2);
}

const snapshot = JSON.parse(readFileSync(positionals[0], 'utf8'));
const meta = snapshot.snapshot.meta;
const nodeFieldCount = meta.node_fields.length;
const edgeFieldCount = meta.edge_fields.length;
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const N_TYPE = meta.node_fields.indexOf('type');
const N_NAME = meta.node_fields.indexOf('name');
const N_SIZE = meta.node_fields.indexOf('self_size');
const N_EDGES = meta.node_fields.indexOf('edge_count');
const E_TYPE = meta.edge_fields.indexOf('type');
const E_NAME = meta.edge_fields.indexOf('name_or_index');
const E_TO = meta.edge_fields.indexOf('to_node');
const { nodes, edges, strings } = snapshot;
const count = nodes.length / nodeFieldCount;
const WEAK = edgeTypes.indexOf('weak');
const SHORTCUT = edgeTypes.indexOf('shortcut');
const ELEMENT = edgeTypes.indexOf('element');
const HIDDEN = edgeTypes.indexOf('hidden');

// First edge of each node.
const firstEdge = new Uint32Array(count + 1);
for (let i = 0, offset = 0; i < count; i++) {
  firstEdge[i] = offset;
  offset += nodes[i * nodeFieldCount + N_EDGES] * edgeFieldCount;
  firstEdge[i + 1] = offset;
}
const followed = (edgeOffset) => {
  const type = edges[edgeOffset + E_TYPE];
  return type !== WEAK && type !== SHORTCUT;
};
const target = (edgeOffset) => edges[edgeOffset + E_TO] / nodeFieldCount;

// Predecessor lists (CSR).
const predCount = new Uint32Array(count + 1);
for (let i = 0; i < count; i++) {
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFieldCount) if (followed(e)) predCount[target(e) + 1]++;
}
for (let i = 0; i < count; i++) predCount[i + 1] += predCount[i];
const preds = new Uint32Array(predCount[count]);
const fill = predCount.slice(0, count);
for (let i = 0; i < count; i++) {
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFieldCount) if (followed(e)) preds[fill[target(e)]++] = i;
}

// Depth-first post order from the root (node 0), iteratively.
const order = new Int32Array(count).fill(-1); // node → post-order index
const postToNode = new Uint32Array(count);
let reached = 0;
{
  const stack = new Uint32Array(count);
  const cursor = new Uint32Array(count);
  const seen = new Uint8Array(count);
  let top = 0;
  stack[0] = 0;
  seen[0] = 1;
  cursor[0] = firstEdge[0];
  while (top >= 0) {
    const node = stack[top];
    let pushed = false;
    while (cursor[node] < firstEdge[node + 1]) {
      const e = cursor[node];
      cursor[node] += edgeFieldCount;
      if (!followed(e)) continue;
      const next = target(e);
      if (seen[next]) continue;
      seen[next] = 1;
      cursor[next] = firstEdge[next];
      stack[++top] = next;
      pushed = true;
      break;
    }
    if (!pushed) {
      order[node] = reached;
      postToNode[reached++] = node;
      top--;
    }
  }
}

// Cooper, Harvey and Kennedy's iterative dominators over the post order.
const idom = new Int32Array(reached).fill(-1); // by post-order index
const rootPost = order[0];
idom[rootPost] = rootPost;
const intersect = (a, b) => {
  while (a !== b) {
    while (a < b) a = idom[a];
    while (b < a) b = idom[b];
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let p = reached - 2; p >= 0; p--) {
    const node = postToNode[p];
    let next = -1;
    for (let k = predCount[node]; k < predCount[node + 1]; k++) {
      const q = order[preds[k]];
      if (q < 0 || idom[q] < 0) continue;
      next = next < 0 ? q : intersect(q, next);
    }
    if (next >= 0 && idom[p] !== next) {
      idom[p] = next;
      changed = true;
    }
  }
}

// Retained sizes: children before their dominators in post order.
const retained = new Float64Array(reached);
for (let p = 0; p < reached; p++) retained[p] = nodes[postToNode[p] * nodeFieldCount + N_SIZE];
for (let p = 0; p < reached; p++) if (p !== rootPost) retained[idom[p]] += retained[p];

const typeOf = (node) => nodeTypes[nodes[node * nodeFieldCount + N_TYPE]];
const nameOf = (node) => {
  const name = strings[nodes[node * nodeFieldCount + N_NAME]];
  return name.length > 60 ? `${name.slice(0, 57)}...` : name;
};
const label = (node) => `${typeOf(node)} ${nameOf(node)}`;
const edgeName = (e) => {
  const type = edges[e + E_TYPE];
  const name = edges[e + E_NAME];
  if (type === ELEMENT || type === HIDDEN) return `[${name}]`;
  return typeof strings[name] === 'string' ? strings[name] : String(name);
};

// The dominator path of a node, each step named by the edge from its dominator when there is one.
function path(p) {
  const steps = [];
  while (p !== rootPost && steps.length < 12) {
    const parent = idom[p];
    const node = postToNode[p];
    const from = postToNode[parent];
    let via = '';
    for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += edgeFieldCount) {
      if (target(e) === node) {
        via = edgeName(e);
        break;
      }
    }
    steps.unshift(via ? `.${via}` : `~${label(node)}`);
    p = parent;
  }
  return steps.join('');
}

const per = args.per ? Number(args.per) : 0;
const fmt = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB${per ? ` (${Math.round(bytes / per)} B/agent)` : ''}`;
const total = retained[rootPost];
console.log(`heap: ${fmt(total)}, ${reached} reachable of ${count} nodes`);

// Dominator children of each node, to show what a big holder holds.
const childStart = new Uint32Array(reached + 1);
for (let p = 0; p < reached; p++) if (p !== rootPost) childStart[idom[p] + 1]++;
for (let p = 0; p < reached; p++) childStart[p + 1] += childStart[p];
const children = new Uint32Array(reached);
const childFill = childStart.slice(0, reached);
for (let p = 0; p < reached; p++) if (p !== rootPost) children[childFill[idom[p]]++] = p;

/** Whether one of `holders` (post-order indexes) dominates `p`, strictly. */
function dominatedByOneOf(p, holders) {
  for (let q = idom[p]; q !== rootPost; q = idom[q]) if (holders.has(q)) return true;
  return false;
}

// The largest holders that are not mere wrappers: a node is shown when no single child holds
// more than 80 % of it (else the child, more precise, is shown in its turn).
const minBytes = Number(args['min-kib']) * 1024;
const candidates = [];
for (let p = 0; p < reached; p++) {
  if (p === rootPost || retained[p] < minBytes) continue;
  let biggest = 0;
  for (let k = childStart[p]; k < childStart[p + 1]; k++) biggest = Math.max(biggest, retained[children[k]]);
  if (biggest > retained[p] * 0.8) continue;
  const type = typeOf(postToNode[p]);
  if (type === 'synthetic') continue;
  candidates.push(p);
}
candidates.sort((a, b) => retained[b] - retained[a]);
const shown = new Set();
let printed = 0;
for (const p of candidates) {
  if (printed >= Number(args.top)) break;
  // Skip a holder inside one already printed.
  if (dominatedByOneOf(p, shown)) continue;
  shown.add(p);
  printed++;
  const node = postToNode[p];
  console.log(`\n${fmt(retained[p])}  ${label(node)}  self ${nodes[node * nodeFieldCount + N_SIZE]} B`);
  console.log(`  held at ${path(p)}`);
  const byKind = new Map();
  for (let k = childStart[p]; k < childStart[p + 1]; k++) {
    const child = postToNode[children[k]];
    const kind = `${typeOf(child)} ${nameOf(child)}`;
    const entry = byKind.get(kind) ?? { n: 0, bytes: 0 };
    entry.n++;
    entry.bytes += retained[children[k]];
    byKind.set(kind, entry);
  }
  for (const [kind, { n, bytes }] of [...byKind].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(args.children))) {
    console.log(`    ${fmt(bytes).padEnd(28)} ${String(n).padStart(7)} × ${kind}`);
  }
}

// Per-agent classes: those with at least as many instances as --per / 2, each with what its
// instances retain together (an instance inside another of the same class counted once).
if (per) {
  const byLabel = new Map();
  for (let p = 0; p < reached; p++) {
    const node = postToNode[p];
    const type = typeOf(node);
    if (type !== 'object' && type !== 'closure' && type !== 'native') continue;
    const key = label(node);
    let entry = byLabel.get(key);
    if (!entry) byLabel.set(key, (entry = { n: 0, self: 0, members: [] }));
    entry.n++;
    entry.self += nodes[node * nodeFieldCount + N_SIZE];
    entry.members.push(p);
  }
  const rows = [];
  for (const [key, entry] of byLabel) {
    if (entry.n < per / 2) continue;
    const members = new Set(entry.members);
    let kept = 0;
    for (const p of entry.members) if (!dominatedByOneOf(p, members)) kept += retained[p];
    rows.push({ key, n: entry.n, self: entry.self, kept });
  }
  rows.sort((a, b) => b.kept - a.kept);
  console.log(`\nclasses with at least ${per / 2} instances, by what they retain (B/agent: retained, self):`);
  for (const row of rows.slice(0, Number(args.top))) {
    console.log(`  ${String(Math.round(row.kept / per)).padStart(6)} ${String(Math.round(row.self / per)).padStart(6)} ${String(row.n).padStart(8)} × ${row.key}`);
  }
}
// find Map tables by path suffix and dump one entry's edges
const want = process.env.WANT.split(',');
for (const w of want) {
  for (let p = 0; p < reached; p++) {
    const node = postToNode[p];
    if (typeOf(node) !== 'array' || retained[p] < 400000) continue;
    const pa = path(p);
    if (!pa.endsWith(w)) continue;
    console.log(`\n== ${w}: ${pa} retained ${retained[p]}`);
    // dominated children: pick 2 objects
    let shown = 0;
    for (let k = childStart[p]; k < childStart[p + 1] && shown < 2; k++) {
      const c = postToNode[children[k]];
      if (retained[children[k]] < 64) continue;
      shown++;
      console.log(`  child ${label(c)} self ${nodes[c*nodeFieldCount+N_SIZE]} retained ${retained[children[k]]}`);
      for (let e = firstEdge[c]; e < firstEdge[c + 1]; e += edgeFieldCount) {
        const t = target(e); const tp = order[t];
        const dom = tp >= 0 && postToNode[idom[tp]] === c;
        console.log(`     .${edgeName(e)} -> ${label(t)} self ${nodes[t*nodeFieldCount+N_SIZE]} ${dom ? 'retained ' + retained[tp] : '(shared)'}`);
      }
    }
    break;
  }
}
