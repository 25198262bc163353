// Helpers for the Prometheus side of the deploy tests (tests/deploy/deploy_test.sh):
//
//   node extract.mjs rules RENDERED.yaml
//       prints the PrometheusRule objects' spec.groups as a plain Prometheus rule file
//   node extract.mjs dashboard-rules DASHBOARD.json
//       prints every dashboard query as a recording rule (Grafana variables filled in), so that
//       `promtool check rules` parses each one
//   node extract.mjs metric-names REPO_ROOT DASHBOARD.json RENDERED.yaml
//       checks that every vlarft_* metric the dashboard and the rules use is exported by the code
//       (a string literal "vlarft_..." under services/ or libs/), allowing histogram suffixes
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

// Metrics the dashboard may show before the code exports them. Panels using them read "n/a".
// Empty: every panel has a live series (the deploy tests keep it so).
const ANNOUNCED = new Map([]);

const [command, ...args] = process.argv.slice(2);

function loadDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
}

function ruleGroups(rendered) {
  return loadDocs(rendered).filter((d) => d.kind === "PrometheusRule").flatMap((d) => d.spec.groups);
}

function dashboardExprs(file) {
  const dashboard = JSON.parse(fs.readFileSync(file, "utf8"));
  const out = [];
  for (const panel of dashboard.panels) {
    for (const t of panel.targets || []) {
      out.push({
        panel: panel.title,
        ref: t.refId,
        id: panel.id,
        expr: t.expr.replaceAll("$namespace", ".*").replaceAll("$__rate_interval", "5m"),
      });
    }
  }
  for (const v of dashboard.templating?.list || []) {
    const q = typeof v.query === "object" ? v.query.query : v.query;
    const m = /^label_values\(([^,]+),/.exec(q || "");
    if (m) out.push({ panel: `variable ${v.name}`, ref: "A", id: 0, expr: m[1].trim() });
  }
  return out;
}

function sourceMetricNames(root) {
  const names = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cc|h)$/.test(e.name)) {
        for (const m of fs.readFileSync(p, "utf8").matchAll(/"(vlarft_[a-z0-9_]+)"/g)) names.add(m[1]);
      }
    }
  };
  for (const d of ["services", "libs"]) if (fs.existsSync(path.join(root, d))) walk(path.join(root, d));
  return names;
}

switch (command) {
  case "rules": {
    const groups = ruleGroups(args[0]);
    if (groups.length === 0) throw new Error(`no PrometheusRule groups in ${args[0]}`);
    process.stdout.write(YAML.stringify({ groups }, { lineWidth: 0 }));
    break;
  }
  case "dashboard-rules": {
    const rules = dashboardExprs(args[0]).map((q) => ({ record: `dashboard:panel${q.id}:${q.ref}`, expr: q.expr }));
    process.stdout.write(YAML.stringify({ groups: [{ name: "dashboard-queries", rules }] }, { lineWidth: 0 }));
    break;
  }
  case "metric-names": {
    const [root, dashboardFile, rendered] = args;
    const known = sourceMetricNames(root);
    const exported = (name) =>
      known.has(name) || ["_bucket", "_sum", "_count"].some((s) => name.endsWith(s) && known.has(name.slice(0, -s.length)));
    const uses = [
      ...dashboardExprs(dashboardFile).map((q) => [`dashboard "${q.panel}" ${q.ref}`, q.expr]),
      ...ruleGroups(rendered).flatMap((g) => g.rules.map((r) => [`rule ${r.record || r.alert}`, r.expr])),
    ];
    const missing = [];
    const announced = new Set();
    for (const [where, expr] of uses) {
      for (const m of expr.matchAll(/\bvlarft_[a-z0-9_]+\b/g)) {
        if (exported(m[0])) continue;
        if (ANNOUNCED.has(m[0])) announced.add(m[0]);
        else missing.push(`${where}: ${m[0]} is not exported by any service`);
      }
    }
    console.log(`${uses.length} queries checked against ${known.size} metric names from the code`);
    for (const name of announced) console.log(`WARN ${name}: not exported yet (${ANNOUNCED.get(name)})`);
    for (const m of missing) console.log(`FAIL ${m}`);
    process.exit(missing.length ? 1 : 0);
  }
  default:
    console.error("usage: node extract.mjs rules|dashboard-rules|metric-names ...");
    process.exit(2);
}
