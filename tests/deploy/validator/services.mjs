// Starts every service of a rendered overlay the way its pod would, but with --validate=LEVEL: the
// binary its container runs, its args with $(VAR) filled from the container's env, its config from
// the preset ConfigMap (= configs/ in the repository), init containers first. So a manifest that
// mounts a config the service rejects, or passes a flag it does not know, fails here and not on a
// cluster.
//
//   node services.mjs RENDERED.yaml REPO_ROOT BIN_DIR WORK_DIR LEVEL
//
// LEVEL full (cpu-small: the tiny preset's checkpoints are in the repository, everything loads on
// this machine) or config (gpu: the paper preset's artifacts and the GPUs are on the cluster only,
// so the configuration alone is checked; docs/operations.md, "Validating a deployment").
//
// Pod paths map to this machine: the workingDir (/opt/vlarft, the image's copy of the repository)
// is REPO_ROOT, the preset ConfigMap is REPO_ROOT/configs, every other volume a folder under
// WORK_DIR (so an init container's output reaches the main container as in the pod).
// Values the cluster fills in are stand-ins: pod name "<workload>-0", pod IP 127.0.0.1, completion
// index 0, Secrets "validation-token".
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";

const [file, root, bin, work, level] = process.argv.slice(2);
if (!file || !root || !bin || !work || !["full", "config"].includes(level)) {
  console.error("usage: node services.mjs RENDERED.yaml REPO_ROOT BIN_DIR WORK_DIR full|config");
  process.exit(2);
}
const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
const workloads = docs.filter((d) => ["Deployment", "StatefulSet", "Job"].includes(d.kind));
const overlay = path.basename(file, ".yaml");
let failures = 0;

function envOf(container, workload) {
  const out = { PATH: process.env.PATH, HOME: process.env.HOME || "/tmp" };
  for (const e of container.env || []) {
    if (e.value !== undefined) out[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) out[e.name] = "validation-token";
    else if (/metadata.name/.test(e.valueFrom?.fieldRef?.fieldPath || "")) out[e.name] = `${workload.metadata.name}-0`;
    else if (/podIP/.test(e.valueFrom?.fieldRef?.fieldPath || "")) out[e.name] = "127.0.0.1";
    else if (/job-completion-index/.test(e.valueFrom?.fieldRef?.fieldPath || "")) out[e.name] = "0";
    else throw new Error(`${workload.metadata.name}: env ${e.name}: no stand-in for ${JSON.stringify(e.valueFrom)}`);
  }
  return out;
}

// Mount path -> local folder, longest mount path first.
function mountsOf(container, workload) {
  const volumes = workload.spec.template.spec.volumes || [];
  const out = [];
  for (const m of container.volumeMounts || []) {
    const v = volumes.find((x) => x.name === m.name);
    let local;
    if (v?.configMap?.name?.startsWith("vlarft-config")) local = path.join(root, "configs");
    else local = path.join(work, overlay, v?.persistentVolumeClaim?.claimName || v?.name || m.name, m.subPath || "");
    fs.mkdirSync(local, { recursive: true });
    out.push([m.mountPath, local]);
  }
  return out.sort((a, b) => b[0].length - a[0].length);
}

function localize(value, mounts) {
  for (const [mountPath, local] of mounts) {
    const i = value.indexOf(mountPath);
    if (i >= 0 && (value.length === i + mountPath.length || value[i + mountPath.length] === "/")) {
      return value.slice(0, i) + local + value.slice(i + mountPath.length);
    }
  }
  return value;
}

function run(container, workload, extraArgs) {
  const env = envOf(container, workload);
  const mounts = mountsOf(container, workload);
  const args = (container.args || [])
    .map((a) => a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, name) => env[name] ?? m))
    .map((a) => localize(a, mounts));
  const binary = path.join(bin, path.basename(container.command[0]));
  const label = `${overlay}: ${workload.kind}/${workload.metadata.name} ${container.name}`;
  const unresolved = args.find((a) => /\$\([A-Z_]/.test(a));
  if (unresolved) {
    console.log(`FAIL ${label}: ${unresolved} names an env variable the container does not set`);
    failures += 1;
    return;
  }
  const result = spawnSync(binary, [...args, ...extraArgs], { cwd: root, env, encoding: "utf8", timeout: 240000 });
  const out = `${result.stdout || ""}${result.stderr || ""}`.split("\n").filter((l) => l && !/^[IW]\d{4} /.test(l));
  if (result.status === 0) {
    console.log(`ok   ${label}: ${out.at(-1) || "exit 0"}`);
  } else {
    console.log(`FAIL ${label}: exit ${result.status ?? result.signal ?? result.error}\n    ${binary} ${[...args, ...extraArgs].join(" ")}`);
    for (const line of out.slice(-8)) console.log(`    ${line}`);
    failures += 1;
  }
}

for (const w of workloads) {
  const spec = w.spec.template.spec;
  // Init containers run for real at full level (e.g. cpu-small's prompt generation), as in the pod.
  if (level === "full") for (const c of spec.initContainers || []) run(c, w, []);
  for (const c of spec.containers) run(c, w, [`--validate=${level}`]);
}
if (!workloads.length) {
  console.log(`FAIL ${overlay}: no workloads`);
  failures += 1;
}
process.exit(failures ? 1 : 0);
