// Cross-object consistency of a rendered overlay (what schemas cannot see): labels and selectors,
// ports, probes, service targets, the learner's rendezvous wiring, volume references, presets and
// scrape coverage. Prints one line per check group; exits 1 on the first group with problems after
// reporting them all.
//
// usage: node consistency.mjs RENDERED.yaml REPO_ROOT
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const [file, root] = process.argv.slice(2);
if (!file || !root) {
  console.error("usage: node consistency.mjs RENDERED.yaml REPO_ROOT");
  process.exit(2);
}
const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
const problems = [];
const warnings = [];
const fail = (msg) => problems.push(msg);
const id = (o) => `${o.kind}/${o.metadata.name}`;
const byKind = (kind) => docs.filter((d) => d.kind === kind);
const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);

// ---- workloads and their pod templates ------------------------------------------------------
const workloads = docs.filter((d) => ["Deployment", "StatefulSet", "Job"].includes(d.kind));
const podLabels = (w) => ({ ...(w.spec.template.metadata?.labels || {}), ...implicitPodLabels(w) });
// Labels the controllers add to pods themselves (the Job controller labels each pod with its index;
// the value is only known per pod, so a selector on it matches "some pod" of an indexed Job).
function implicitPodLabels(w) {
  return w.kind === "Job" && w.spec.completionMode === "Indexed" ? { "batch.kubernetes.io/job-completion-index": "*" } : {};
}
const matches = (selector, labels) =>
  Object.entries(selector || {}).every(([k, v]) => labels[k] === v || (labels[k] === "*" && /^[0-9]+$/.test(v)));
function matchesSelector(sel, labels) {
  if (!matches(sel.matchLabels, labels)) return false;
  return (sel.matchExpressions || []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === "In") return has && e.values.includes(labels[e.key]);
    if (e.operator === "NotIn") return !has || !e.values.includes(labels[e.key]);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
}
const containers = (w) => w.spec.template.spec.containers;
const mainContainer = (w) => containers(w).find((c) => c.name === "vlarft");
const containerPort = (c, name) => (c.ports || []).find((p) => p.name === name)?.containerPort;
const argValue = (c, flag) => {
  const a = (c.args || []).find((x) => x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
};
const setValue = (c, key) => argValue({ args: (c.args || []).map((a) => a.replace(/^--set=/, "--set:")) }, `--set:${key}`);
const env = (c, name) => (c.env || []).find((e) => e.name === name);

const checks = [];
function check(name, fn) {
  const before = problems.length;
  fn();
  checks.push([name, problems.length - before]);
}

check("labels and selectors", () => {
  for (const w of workloads) {
    const sel = w.spec.selector;
    if (w.kind !== "Job" && (!sel || !matchesSelector(sel, podLabels(w)))) fail(`${id(w)}: selector does not match its pod template labels`);
    for (const key of ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component"]) {
      if (!w.spec.template.metadata?.labels?.[key]) fail(`${id(w)}: pod template lacks label ${key}`);
    }
    if (!mainContainer(w)) fail(`${id(w)}: no container named "vlarft" (overlay patches address it by name)`);
    for (const other of workloads) {
      if (other !== w && w.kind !== "Job" && matchesSelector(sel, podLabels(other))) fail(`${id(w)}: selector also matches ${id(other)}'s pods`);
    }
  }
});

check("ports and probes", () => {
  for (const w of workloads) {
    const c = mainContainer(w);
    if (!c) continue;
    const grpc = containerPort(c, "grpc");
    const metrics = containerPort(c, "metrics");
    if (String(grpc) !== argValue(c, "--port")) fail(`${id(w)}: --port=${argValue(c, "--port")} but container port "grpc" is ${grpc}`);
    if (String(metrics) !== argValue(c, "--metrics_port")) fail(`${id(w)}: --metrics_port=${argValue(c, "--metrics_port")} but container port "metrics" is ${metrics}`);
    if (argValue(c, "--host") !== "0.0.0.0" || argValue(c, "--metrics_host") !== "0.0.0.0") fail(`${id(w)}: must listen on 0.0.0.0 (gRPC and metrics)`);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const p = c[probe];
      if (!p) fail(`${id(w)}: no ${probe}`);
      else if (!p.grpc || p.grpc.port !== grpc) fail(`${id(w)}: ${probe} must be a gRPC probe on the grpc port ${grpc}`);
    }
    const grace = Number(argValue(c, "--shutdown_grace_s"));
    const period = w.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    if (!(grace < period)) fail(`${id(w)}: terminationGracePeriodSeconds ${period} must exceed --shutdown_grace_s ${grace}`);
    for (const ct of [...containers(w), ...(w.spec.template.spec.initContainers || [])]) {
      if (!ct.resources?.requests?.cpu || !ct.resources?.requests?.memory || !ct.resources?.limits?.memory) {
        fail(`${id(w)}: container ${ct.name} needs cpu/memory requests and a memory limit`);
      }
    }
  }
});

