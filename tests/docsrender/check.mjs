// Reads pages that `dbreg docs` wrote back with real parsers and prints, as
// JSON, what a reader would see: markdown-it (CommonMark with GFM tables,
// raw HTML on, as a forge renders it) for the Markdown, and Mermaid's own
// parsers for every ```mermaid block, of both the 11 and the 12 lines
// (package.json). test_devtools.py asserts on the output.
//
// usage: node check.mjs FILE.md...      (tests/docsrender/run.sh installs it)
//
// Per file: "blocks" (headings and paragraphs as plain text), "tables" (each
// a list of rows, each a list of cell texts), "markup" (inline tokens other
// than text and code spans: HTML, emphasis, links...; our own links are
// listed in "links"), "html" (raw HTML that would reach the browser), and
// "mermaid": per block and parser, ok or the error, and what the parser read
// (entities, attributes, relationships; nodes and edges). The 11.14 grammar
// (the jison of the mirror, not on npm as a parser that runs in Node) is
// checked on the attribute words alone: "words11_14" lists those it rejects.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";
import MarkdownIt from "markdown-it";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const parsers = {};
for (const name of ["mermaid", "mermaid12"]) {
  const mod = (await import(name)).default;
  mod.initialize({ startOnLoad: false });
  const version = JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
  parsers[version] = mod;
}

// Mermaid keeps entity codes (#quot;, #35;) as placeholders until it draws,
// then writes them as HTML entities: turn them into the characters a reader sees.
const named = { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'", nbsp: "\u00a0" };
function decode(s) {
  if (typeof s !== "string") return s;
  return s
    .replace(/ﬂ°°(\d+)¶ß/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/ﬂ°(\w+)¶ß/g, (m, n) => named[n] ?? m);
}

function readDiagram(db, type) {
  if (type === "er") {
    const ents = [...db.getEntities().values()];
    const byId = Object.fromEntries(ents.map((e) => [e.id, e.label]));
    return {
      entities: ents.map((e) => ({
        name: decode(e.label),
        attributes: (e.attributes || []).map((a) => ({
          type: a.type, name: a.name, keys: a.keys || [], comment: decode(a.comment ?? null),
        })),
      })),
      relationships: db.getRelationships().map((r) => ({
        from: decode(byId[r.entityA] ?? r.entityA), to: decode(byId[r.entityB] ?? r.entityB), role: decode(r.roleA),
      })),
    };
  }
  return {
    nodes: [...db.getVertices().values()].map((v) => ({ id: v.id, text: decode(v.text) })),
    edges: db.getEdges().map((e) => ({ from: e.start, to: e.end, text: decode(e.text) })),
  };
}

// ATTRIBUTE_WORD and ATTRIBUTE_KEY of erDiagram.jison as of mermaid 11.14.
const WORD_11_14 = /^[*A-Za-z_\u00C0-\uFFFF][A-Za-z0-9\-_[\]()\u00C0-\uFFFF*]*$/;
const KEY = /^(PK|FK|UK)\b/i;
function words11_14(src) {
  const bad = [];
  let inBlock = false;
  for (const line of src.split("\n")) {
    if (/\{\s*$/.test(line)) { inBlock = true; continue; }
    if (/^\s*\}\s*$/.test(line)) { inBlock = false; continue; }
    if (!inBlock) continue;
    const m = line.match(/^\s+(\S+)\s+(\S+)/);
    for (const w of m ? [m[1], m[2]] : [line]) if (!WORD_11_14.test(w) || KEY.test(w)) bad.push(w);
  }
  return bad;
}

const md = new MarkdownIt({ html: true });
const inlineText = (tok) =>
  (tok.children || [])
    .map((c) => (c.type === "softbreak" || c.type === "hardbreak" ? " " : c.content))
    .join("");

const out = {};
for (const file of process.argv.slice(2)) {
  const tokens = md.parse(readFileSync(file, "utf8"), {});
  const page = { blocks: [], tables: [], markup: [], html: [], links: [], mermaid: [] };
  let table = null, row = null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === "html_block") page.html.push(t.content);
    if (t.type === "table_open") page.tables.push((table = []));
    if (t.type === "tr_open") table.push((row = []));
    if (t.type === "inline") {
      const parent = tokens[i - 1].type;
      if (parent === "th_open" || parent === "td_open") row.push(inlineText(t));
      else page.blocks.push(inlineText(t));
      for (const c of t.children || []) {
        if (c.type === "html_inline") page.html.push(c.content);
        else if (c.type === "link_open") page.links.push(c.attrGet("href"));
        else if (!["text", "code_inline", "text_special", "softbreak", "link_close"].includes(c.type))
          page.markup.push(c.type);
      }
    }
    if (t.type === "fence" && t.info.trim() === "mermaid") {
      const block = { source: t.content, words11_14: words11_14(t.content), parsers: {} };
      for (const [version, mermaid] of Object.entries(parsers)) {
        try {
          const d = await mermaid.mermaidAPI.getDiagramFromText(t.content);
          block.parsers[version] = { ok: true, type: d.type, read: readDiagram(d.db, d.type) };
        } catch (e) {
          block.parsers[version] = { ok: false, error: String(e.message || e).split("\n").slice(0, 4).join(" / ") };
        }
      }
      page.mermaid.push(block);
    }
  }
  out[file] = page;
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
