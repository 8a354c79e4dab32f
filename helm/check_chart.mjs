// Offline checks of the inventory-ledger chart, run by helm/test.sh.
//
//   node check_chart.mjs validate <rendered.yaml> [--expect Kind=N ...]
//     Parses the `helm template` stream (the `yaml` package) and validates
//     every object against the Kubernetes API schema of its apiVersion/kind
//     (`kubernetes-models`; ServiceMonitor and PrometheusRule with
//     `@kubernetes-models/prometheus-operator`). An object of a kind neither
//     package knows is an error. --expect: exactly N objects of that kind
//     (0 = none). Note: these schemas check types, enums and required fields;
//     they do not reject unknown fields.
//
//   node check_chart.mjs values <chart dir>
//     Every key of values.yaml is read by a template and listed in the chart
//     README's table, and every .Values reference of a template exists in
//     values.yaml. A "key" is a path down to a leaf, stopping at maps the
//     schema declares free-form (type object without properties, such as
//     resources): those are handed to Kubernetes whole.
//
//   node check_chart.mjs readiness <rendered.yaml> <bound> <Kind/component>...
//     Each workload (Deployment or StatefulSet with that
//     app.kubernetes.io/component label) exists, and its inventoryd
//     container is ready on GET /ready of its `http` port, which it declares
//     and listens on (INVENTORY_HTTP_LISTEN), with INVENTORY_READY_LAG_EVENTS_MAX
//     (the caught-up bound /ready holds the views to) equal to <bound>.
//
//   node check_chart.mjs kafka <rendered.yaml> <out client.properties>
//     Every workload's inventoryd container gets INVENTORY_KAFKA_CONFIG (from
//     its env or a ConfigMap it reads whole) naming a file it mounts, the
//     config map's client.properties; the file holds no secret value (no
//     sasl.password=, sasl.username=, ssl.key.password=), and every path it
//     names (`<key>.file=`, `ssl.*.location=`) lies in a Secret the container
//     mounts. Writes client.properties to <out>, for helm/test.sh to hand to
//     inventoryd itself.
//
//   node check_chart.mjs standby <rendered.yaml> <namespace> <pollMs> <takeoverAfterMs> <size> <storageClass>
//     The warm standby writer: a StatefulSet of component command-standby
//     whose inventoryd runs the command role with INVENTORY_STANDBY_OF the
//     writer pod's DNS name (<writer>-0.<its headless Service>.<namespace>.svc)
//     and gRPC port, the poll and takeover values given, the Kafka backend;
//     its own PVC "data" of <size> and <storageClass> on /data; a readiness
//     probe equal to the writer's and no startup or liveness probe; the
//     writer's security contexts. Both headless Services exist, publish not
//     ready pods and select their pod; the writer Service selects the writer
//     and the standby pods and no query pod; the writer container waits
//     while the standby pod's gRPC port accepts connections, then execs
//     inventoryd serve; the NetworkPolicy lets both reach each other's gRPC
//     port.
//
//   node check_chart.mjs nostandby <rendered.yaml>
//     Without the standby: no command-standby objects, the writer starts
//     inventoryd directly (args [serve], no command), and the writer
//     Service still selects the writer pod and no query pod.
//
// Exit status 0 when every check passes, 1 otherwise (each failure printed).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const failures = [];
const fail = (msg) => failures.push(msg);

function moduleFor(apiVersion, kind) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;  // "v1" or "group/version"
}