check("services", () => {
  for (const s of byKind("Service")) {
    const selected = workloads.filter((w) => matches(s.spec.selector, podLabels(w)));
    if (selected.length !== 1) fail(`Service/${s.metadata.name}: selects ${selected.length} workloads (want exactly 1)`);
    for (const w of selected) {
      const c = mainContainer(w);
      for (const p of s.spec.ports) {
        const target = typeof p.targetPort === "string" ? containerPort(c, p.targetPort) : p.targetPort ?? p.port;
        if (target === undefined) fail(`Service/${s.metadata.name}: port ${p.name} targets ${p.targetPort}, not a port of ${id(w)}`);
        else if (target !== p.port) fail(`Service/${s.metadata.name}: port ${p.name} is ${p.port} but the container listens on ${target}`);
      }
    }
  }
});

// host:port flags of the rollout workers (and anything else) must name a Service port.
check("service targets", () => {
  for (const w of workloads) {
    const c = mainContainer(w);
    for (const a of c?.args || []) {
      const m = /^--set=[a-z_.]+\.target=([a-z0-9-]+):([0-9]+)$/.exec(a);
      if (!m) continue;
      const s = find("Service", m[1]);
      if (!s) fail(`${id(w)}: ${a}: no Service ${m[1]}`);
      else if (!s.spec.ports.some((p) => p.port === Number(m[2]))) fail(`${id(w)}: ${a}: Service ${m[1]} has no port ${m[2]}`);
    }
  }
});

