#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Checks Kubernetes manifests against the official API schemas, as packaged
// by the npm package kubernetes-models (generated from Kubernetes' OpenAPI
// spec), without a cluster:
//
//   node tests/deploy/validate.mjs [--json] FILE|DIR...
//
// Each YAML document (a DIR: its *.yaml, *.yml and *.json files, as
// `kubectl apply -f DIR` takes them) is checked in two passes:
//
//  1. schema: `new <Kind>(doc).validate()` from kubernetes-models: types,
//     required fields, enums, formats (an int32 port given as a string...);
//  2. unknown fields: the OpenAPI schemas leave additionalProperties open,
//     so pass 1 accepts a misspelt field ("hostPid", "readonlyRootFilesystem")
//     that the API server would refuse (kubectl's strict field validation)
//     or, worse, drop. Every field is looked up in the model's declared
//     properties (the package's .d.ts interfaces), recursively.
//
// Prints one line per document ("ok ..." or "FAIL ...: reason"), exits 1 if
// any document fails or none is found, 2 on a usage error. --json prints
// instead {"documents": [{"file", "index", "object", "errors"}]}, which the
// pytest policy checks read. The packages are looked for in build/node
// (tests/deploy/install-node-deps.sh) or $NODE_DEPS_DIR.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const NODE_DIR = process.env.NODE_DEPS_DIR || path.join(ROOT, "build/node");

function usage(msg) {
  process.stderr.write(`validate.mjs: ${msg}\n` +
    "usage: node tests/deploy/validate.mjs [--json] FILE|DIR...\n");
  process.exit(2);
}

const requireDeps = createRequire(path.join(NODE_DIR, "package.json"));
let YAML;
try {
  YAML = requireDeps("yaml");
  requireDeps.resolve("kubernetes-models/v1/Pod");
} catch (e) {
  usage(`the npm packages are not in ${NODE_DIR}: run ` +
        `tests/deploy/install-node-deps.sh (${e.code || e.message})`);
}

// ---- the model of an apiVersion/kind ------------------------------------

// "v1" -> kubernetes-models/v1/Kind, "apps/v1" -> kubernetes-models/apps/v1/Kind
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" ||
      !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) ||
      !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return null;
  const spec = `kubernetes-models/${apiVersion}/${kind}`;
  let file;
  try {
    file = requireDeps.resolve(spec);
  } catch {
    return null;
  }
  const cls = requireDeps(spec)[kind];
  return typeof cls === "function" ? { cls, dts: file.replace(/\.js$/, ".d.ts") } : null;
}

// ---- pass 2: the declared fields of each model, from its .d.ts -----------

const shapes = new Map();   // .d.ts path -> {props: Map(name -> type)} | null

// The interface "export interface IName { "field"?: Type; ... }" of a model
// file; null for a type alias (IntOrString, Quantity...): a leaf.
function shapeOf(dts) {
  if (shapes.has(dts))
    return shapes.get(dts);
  let text;
  try {
    text = fs.readFileSync(dts, "utf8");
  } catch {
    throw new Error(`kubernetes-models: cannot read ${dts}`);
  }
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm))
    imports.set(m[1], m[2]);
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^export interface I\w+( extends [\w, ]+)? \{$/.test(l));
  if (start < 0) {
    shapes.set(dts, null);
    return null;
  }
  const props = new Map();
  for (let i = start + 1; i < lines.length && lines[i] !== "}"; i++) {
    const m = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i]);
    if (!m)
      continue;                     // comments, continuation lines
    let type = m[2];
    // A multi-line type ("{", "[key: string]: T;", "};") ends on the line
    // that closes it at the property's own indent.
    if (!type.endsWith(";")) {
      while (i + 1 < lines.length) {
        type += " " + lines[++i].trim();
        if (/^ {4}\}/.test(lines[i]))
          break;
      }
    }
    props.set(m[1], parseType(type.replace(/;$/, "").trim(), imports, dts));
  }
  const shape = { props };
  shapes.set(dts, shape);
  return shape;
}

function resolveRef(ident, imports, fromDts) {
  const spec = imports.get(ident);
  if (!spec)
    return null;
  const file = createRequire(fromDts).resolve(spec);
  return file.replace(/\.js$/, ".d.ts");
}