async function validate(file, expectations) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  const counts = {};
  let objects = 0;
  for (const doc of docs) {
    if (doc.errors.length) {
      fail(`${file}: YAML error: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;  // an empty document between separators
    objects++;
    const where = `${file}: ${obj.kind ?? "?"} ${obj.metadata?.name ?? "?"}`;
    if (!obj.apiVersion || !obj.kind) {
      fail(`${where}: no apiVersion/kind`);
      continue;
    }
    counts[obj.kind] = (counts[obj.kind] ?? 0) + 1;
    let Model;
    try {
      Model = (await import(moduleFor(obj.apiVersion, obj.kind)))[obj.kind];
    } catch (e) {
      fail(`${where}: no schema for ${obj.apiVersion} ${obj.kind} (${e.code ?? e.message})`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      fail(`${where}: ${e.message.split("\n").slice(0, 5).join("; ")}`);
    }
  }
  if (objects === 0) fail(`${file}: no objects rendered`);
  for (const e of expectations) {
    const [kind, n] = e.split("=");
    if ((counts[kind] ?? 0) !== Number(n)) fail(`${file}: expected ${n} ${kind}, rendered ${counts[kind] ?? 0}`);
  }
  if (!failures.length) console.log(`${file}: ${objects} objects validated (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ")})`);
}

// The schema node at `keys` (following properties), or undefined.
function schemaAt(schema, keys) {
  let node = schema;
  for (const k of keys) {
    node = node?.properties?.[k];
    if (!node) return undefined;
  }
  return node;
}

function valueKeys(values, schema, prefix = []) {
  const out = [];
  for (const [k, v] of Object.entries(values)) {
    const keys = [...prefix, k];
    const s = schemaAt(schema, keys);
    if (!s) fail(`values.yaml: ${keys.join(".")} is not in values.schema.json`);
    const freeForm = s && s.type === "object" && !s.properties;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length && !freeForm) {
      out.push(...valueKeys(v, schema, keys));
    } else {
      out.push(keys.join("."));
    }
  }
  return out;
}

function templateRefs(dir) {
  const refs = new Set();
  for (const f of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    for (const m of text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) refs.add(m[1].replace(/\.$/, ""));
  }
  return refs;
}

function checkValues(chart) {
  const values = YAML.parse(fs.readFileSync(path.join(chart, "values.yaml"), "utf8"));
  const schema = JSON.parse(fs.readFileSync(path.join(chart, "values.schema.json"), "utf8"));
  const readme = fs.readFileSync(path.join(chart, "README.md"), "utf8");
  const tableKeys = new Set();
  for (const line of readme.split("\n")) {
    const m = line.match(/^\|\s*`([A-Za-z0-9_.]+)`\s*\|/);
    if (m) tableKeys.add(m[1]);
  }
  const keys = valueKeys(values, schema);
  const refs = templateRefs(path.join(chart, "templates"));
  for (const key of keys) {
    const used = [...refs].some((r) => r === key || r.startsWith(key + "."));
    if (!used) fail(`values.yaml: ${key} is never read by a template`);
    if (!tableKeys.has(key)) fail(`README.md: ${key} is missing from the values table`);
  }
  for (const t of tableKeys) {
    if (!keys.includes(t)) fail(`README.md: the values table lists ${t}, which values.yaml does not have`);
  }
  for (const r of refs) {
    const known = keys.some((k) => r === k || r.startsWith(k + ".") || k.startsWith(r + "."));
    if (!known) fail(`templates: .Values.${r} is not a key of values.yaml`);
  }
  if (!failures.length) console.log(`${chart}: ${keys.length} value keys, each read by a template and listed in README.md`);
}

function checkReadiness(file, bound, workloads) {
  const objs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  for (const w of workloads) {
    const [kind, component] = w.split("/");
    const obj = objs.find((o) => o.kind === kind && o.metadata?.labels?.["app.kubernetes.io/component"] === component);
    if (!obj) {
      fail(`${file}: no ${kind} of component ${component}`);
      continue;
    }
    const where = `${file}: ${kind} ${obj.metadata.name}`;
    const c = obj.spec.template.spec.containers.find((x) => x.name === "inventoryd");
    if (!c) {
      fail(`${where}: no inventoryd container`);
      continue;
    }
    const get = c.readinessProbe?.httpGet;
    if (get?.path !== "/ready" || get?.port !== "http") {
      fail(`${where}: readiness probe is ${JSON.stringify(c.readinessProbe)}, not GET /ready on port http`);
    }
    const port = (c.ports ?? []).find((p) => p.name === "http");
    if (!port) fail(`${where}: the container declares no port named http`);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    if (port && env.INVENTORY_HTTP_LISTEN !== `0.0.0.0:${port.containerPort}`) {
      fail(`${where}: INVENTORY_HTTP_LISTEN is ${env.INVENTORY_HTTP_LISTEN}, not the http port ${port.containerPort}`);
    }
    if (env.INVENTORY_READY_LAG_EVENTS_MAX !== bound) {
      fail(`${where}: INVENTORY_READY_LAG_EVENTS_MAX is ${env.INVENTORY_READY_LAG_EVENTS_MAX}, not ${bound}`);
    }
  }
  if (!failures.length) console.log(`${file}: ${workloads.join(", ")} ready on GET /ready, bound ${bound} events`);
}

function checkKafka(file, out) {
  const objs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const maps = Object.fromEntries(objs.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));
  const workloads = objs.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
  if (!workloads.length) fail(`${file}: no workloads`);
  let properties;
  for (const w of workloads) {
    const where = `${file}: ${w.kind} ${w.metadata.name}`;
    const pod = w.spec.template.spec;
    const c = pod.containers.find((x) => x.name === "inventoryd");
    const env = Object.assign({}, ...(c.envFrom ?? []).map((e) => maps[e.configMapRef?.name] ?? {}),
      Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value])));
    const configPath = env.INVENTORY_KAFKA_CONFIG;
    if (!configPath) {
      fail(`${where}: no INVENTORY_KAFKA_CONFIG`);
      continue;
    }
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === configPath);
    const volume = mount && pod.volumes.find((v) => v.name === mount.name);
    const text = volume?.configMap && maps[volume.configMap.name]?.[mount.subPath];
    if (!text) {
      fail(`${where}: INVENTORY_KAFKA_CONFIG ${configPath} is not a mounted ConfigMap file`);
      continue;
    }
    properties = text;
    const secretDirs = (c.volumeMounts ?? []).filter((m) => pod.volumes.find((v) => v.name === m.name)?.secret)
      .map((m) => m.mountPath + "/");
    for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
      const [key, value] = line.split(/=(.*)/s).map((x) => x.trim());
      if (["sasl.password", "sasl.username", "ssl.key.password"].includes(key)) {
        fail(`${where}: client.properties holds ${key} itself, not a reference to a Secret`);
      }
      if ((key.endsWith(".file") || key.endsWith(".location")) && !secretDirs.some((d) => value.startsWith(d))) {
        fail(`${where}: ${key} names ${value}, which is in no Secret the container mounts`);
      }
    }
  }
  if (properties !== undefined) fs.writeFileSync(out, properties);
  if (!failures.length) console.log(`${file}: every workload reads the Kafka settings, secrets by reference only`);
}