check("learner rendezvous", () => {
  const jobs = byKind("Job").filter((j) => j.metadata.labels?.["app.kubernetes.io/component"] === "learner");
  if (jobs.length !== 1) return fail(`want exactly one learner Job, found ${jobs.length}`);
  const job = jobs[0];
  const c = mainContainer(job);
  const spec = job.spec;
  if (spec.completionMode !== "Indexed") fail(`${id(job)}: completionMode must be Indexed (rank = completion index)`);
  if (spec.completions !== spec.parallelism) fail(`${id(job)}: completions ${spec.completions} != parallelism ${spec.parallelism}`);
  // The standard distributed environment (PyTorchJob, JobSet, torchrun), read by vlarft-learner.
  if (env(c, "WORLD_SIZE")?.value !== String(spec.parallelism)) fail(`${id(job)}: WORLD_SIZE ${env(c, "WORLD_SIZE")?.value} != parallelism ${spec.parallelism}`);
  if (!/job-completion-index/.test(env(c, "RANK")?.valueFrom?.fieldRef?.fieldPath || "")) fail(`${id(job)}: RANK must come from the completion index`);
  for (const key of ["rank", "world_size", "master_addr", "master_port"]) {
    if (setValue(c, `learner.distributed.${key}`) !== undefined) fail(`${id(job)}: --set=learner.distributed.${key} overrides the ${key.toUpperCase()} environment`);
  }
  if (!/status.podIP/.test(env(c, "POD_IP")?.valueFrom?.fieldRef?.fieldPath || "") || setValue(c, "learner.distributed.gloo_hostname") !== "$(POD_IP)") {
    fail(`${id(job)}: Gloo must bind to the pod IP`);
  }
  const subdomain = spec.template.spec.subdomain;
  const headless = find("Service", subdomain);
  const expectedMaster = `${job.metadata.name}-0.${subdomain}`;
  if (env(c, "MASTER_ADDR")?.value !== expectedMaster) fail(`${id(job)}: MASTER_ADDR must be ${expectedMaster}`);
  if (!headless) return fail(`${id(job)}: no Service ${subdomain} for the subdomain`);
  if (headless.spec.clusterIP !== "None") fail(`Service/${subdomain}: must be headless`);
  if (!headless.spec.publishNotReadyAddresses) fail(`Service/${subdomain}: must publish not-ready addresses (readiness follows the rendezvous)`);
  const port = Number(env(c, "MASTER_PORT")?.value);
  if (containerPort(c, "rendezvous") !== port) fail(`${id(job)}: MASTER_PORT ${port} is not the container port "rendezvous"`);
  if (!headless.spec.ports.some((p) => p.port === port)) fail(`Service/${subdomain}: no port ${port}`);
  if (spec.template.spec.restartPolicy === "Always") fail(`${id(job)}: a Job cannot restart Always`);
  const api = byKind("Service").find((s) => s.spec.selector?.["batch.kubernetes.io/job-completion-index"] === "0");
  if (!api) fail("no Service selecting learner rank 0 for the Learner API");
});

check("learner failures", () => {
  for (const job of byKind("Job")) {
    const rules = job.spec.podFailurePolicy?.rules || [];
    if (job.spec.template.spec.restartPolicy !== "Never") fail(`${id(job)}: restartPolicy must be Never (podFailurePolicy needs it)`);
    const failsOnConfig = rules.some((r) => r.action === "FailJob" && r.onExitCodes?.operator === "In" && r.onExitCodes.values.includes(2));
    if (!failsOnConfig) fail(`${id(job)}: podFailurePolicy must fail the Job on exit status 2 (a configuration error)`);
    const ignoresDisruption = rules.some((r) => r.action === "Ignore" && (r.onPodConditions || []).some((p) => p.type === "DisruptionTarget"));
    if (!ignoresDisruption) fail(`${id(job)}: podFailurePolicy must not count DisruptionTarget (evictions, preemption) against backoffLimit`);
    // Ranks that share a ReadWriteOnce checkpoint volume must share its node.
    const claims = (job.spec.template.spec.volumes || []).map((v) => v.persistentVolumeClaim?.claimName).filter(Boolean);
    const rwo = claims.map((n) => find("PersistentVolumeClaim", n)).filter((pvc) => pvc && !pvc.spec.accessModes.some((m) => m !== "ReadWriteOnce" && m !== "ReadWriteOncePod"));
    if (job.spec.parallelism > 1 && rwo.length) {
      const terms = job.spec.template.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution || [];
      const colocated = terms.some((t) => t.topologyKey === "kubernetes.io/hostname" && matchesSelector(t.labelSelector, podLabels(job)));
      if (!colocated) fail(`${id(job)}: ${job.spec.parallelism} ranks share ReadWriteOnce PVC ${rwo[0].metadata.name} without a required podAffinity on kubernetes.io/hostname`);
    }
  }
});

// A container's `--set=<key>=<value>` with $(VAR) replaced from its literal env values.
const resolve = (c, value) => value?.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, name) => env(c, name)?.value ?? m);
const deviceKeys = {
  simulator: "simulator.device", reward: "reward.scoring.device", learner: "learner.device", rollout: "rollout.device",
  evaluator: "evaluator.device",
};
const gpus = (c) => Number(c.resources?.limits?.["nvidia.com/gpu"] || 0);

