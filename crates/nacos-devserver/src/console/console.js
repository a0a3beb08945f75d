// The nacos-devserver console: polls the server's console API about once a second and redraws
// what changed. Everything shown is set as text (never parsed as HTML): service names and
// metadata are whatever clients registered.
"use strict";

(() => {
  const POLL_MS = 1000;
  const TOKEN_KEY = "nacos-devserver-token";

  const view = {
    namespace: "public",
    // The service whose instances are shown, `group@@name`.
    service: null,
    // The last answers drawn: an unchanged answer is not drawn again.
    overview: "",
    instances: "",
    auth: false,
  };

  const $ = (id) => document.getElementById(id);

  /** An element with attributes (`class`, `data-*`, properties) and children (text or nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("data-") || name.startsWith("aria-")) node.setAttribute(name, value);
      else node[name] = value;
    }
    node.append(...children);
    return node;
  }

  /** A call was refused for want of a token: the login form is shown. */
  class Refused extends Error {}

  /** Calls the server: parameters in the query of a GET, else in a form body. */
  async function call(method, path, params) {
    const init = { method, headers: {}, cache: "no-store" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) init.headers.accessToken = token;
    let url = path;
    if (params) {
      const form = new URLSearchParams(params);
      if (method === "GET") url += "?" + form;
      else init.body = form;
    }
    const response = await fetch(url, init);
    const text = await response.text();
    if (response.status === 403) {
      // Unless a login stored a new token while this call was on its way.
      if (sessionStorage.getItem(TOKEN_KEY) === token) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin();
      }
      throw new Refused(reason(text, response.status));
    }
    if (!response.ok) throw new Error(reason(text, response.status));
    return text;
  }

  /** The server's reason for a refusal, without its `caused: …;` wrapping. */
  function reason(text, status) {
    const match = /^caused: ([\s\S]*);$/.exec(text.trim());
    return `${status}: ${match ? match[1] : text.trim().slice(0, 200)}`;
  }

  function setStatus(text, kind) {
    const status = $("status");
    status.textContent = text;
    status.className = kind || "";
  }

  function showLogin() {
    $("login").hidden = false;
    $("main").hidden = true;
  }

  function showMain() {
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = !view.auth;
  }

  // Polling: one round at a time; an action asks for the next round at once.
  let timer = null;
  let polling = false;

  function pollIn(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    if (polling) return pollIn(50);
    polling = true;
    try {
      await refresh();
      setStatus(`updated ${new Date().toLocaleTimeString()}`, "live");
    } catch (e) {
      if (!(e instanceof Refused)) setStatus(`cannot reach the server (${e.message})`, "error");
    } finally {
      polling = false;
      pollIn(POLL_MS);
    }
  }

  async function refresh() {
    const overview = await call("GET", "console-api/overview");
    showMain();
    if (overview !== view.overview) {
      view.overview = overview;
      drawOverview(JSON.parse(overview));
    }
    if (!view.service) return;
    const [group, name] = splitService(view.service);
    const instances = await call("GET", "console-api/instances", {
      namespaceId: view.namespace,
      groupName: group,
      serviceName: name,
    });
    // A weight being typed in is not wiped by a redraw: it waits for the field to lose focus.
    const editing = $("instances").contains(document.activeElement)
      && document.activeElement.tagName === "INPUT";
    if (instances !== view.instances && !editing) {
      view.instances = instances;
      drawInstances(JSON.parse(instances));
    }
  }

  function splitService(grouped) {
    const at = grouped.indexOf("@@");
    return [grouped.slice(0, at), grouped.slice(at + 2)];
  }

  function drawOverview(overview) {
    view.auth = overview.auth;
    $("server-line").textContent =
      `server line ${overview.serverLine} · auth ${overview.auth ? "on" : "off"}`;
    $("logout").hidden = !view.auth;
    const namespaces = overview.namespaces;
    if (!namespaces.some((ns) => ns.id === view.namespace)) view.namespace = "public";

    const nav = $("namespaces");
    nav.replaceChildren(...namespaces.map((ns) => {
      const button = el("button", {
        type: "button",
        class: ns.id === view.namespace ? "selected" : "",
        "data-namespace": ns.id,
      }, `${ns.id} (${ns.services.length})`);
      button.addEventListener("click", () => select(ns.id, null));
      return button;
    }));

    const current = namespaces.find((ns) => ns.id === view.namespace);
    const services = current ? current.services : [];
    $("no-services").hidden = services.length > 0;
    $("services").tBodies[0].replaceChildren(...services.map((s) => {
      const grouped = `${s.group}@@${s.name}`;
      const row = el("tr", {
        class: grouped === view.service ? "selected" : "",
        "data-service": grouped,
        tabIndex: 0,
      },
      el("td", {}, s.group),
      el("td", {}, s.name),
      el("td", { class: "number" }, String(s.instances)),
      el("td", { class: s.healthy < s.instances ? "number warn" : "number" },
        String(s.healthy) + (s.protected ? " (protected)" : "")),
      el("td", { class: "number" }, String(s.clusters)));
      row.addEventListener("click", () => select(view.namespace, grouped));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") select(view.namespace, grouped);
      });
      return row;
    }));
    if (view.service && !services.some((s) => `${s.group}@@${s.name}` === view.service)) {
      // The service is gone: its instances are no longer shown.
      view.service = null;
    }
    $("instances-section").hidden = !view.service;
  }

  function select(namespace, service) {
    view.namespace = namespace;
    view.service = service;
    view.overview = "";
    view.instances = "";
    pollIn(0);
  }

  function drawInstances(held) {
    const instances = held.instances;
    $("instances-title").textContent = `Instances of ${view.service} in ${view.namespace}`;
    const metadata = Object.entries(held.metadata).map(([k, v]) => `${k}=${v}`).join(", ");
    $("service-definition").textContent =
      `protection threshold ${held.protectThreshold} · metadata ${metadata || "none"}`;
    $("no-instances").hidden = instances.length > 0;
    $("instances").tBodies[0].replaceChildren(...instances.map(instanceRow));
  }

  function address(instance) {
    return instance.ip.includes(":")
      ? `[${instance.ip}]:${instance.port}`
      : `${instance.ip}:${instance.port}`;
  }

  function instanceRow(instance) {
    const weight = el("input", {
      type: "number", min: "0", max: "10000", step: "any",
      value: String(instance.weight), class: "weight", "aria-label": "weight",
    });
    const setWeight = el("button", { type: "button", class: "set-weight" }, "Set");
    setWeight.addEventListener("click", () => {
      act(`weight of ${address(instance)} set`, "PUT", modification(instance, {
        weight: weight.value,
      }));
    });
    weight.addEventListener("keydown", (e) => {
      if (e.key === "Enter") setWeight.click();
    });

    const toggle = el("button", { type: "button", class: "toggle-enabled" },
      instance.enabled ? "Disable" : "Enable");
    toggle.addEventListener("click", () => {
      act(`${address(instance)} ${instance.enabled ? "disabled" : "enabled"}`, "PUT",
        modification(instance, { enabled: String(!instance.enabled) }));
    });

    const remove = el("button", { type: "button", class: "deregister" }, "Deregister");
    remove.addEventListener("click", () => {
      if (!window.confirm(`Deregister ${address(instance)} (${instance.clusterName})?`)) return;
      act(`${address(instance)} deregistered`, "DELETE", identity(instance));
    });

    const metadata = Object.entries(instance.metadata || {});
    return el("tr", {
      "data-instance": `${instance.clusterName} ${address(instance)}`,
      "data-enabled": String(instance.enabled),
      "data-healthy": String(instance.healthy),
      "data-weight": String(instance.weight),
    },
    el("td", {}, instance.clusterName),
    el("td", {}, address(instance)),
    el("td", { class: "weight-cell" }, weight, setWeight),
    el("td", { class: instance.healthy ? "ok" : "warn" },
      instance.healthy ? "healthy" : "unhealthy"),
    el("td", { class: instance.enabled ? "enabled-cell" : "enabled-cell warn" },
      instance.enabled ? "yes" : "no", " ", toggle),
    el("td", {}, instance.ephemeral ? "yes" : "no"),
    el("td", {}, metadata.length === 0 ? "" : el("ul", { class: "metadata" },
      ...metadata.map(([k, v]) => el("li", {}, el("code", {}, k), " = ", el("code", {}, v))))),
    el("td", {}, remove));
  }

  /** The parameters that name an instance. */
  function identity(instance) {
    return {
      namespaceId: view.namespace,
      serviceName: view.service,
      clusterName: instance.clusterName,
      ip: instance.ip,
      port: String(instance.port),
      ephemeral: String(instance.ephemeral),
    };
  }

  /** A modify that changes `changes` and keeps the rest (a modify replaces every setting). */
  function modification(instance, changes) {
    return {
      ...identity(instance),
      weight: String(instance.weight),
      enabled: String(instance.enabled),
      metadata: JSON.stringify(instance.metadata || {}),
      ...changes,
    };
  }

  async function act(done, method, params) {
    try {
      await call(method, "console-api/instance", params);
      setStatus(done, "live");
    } catch (e) {
      setStatus(e.message, "error");
    }
    pollIn(0);
  }

  $("register-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const params = {
      namespaceId: view.namespace,
      groupName: form.get("groupName"),
      serviceName: form.get("serviceName"),
      ip: form.get("ip"),
      port: form.get("port"),
      clusterName: form.get("clusterName"),
      weight: form.get("weight"),
      metadata: form.get("metadata"),
      ephemeral: String(form.get("ephemeral") === "on"),
      enabled: "true",
    };
    await act(`registered ${params.ip}:${params.port} in ${params.serviceName}`, "POST", params);
    view.service = `${params.groupName}@@${params.serviceName}`;
  });

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new URLSearchParams(new FormData(e.target));
    $("login-error").textContent = "";
    try {
      const response = await fetch("v1/auth/login", { method: "POST", body: form });
      const text = await response.text();
      if (!response.ok) throw new Error(reason(text, response.status));
      sessionStorage.setItem(TOKEN_KEY, JSON.parse(text).accessToken);
      e.target.reset();
      view.overview = "";
      view.instances = "";
      pollIn(0);
    } catch (err) {
      $("login-error").textContent = `Login failed: ${err.message}`;
    }
  });

  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });

  poll();
})();
