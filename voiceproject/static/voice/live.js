// The live board: polls /api/calls/live/ (its URL and period come from data- attributes of
// #live-board), redraws when the answer changed (ETag), and ticks elapsed times every second.
// Clock times are 24-hour in the user's zone, named as the server names it (data-zone-names,
// by offset), with the date when not today. Everything from the server is written with
// textContent, never as HTML. For supervisors (data-monitor-url present) each call in a
// conference gets Listen, Whisper, Barge and Leave, posted to the conference hub's API.
"use strict";

(function () {
  const board = document.getElementById("live-board");
  if (!board) return;
  const apiUrl = board.dataset.apiUrl;
  const familyUrl = board.dataset.familyUrl;
  const period = Number(board.dataset.pollMilliseconds) || 1000;
  const status = document.getElementById("live-status");
  const monitorStatus = document.getElementById("monitor-status");
  const mayMonitor = Boolean(board.dataset.monitorUrl);
  const columns = mayMonitor ? 6 : 5;
  // conference name -> the mode this supervisor last asked for there (this page's memory).
  const monitoring = new Map();
  let lastData = null;
  let etag = null;
  let clockOffset = 0; // server time minus this browser's time, from the Date header
  const zoneNames = JSON.parse(board.dataset.zoneNames || "{}");
  const zoneParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: board.dataset.timeZone || "UTC", hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "longOffset",
  });

  function inZone(moment) {
    const parts = Object.fromEntries(zoneParts.formatToParts(moment).map((part) => [part.type, part.value]));
    const offset = parts.timeZoneName.replace("GMT", "").replace("\u2212", "-") || "+00:00";
    return {
      date: `${parts.year}-${parts.month}-${parts.day}`,
      minutes: `${parts.hour}:${parts.minute}`,
      seconds: `${parts.hour}:${parts.minute}:${parts.second}`,
      zone: zoneNames[offset] || "UTC" + offset,
    };
  }

  // "09:03 CET" today, "2026-12-07 17:45 CET" before: never a bare "9:03" that reads as a
  // duration.
  function clockTime(iso) {
    const moment = inZone(new Date(iso));
    const today = inZone(new Date(Date.now() + clockOffset)).date;
    return (moment.date === today ? "" : moment.date + " ") + moment.minutes + " " + moment.zone;
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
    }
    return node;
  }

  function badge(text, className) {
    return element("span", { class: "status " + className }, text || "unknown");
  }

  function elapsed(since) {
    const seconds = Math.max(0, Math.floor((Date.now() + clockOffset - Date.parse(since)) / 1000));
    const hours = Math.floor(seconds / 3600);
    const minutes = String(Math.floor((seconds % 3600) / 60)).padStart(hours ? 2 : 1, "0");
    const rest = String(seconds % 60).padStart(2, "0");
    return hours ? `${hours}:${minutes}:${rest}` : `${minutes}:${rest}`;
  }

  function ticking(since) {
    return element("span", { class: "elapsed", "data-since": since }, since ? elapsed(since) : "–");
  }

  function legItem(leg, index) {
    // The first leg is the call itself (the parent); the others are whom it rang.
    const who = index === 0 ? "call" : leg.agent || leg.to || "?";
    const item = element("li", { "data-sid": leg.sid, class: index === 0 ? "parent-leg" : null },
      element("span", { class: "who" }, who),
      badge(leg.status, "status-" + (leg.status || "unknown")));
    if (leg.stale) item.append(element("span", { class: "stale", title: "No news from Twilio for a while: the stale sweep asks Twilio about it" }, "stale · reconciling"));
    return item;
  }

  function callRow(call) {
    const stale = call.legs.some((leg) => leg.stale);
    return element("tr", { "data-sid": call.sid, class: stale ? "stale-call" : null },
      element("td", {}, element("a", { href: familyUrl + encodeURIComponent(call.sid) + "/" }, ticking(call.started_at))),
      element("td", {}, call.kind),
      element("td", { class: "number" }, call.from),
      element("td", { class: "number" }, call.to),
      element("td", {}, element("ul", { class: "legs" }, ...call.legs.map(legItem))),
      ...(mayMonitor ? [element("td", { class: "monitor" }, call.conference ? monitorButtons(call) : "–")] : []));
  }

  const MODES = [["listen", "Listen"], ["whisper", "Whisper"], ["barge", "Barge"]];
  const MODE_WORDS = {
    listen: "You are listening (muted).",
    whisper: "You are whispering to the agent: the customer does not hear you.",
    barge: "You have joined the call: everyone hears you.",
  };

  function monitorButtons(call) {
    const mode = monitoring.get(call.conference);
    const who = call.from || "this call";
    const buttons = MODES.map(([value, words]) => {
      const button = element("button", {
        type: "button", class: "small" + (mode === value ? "" : " secondary"),
        "aria-pressed": String(mode === value), "aria-label": `${words}: ${who}`,
      }, words);
      button.addEventListener("click", () => monitor(call.conference, value));
      return button;
    });
    const leave = element("button", { type: "button", class: "small secondary", "aria-label": `Leave: ${who}` }, "Leave");
    leave.disabled = !mode;
    leave.addEventListener("click", () => leaveCall(call.conference));
    return element("div", { class: "monitor-buttons", role: "group", "aria-label": `Listen in: ${who}` }, ...buttons, leave);
  }

  function sayMonitor(words, isError) {
    monitorStatus.replaceChildren(...words);
    monitorStatus.classList.toggle("alert", Boolean(isError));
    monitorStatus.hidden = false;
  }

  async function post(template, conference, body) {
    const response = await fetch(template.replace("CONFERENCE", encodeURIComponent(conference)), {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": board.dataset.csrfToken },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.ok) return;
    const payload = await response.json().catch(() => null);
    throw new Error((payload && payload.detail) || `the server answered ${response.status}`);
  }

  async function monitor(conference, mode) {
    const first = !monitoring.has(conference);
    try {
      await post(board.dataset.monitorUrl, conference, { mode });
    } catch (error) {
      sayMonitor([error.message], true);
      return;
    }
    monitoring.set(conference, mode);
    const phone = element("a", { href: board.dataset.phoneUrl }, "your phone");
    sayMonitor(first ? ["Your softphone is ringing: answer it on ", phone, ". ", MODE_WORDS[mode]] : [MODE_WORDS[mode]]);
    if (lastData) render(lastData);
  }

  async function leaveCall(conference) {
    try {
      await post(board.dataset.leaveUrl, conference, {});
    } catch (error) {
      sayMonitor([error.message], true);
      return;
    }
    monitoring.delete(conference);
    sayMonitor(["You left the call."]);
    if (lastData) render(lastData);
  }

  function callCell(agent) {
    if (agent.on_call) return "on a call" + (agent.with ? " with " + agent.with : "");
    if (agent.wrap_up_until) return "wrapping up until " + clockTime(agent.wrap_up_until);
    return "free";
  }

  function agentRow(agent) {
    return element("tr", { "data-identity": agent.identity },
      element("td", {}, agent.identity),
      element("td", {}, agent.availability ? badge(agent.availability, "availability-" + agent.availability) : "–"),
      element("td", { class: "on-call" }, callCell(agent)),
      element("td", { class: "since", "data-label": "Since" }, agent.since ? element("time", { datetime: agent.since }, clockTime(agent.since)) : "–"));
  }

  function queueRow(queue) {
    return element("tr", { "data-queue": queue.name },
      element("td", {}, queue.name),
      element("td", { class: "waiting" }, String(queue.waiting)),
      element("td", {}, queue.longest_waiting_since ? ticking(queue.longest_waiting_since) : "–"),
      element("td", { class: "wrapping-up" }, queue.wrapping_up.join(", ") || "–"));
  }

  function fill(id, rows, columns, empty) {
    const body = document.getElementById(id);
    body.replaceChildren(...(rows.length ? rows : [element("tr", {}, element("td", { colspan: columns, class: "empty" }, empty))]));
  }

  function render(data) {
    lastData = data;
    fill("live-calls", data.calls.map(callRow), columns, "No calls right now.");
    fill("live-agents", data.agents.map(agentRow), 4, "No active agents.");
    fill("live-queues", data.queues.map(queueRow), 4, "No queues.");
    for (const [name, value] of Object.entries(data.counts)) {
      const cell = document.getElementById("count-" + name.replaceAll("_", "-"));
      if (cell) cell.textContent = value;
    }
  }

  function tick() {
    for (const node of board.querySelectorAll(".elapsed[data-since]")) node.textContent = elapsed(node.dataset.since);
  }

  async function poll() {
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      const response = await fetch(apiUrl, { headers, cache: "no-store", credentials: "same-origin" });
      const serverDate = Date.parse(response.headers.get("Date"));
      if (!Number.isNaN(serverDate)) clockOffset = serverDate - Date.now();
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        render(await response.json());
      } else if (response.status !== 304) {
        throw new Error(`the server answered ${response.status}`);
      }
      const now = inZone(new Date(Date.now() + clockOffset));
      status.textContent = `Live: updated ${now.seconds} ${now.zone}`;
      status.parentElement.classList.remove("offline");
    } catch (error) {
      status.textContent = "Not updating (" + error.message + "); retrying…";
      status.parentElement.classList.add("offline");
    } finally {
      setTimeout(poll, period);
    }
  }

  setInterval(tick, 1000);
  poll();
})();