check("devices", () => {
  for (const w of workloads) {
    const c = mainContainer(w);
    const component = w.spec.template.metadata.labels["app.kubernetes.io/component"];
    const key = deviceKeys[component];
    if (!key) continue;
    const device = resolve(c, setValue(c, key));
    if (device === undefined) { fail(`${id(w)}: no --set=${key}=... (every process is told its device)`); continue; }
    if (!/^(cpu|cuda(:[0-9]+)?)$/.test(device)) fail(`${id(w)}: ${key} resolves to '${device}'`);
    if (gpus(c) > 0 && !device.startsWith("cuda")) fail(`${id(w)}: requests ${gpus(c)} GPU(s) but ${key} is ${device}`);
    if (gpus(c) === 0 && device.startsWith("cuda")) fail(`${id(w)}: ${key} is ${device} but the pod requests no nvidia.com/gpu`);
    if (gpus(c) > 0 && w.kind === "Deployment" && w.spec.strategy?.type !== "Recreate") {
      fail(`${id(w)}: a single-GPU Deployment must use strategy Recreate (a rolling update waits for a spare GPU)`);
    }
    if (gpus(c) > 0 && w.kind === "Job") {
      const shm = (c.volumeMounts || []).find((m) => m.mountPath === "/dev/shm");
      const vol = shm && (w.spec.template.spec.volumes || []).find((v) => v.name === shm.name);
      if (vol?.emptyDir?.medium !== "Memory") fail(`${id(w)}: GPU learner ranks need a memory-backed /dev/shm (NCCL)`);
    }
  }
});

check("disruption budgets", () => {
  for (const w of workloads) {
    const budgets = byKind("PodDisruptionBudget").filter((b) => matchesSelector(b.spec.selector, podLabels(w)));
    if (budgets.length !== 1) fail(`${id(w)}: covered by ${budgets.length} PodDisruptionBudgets (want exactly 1)`);
  }
});

check("namespaces", () => {
  const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
    "CustomResourceDefinition", "PriorityClass", "ClusterQueue", "ResourceFlavor"]);
  const namespaces = byKind("Namespace").map((n) => n.metadata.name);
  for (const o of docs) {
    if (clusterScoped.has(o.kind)) continue;
    const ns = o.metadata.namespace;
    if (!ns) fail(`${id(o)}: no metadata.namespace (applied, it lands in the current context's namespace)`);
    else if (namespaces.length && !namespaces.includes(ns)) fail(`${id(o)}: namespace ${ns} is not the overlay's (${namespaces.join(", ")})`);
  }
});