const selects = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const podLabels = (w) => w?.spec?.template?.metadata?.labels ?? {};
const inventoryd = (w) => w?.spec?.template?.spec?.containers?.find((x) => x.name === "inventoryd");
const workload = (objs, component) =>
  objs.find((o) => o.kind === "StatefulSet" && o.metadata?.labels?.["app.kubernetes.io/component"] === component);
// The ClusterIP Service that routes gRPC to the writer: named <fullname>-command.
const writerService = (objs, writer) =>
  objs.find((o) => o.kind === "Service" && o.metadata.name === writer.metadata.name && o.spec.clusterIP !== "None");

// Pod 0 of a StatefulSet by its headless Service, checked to exist and to
// publish that pod whether ready or not; "" when it does not.
function podHost(file, objs, set, namespace) {
  const headless = objs.find((o) => o.kind === "Service" && o.metadata.name === set.spec.serviceName);
  if (!headless) {
    fail(`${file}: StatefulSet ${set.metadata.name}: no headless Service ${set.spec.serviceName}`);
    return "";
  }
  if (headless.spec.clusterIP !== "None" || headless.spec.publishNotReadyAddresses !== true
    || !selects(headless.spec.selector, podLabels(set))) {
    fail(`${file}: Service ${headless.metadata.name} is not headless, hides not-ready pods, or does not select ${set.metadata.name}'s pod`);
  }
  return `${set.metadata.name}-0.${headless.metadata.name}.${namespace}.svc`;
}

function envOf(objs, c) {
  const maps = Object.fromEntries(objs.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));
  return Object.assign({}, ...(c.envFrom ?? []).map((e) => maps[e.configMapRef?.name] ?? {}),
    Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value])));
}

