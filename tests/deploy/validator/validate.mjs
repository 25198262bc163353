// Validates rendered Kubernetes manifests (multi-document YAML from `kubectl kustomize`) against
// the API schemas, in two passes:
//
//  1. Schema: kubernetes-models (Kubernetes 1.31 OpenAPI schemas compiled to ajv validators) for
//     core/apps/batch/autoscaling objects, and @kubernetes-models/prometheus-operator (the
//     operator's CRD schemas, same generator) for ServiceMonitor, PodMonitor and PrometheusRule:
//     required fields, types, enums, formats (int32, quantities, int-or-string, ...).
//  2. Unknown fields: those schemas do not reject extra keys (the API server's strict field
//     validation does: a misspelt `livenesProbe` would otherwise pass silently). Every object is
//     written as a typed TypeScript literal against the same package's declarations and
//     type-checked; excess-property errors name the unknown field.
//
// An object whose apiVersion/kind has no schema here is an error, not a silent pass.
//
// usage: node validate.mjs RENDERED.yaml...
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import ts from "typescript";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

// apiVersion/kind -> the model module (a class with validate(), and an I<Kind> interface).
function modelModule(apiVersion, kind) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  }
  if (!/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

function describe(doc) {
  const m = doc.metadata || {};
  return `${doc.kind}/${m.name}${m.namespace ? ` (namespace ${m.namespace})` : ""}`;
}

function loadDocs(file) {
  const docs = [];
  for (const d of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (d.errors.length) throw new Error(`${file}: YAML error: ${d.errors[0].message}`);
    const obj = d.toJS();
    if (obj !== null && obj !== undefined) docs.push(obj);
  }
  return docs;
}

function schemaPass(file, docs, errors) {
  const typed = [];
  for (const doc of docs) {
    const where = `${path.basename(file)}: ${describe(doc)}`;
    const module = modelModule(doc.apiVersion, doc.kind);
    let Model = null;
    try {
      Model = module && require(module)[doc.kind];
    } catch {
      Model = null;
    }
    if (!Model) {
      errors.push(`${where}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      const details = (e.errors || []).map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ");
      errors.push(`${where}: schema: ${details || e.message}`);
    }
    typed.push({ doc, where, module });
  }
  return typed;
}

function strictPass(typed, errors) {
  if (typed.length === 0) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vlarft-validate-"));
  const file = path.join(dir, "objects.ts");
  const lines = [];
  const spans = [];  // [first line, last line, where] per object, 0-based
  typed.forEach(({ doc, where, module }, i) => {
    lines.push(`import type { I${doc.kind} as T${i} } from ${JSON.stringify(module)};`);
  });
  typed.forEach(({ doc, where }, i) => {
    const body = JSON.stringify(doc, null, 2).split("\n");
    const first = lines.length;
    lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ";";
    spans.push([first, lines.length - 1, where]);
  });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const program = ts.createProgram([file], {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    typeRoots: [],
    types: [],
    baseUrl: here,
    paths: { "*": [path.join(here, "node_modules", "*")] },
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
    if (!d.file || d.file.fileName !== file) {
      errors.push(`type check setup: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const span = spans.find(([a, b]) => line >= a && line <= b);
    const field = lines[line].trim().replace(/,$/, "");
    errors.push(`${span ? span[2] : `line ${line + 1}`}: unknown or mistyped field near ${field}: ${message}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs RENDERED.yaml...");
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  const errors = [];
  const docs = loadDocs(file);
  const typed = schemaPass(file, docs, errors);
  strictPass(typed, errors);
  if (errors.length) {
    failed += 1;
    console.log(`FAIL ${file}: ${errors.length} problem(s)`);
    for (const e of errors) console.log(`  ${e}`);
  } else {
    const kinds = [...new Set(docs.map((d) => d.kind))].sort().join(", ");
    console.log(`ok   ${file}: ${docs.length} objects valid (${kinds})`);
  }
}
process.exit(failed ? 1 : 0);