check("volumes, config maps, presets", () => {
  const configMaps = byKind("ConfigMap");
  for (const w of workloads) {
    const spec = w.spec.template.spec;
    for (const v of spec.volumes || []) {
      if (v.configMap && !configMaps.some((m) => m.metadata.name === v.configMap.name)) fail(`${id(w)}: volume ${v.name}: no ConfigMap ${v.configMap.name}`);
      if (v.persistentVolumeClaim && !find("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) fail(`${id(w)}: volume ${v.name}: no PVC ${v.persistentVolumeClaim.claimName}`);
    }
    for (const ct of [...spec.containers, ...(spec.initContainers || [])]) {
      for (const m of ct.volumeMounts || []) {
        if (!(spec.volumes || []).some((v) => v.name === m.name)) fail(`${id(w)}: ${ct.name} mounts undefined volume ${m.name}`);
      }
      for (const e of ct.env || []) {
        const secret = e.valueFrom?.secretKeyRef?.name;
        if (secret && secret !== "vlarft-auth") fail(`${id(w)}: references unknown Secret ${secret}`);
      }
    }
    const c = mainContainer(w);
    const config = argValue(c, "--config");
    const preset = env(c, "VLARFT_PRESET")?.value;
    if (config !== "/etc/vlarft/config/$(VLARFT_PRESET).yaml" || !preset) { fail(`${id(w)}: --config must be /etc/vlarft/config/$(VLARFT_PRESET).yaml`); continue; }
    const vol = (spec.volumes || []).find((v) => (c.volumeMounts || []).some((m) => m.name === v.name && m.mountPath === "/etc/vlarft/config"));
    const map = vol && configMaps.find((m) => m.metadata.name === vol.configMap?.name);
    if (!map) fail(`${id(w)}: /etc/vlarft/config is not the preset ConfigMap`);
    else if (!Object.hasOwn(map.data || {}, `${preset}.yaml`)) {
      const msg = `${id(w)}: preset ${preset}.yaml is not in ConfigMap ${map.metadata.name}`;
      if (fs.existsSync(path.join(root, "configs", `${preset}.yaml`))) fail(`${msg} (add it to configs/kustomization.yaml)`);
      else warnings.push(`${msg}: configs/${preset}.yaml does not exist in the repository yet`);
    }
  }
  // Every preset in configs/ is shipped.
  const presetMap = configMaps.find((m) => m.metadata.name.startsWith("vlarft-config"));
  for (const f of fs.readdirSync(path.join(root, "configs"))) {
    if (!/\.ya?ml$/.test(f) || /^kustomization\.ya?ml$/.test(f)) continue;
    if (!presetMap || !Object.hasOwn(presetMap.data || {}, f)) fail(`configs/${f} is not in the vlarft-config ConfigMap (list it in configs/kustomization.yaml)`);
  }
});

check("scrape coverage", () => {
  // Each pod with a metrics port is scraped exactly once, by a ServiceMonitor (through a Service
  // that has a "metrics" port) or a PodMonitor.
  for (const w of workloads) {
    const c = mainContainer(w);
    if (!containerPort(c, "metrics")) continue;
    let scrapes = 0;
    for (const sm of byKind("ServiceMonitor")) {
      const ports = sm.spec.endpoints.map((e) => e.port);
      for (const s of byKind("Service")) {
        if (!matchesSelector(sm.spec.selector, s.metadata.labels || {})) continue;
        if (!matches(s.spec.selector, podLabels(w))) continue;
        if (s.spec.ports.some((p) => ports.includes(p.name))) scrapes += 1;
      }
    }
    for (const pm of byKind("PodMonitor")) {
      if (matchesSelector(pm.spec.selector, podLabels(w)) && pm.spec.podMetricsEndpoints.some((e) => containerPort(c, e.port))) scrapes += 1;
    }
    if (scrapes !== 1) fail(`${id(w)}: scraped by ${scrapes} monitors (want exactly 1)`);
  }
  for (const m of [...byKind("ServiceMonitor"), ...byKind("PodMonitor")]) {
    const endpoints = m.spec.endpoints || m.spec.podMetricsEndpoints;
    for (const e of endpoints) {
      const labels = (e.relabelings || []).map((r) => r.targetLabel);
      if (!labels.includes("component")) fail(`${id(m)}: endpoint ${e.port} must set the "component" label (dashboards and alerts use it)`);
    }
  }
});

check("autoscaling", () => {
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const ref = h.spec.scaleTargetRef;
    if (!find(ref.kind, ref.name)) fail(`${id(h)}: scale target ${ref.kind}/${ref.name} not in the overlay`);
    if (ref.kind === "Job") fail(`${id(h)}: the learner's world size cannot be autoscaled`);
  }
});

for (const [name, count] of checks) console.log(`${count ? "FAIL" : "ok  "} ${path.basename(file)}: ${name}`);
for (const w of warnings) console.log(`WARN ${path.basename(file)}: ${w}`);
for (const p of problems) console.log(`  ${p}`);
process.exit(problems.length ? 1 : 0);