function checkStandby(file, namespace, pollMs, takeoverMs, size, storageClass) {
  const objs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const writer = workload(objs, "command");
  const standby = workload(objs, "command-standby");
  const query = objs.find((o) => o.kind === "Deployment" && o.metadata?.labels?.["app.kubernetes.io/component"] === "query");
  if (!writer || !standby) return fail(`${file}: no writer or no standby StatefulSet`);
  const where = `${file}: StatefulSet ${standby.metadata.name}`;
  const c = inventoryd(standby);
  const w = inventoryd(writer);
  const env = envOf(objs, c);
  const grpcPort = (x) => (x.ports ?? []).find((p) => p.name === "grpc")?.containerPort;
  const writerHost = podHost(file, objs, writer, namespace);
  const standbyHost = podHost(file, objs, standby, namespace);
  const want = {
    INVENTORY_ROLES: "command", INVENTORY_LOG_BACKEND: "kafka", INVENTORY_DATA_DIR: "/data",
    INVENTORY_STANDBY_OF: `${writerHost}:${grpcPort(w)}`,
    INVENTORY_STANDBY_POLL_MS: pollMs, INVENTORY_STANDBY_TAKEOVER_AFTER_MS: takeoverMs,
  };
  for (const [k, v] of Object.entries(want)) {
    if (env[k] !== v) fail(`${where}: ${k} is ${env[k]}, not ${v}`);
  }
  if (JSON.stringify(c.args) !== JSON.stringify(["serve"]) || c.command) {
    fail(`${where}: runs ${JSON.stringify(c.command)} ${JSON.stringify(c.args)}, not inventoryd serve`);
  }
  const claim = (standby.spec.volumeClaimTemplates ?? []).find((t) => t.metadata.name === "data");
  if (claim?.spec?.resources?.requests?.storage !== size || (claim?.spec?.storageClassName ?? "") !== storageClass) {
    fail(`${where}: PVC data is ${JSON.stringify(claim?.spec)}, not ${size} of class "${storageClass}"`);
  }
  if (!(c.volumeMounts ?? []).some((m) => m.name === "data" && m.mountPath === "/data")) fail(`${where}: data not mounted on /data`);
  if (c.startupProbe || c.livenessProbe) fail(`${where}: a startup or liveness probe would kill a standby that serves nothing`);
  if (!c.readinessProbe || JSON.stringify(c.readinessProbe) !== JSON.stringify(w.readinessProbe)) {
    fail(`${where}: readiness ${JSON.stringify(c.readinessProbe)} is not the writer's ${JSON.stringify(w.readinessProbe)}`);
  }
  if (JSON.stringify(c.securityContext) !== JSON.stringify(w.securityContext)
    || JSON.stringify(standby.spec.template.spec.securityContext) !== JSON.stringify(writer.spec.template.spec.securityContext)) {
    fail(`${where}: security context differs from the writer's`);
  }
  const service = writerService(objs, writer);
  if (!service || !selects(service.spec.selector, podLabels(writer)) || !selects(service.spec.selector, podLabels(standby))
    || (query && selects(service.spec.selector, podLabels(query)))) {
    fail(`${file}: the writer Service ${service?.metadata?.name} does not select exactly the writer and standby pods`);
  }
  const script = (w.args ?? []).join("\n");
  const waits = JSON.stringify(w.command) === JSON.stringify(["bash", "-c"])
    && script.includes(`while (exec 3<>/dev/tcp/${standbyHost}/${grpcPort(c)})`) && /\nexec inventoryd serve\s*$/.test(script);
  if (!waits) fail(`${file}: the writer does not wait while ${standbyHost}:${grpcPort(c)} accepts connections: ${JSON.stringify(w.command)} ${script}`);
  const policy = objs.find((o) => o.kind === "NetworkPolicy");
  const reaches = (from, to) => selects(policy?.spec?.podSelector?.matchLabels, podLabels(from))
    && (policy?.spec?.egress ?? []).some((r) => (r.ports ?? []).some((p) => p.port === grpcPort(c))
      && (r.to ?? []).some((t) => t.podSelector && selects(t.podSelector.matchLabels, podLabels(to))));
  if (policy && !(reaches(standby, writer) && reaches(writer, standby))) {
    fail(`${file}: the NetworkPolicy does not let the writer and the standby reach each other's gRPC port`);
  }
  if (!failures.length) console.log(`${file}: the standby follows ${want.INVENTORY_STANDBY_OF}, readiness only, own PVC; the writer waits for ${standbyHost}`);
}

function checkNoStandby(file) {
  const objs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const writer = workload(objs, "command");
  if (!writer) return fail(`${file}: no writer StatefulSet`);
  if (objs.some((o) => o.metadata?.name?.includes("standby"))) fail(`${file}: standby objects rendered without command.standby.enabled`);
  const w = inventoryd(writer);
  if (w.command || JSON.stringify(w.args) !== JSON.stringify(["serve"])) {
    fail(`${file}: the writer runs ${JSON.stringify(w.command)} ${JSON.stringify(w.args)}, not inventoryd serve`);
  }
  const query = objs.find((o) => o.kind === "Deployment");
  const service = writerService(objs, writer);
  if (!service || !selects(service.spec.selector, podLabels(writer)) || (query && selects(service.spec.selector, podLabels(query)))) {
    fail(`${file}: the writer Service does not select the writer pod alone`);
  }
  if (!failures.length) console.log(`${file}: no standby; the writer Service selects the writer, which starts inventoryd directly`);
}

const [cmd, target, ...rest] = process.argv.slice(2);
if (cmd === "validate" && target) {
  const expect = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--expect" && rest[i + 1]) expect.push(rest[++i]);
    else fail(`unknown argument ${rest[i]}`);
  }
  await validate(target, expect);
} else if (cmd === "values" && target) {
  checkValues(target);
} else if (cmd === "kafka" && target && rest.length === 1) {
  checkKafka(target, rest[0]);
} else if (cmd === "readiness" && target && rest.length >= 2) {
  checkReadiness(target, rest[0], rest.slice(1));
} else if (cmd === "standby" && target && rest.length === 5) {
  checkStandby(target, ...rest);
} else if (cmd === "nostandby" && target && rest.length === 0) {
  checkNoStandby(target);
} else {
  fail("usage: check_chart.mjs validate <rendered.yaml> [--expect Kind=N ...] | values <chart dir>"
    + " | readiness <rendered.yaml> <bound> <Kind/component>... | kafka <rendered.yaml> <out>"
    + " | standby <rendered.yaml> <namespace> <pollMs> <takeoverAfterMs> <size> <storageClass> | nostandby <rendered.yaml>");
}
for (const f of failures) console.error("FAIL: " + f);
process.exit(failures.length ? 1 : 0);