// {kind: "leaf"} | {kind: "ref", dts} | {kind: "array"|"map", of: type}
function parseType(t, imports, fromDts) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(t)))
    return { kind: "array", of: parseType(m[1], imports, fromDts) };
  if ((m = /^\{ \[key: string\]: (.+?);? \}$/.exec(t)))
    return { kind: "map", of: parseType(m[1], imports, fromDts) };
  if (/^IIoK8s\w+$/.test(t)) {
    const dts = resolveRef(t, imports, fromDts);
    return dts ? { kind: "ref", dts } : { kind: "leaf" };
  }
  return { kind: "leaf" };
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function walk(value, type, where, errors) {
  if (type.kind === "array") {
    if (Array.isArray(value))
      value.forEach((v, i) => walk(v, type.of, `${where}/${i}`, errors));
  } else if (type.kind === "map") {
    if (isObject(value))
      for (const [k, v] of Object.entries(value))
        walk(v, type.of, `${where}/${k}`, errors);
  } else if (type.kind === "ref") {
    const shape = shapeOf(type.dts);
    if (!shape || !isObject(value))
      return;                       // pass 1 checks the type
    for (const [k, v] of Object.entries(value)) {
      const t = shape.props.get(k);
      if (!t)
        errors.push(`${where}/${k}: unknown field "${k}"`);
      else
        walk(v, t, `${where}/${k}`, errors);
    }
  }
}

// ---- one document -------------------------------------------------------

function checkDocument(obj) {
  if (!isObject(obj))
    return ["not a mapping: every document must be one Kubernetes object"];
  const model = modelFor(obj.apiVersion, obj.kind);
  if (!model)
    return [`unknown apiVersion/kind ${JSON.stringify(obj.apiVersion)}/` +
            `${JSON.stringify(obj.kind)}: not in kubernetes-models`];
  const errors = [];
  try {
    new model.cls(obj).validate();
  } catch (e) {
    // ajv's messages: "data/spec/... must be integer", one per line.
    for (const line of String(e.message).split("\n"))
      if (line.trim())
        errors.push(line.trim());
  }
  walk(obj, { kind: "ref", dts: model.dts }, "", errors);
  if (!isObject(obj.metadata) || typeof obj.metadata.name !== "string" ||
      !obj.metadata.name)
    errors.push("metadata.name: missing (kubectl apply needs it)");
  return errors;
}

function filesOf(arg) {
  let st;
  try {
    st = fs.statSync(arg);
  } catch {
    usage(`${arg}: no such file or directory`);
  }
  if (!st.isDirectory())
    return [arg];
  return fs.readdirSync(arg)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(arg, f));
}

function main(argv) {
  const json = argv[0] === "--json";
  const args = json ? argv.slice(1) : argv;
  if (!args.length || args.some((a) => a.startsWith("-")))
    usage("no manifests given");
  const results = [];
  for (const file of args.flatMap(filesOf)) {
    const text = fs.readFileSync(file, "utf8");
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, strict: true });
    if (!Array.isArray(docs)) {     // an empty stream
      continue;
    }
    docs.forEach((doc, index) => {
      const yamlErrors = [...doc.errors, ...doc.warnings].map(
        (e) => `YAML: ${e.message.split("\n")[0]}`);
      if (!yamlErrors.length && doc.contents === null)
        return;                     // an empty document ("---" at the end)
      const object = yamlErrors.length ? null : doc.toJS();
      const errors = yamlErrors.length ? yamlErrors : checkDocument(object);
      results.push({ file, index, object, errors });
    });
  }
  let bad = 0;
  if (json) {
    process.stdout.write(JSON.stringify({ documents: results }, null, 1) + "\n");
    bad = results.filter((r) => r.errors.length).length;
  } else {
    for (const r of results) {
      const o = r.object || {};
      const what = `${o.kind || "?"} ${o.metadata?.namespace ? o.metadata.namespace + "/" : ""}` +
                   `${o.metadata?.name || "?"}`;
      if (!r.errors.length) {
        console.log(`ok    ${r.file}#${r.index}: ${what}`);
        continue;
      }
      bad++;
      for (const e of r.errors)
        console.log(`FAIL  ${r.file}#${r.index}: ${what}: ${e}`);
    }
    console.log(`validate.mjs: ${results.length - bad} of ${results.length} documents valid`);
  }
  if (!results.length) {
    process.stderr.write("validate.mjs: no Kubernetes documents found\n");
    return 1;
  }
  return bad ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
