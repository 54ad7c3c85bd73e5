// The agents' softphone: the Voice JavaScript SDK's Device, our token and presence APIs.
// Configuration comes from the page's JSON script tag; no inline script, no inline style.
// While a call is up the page polls the conference hub (/api/hub/current/) for who is in it,
// and offers hold, transfers and three-way calls through the hub's API.

const config = JSON.parse(document.getElementById("softphone-config").textContent);
const element = (id) => document.getElementById(id);

const REGISTER_TIMEOUT_MS = 20000;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60000;
// Renew a token this long before it expires, or after four fifths of a short life.
const REFRESH_LEAD_MS = 120000;

const TWILIO_ERRORS = {
  20104: "The access token expired (error 20104). Getting a new one…",
  31201: "No microphone could be opened (error 31201). Plug one in or close other programs using it.",
  31208: "Microphone permission denied (error 31208). Allow the microphone for this site in the browser's address bar, then try again.",
};
// The signalling connection failed or closed: said one way before the device ever reached
// Twilio (a network or firewall that never let it through), another once it had.
const CONNECTION_ERRORS = new Set([31005, 31009, 53000, 53001]);
// Twilio read the token and refused it: a new one from the same server fares no better.
const TOKEN_REFUSED_ERRORS = new Set([20101, 20102, 20103, 20105, 20106, 20107, 20151, 20157, 31202, 31204, 31207]);
// Twilio's media servers (Voice SDKs network connectivity requirements).
const MEDIA_NETWORK = "168.86.128.0/18 on UDP ports 10000–60000";
const HUB_POLL_MS = 1500;
const CANNOT_REACH_SERVER = "Cannot reach the server; nothing changed. Try again.";

class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `the server answered ${status}`);
    this.status = status;
  }
}

const state = {
  device: null,
  call: null,
  incoming: null,
  wanted: "offline", // the availability this page last set
  refreshing: null,
  refreshTimer: null,
  refreshAttempt: 0,
  heartbeatTimer: null,
  callTimer: null,
  hub: null, // the conference of the call, as /api/hub/current/ last told it
  hubTimer: null,
  colleagues: new Map(), // identity -> the directory's entry, this agent left out
  registerTimer: null,
  signallingHost: null, // where the SDK's secure WebSocket goes, from the token's edge
  reachedTwilio: false, // registered at least once since the page opened
  dispositionSid: null, // the leg of the call whose disposition the form writes
};

// ---- Words on the page

function setState(name, words) {
  element("softphone").dataset.state = name;
  element("phone-state").textContent = words;
}

function showError(words) {
  const box = element("phone-error");
  box.textContent = words;
  box.hidden = !words;
}

function showWarning(words) {
  const box = element("phone-warning");
  box.textContent = words;
  box.hidden = !words;
}

function cannotReachTwilio(what) {
  return (
    `${what} Check this computer's network connection; behind a firewall, it must let the browser ` +
    `reach ${state.signallingHost} on TCP port 443 (secure WebSocket) and ${MEDIA_NETWORK}.`
  );
}

function describeTwilioError(error) {
  const code = error && error.code;
  if (TWILIO_ERRORS[code]) return TWILIO_ERRORS[code];
  if (CONNECTION_ERRORS.has(code)) {
    return state.reachedTwilio
      ? `The connection to Twilio was lost (error ${code}); calls cannot ring here until it is back. Trying again…`
      : cannotReachTwilio(`Cannot reach Twilio (error ${code}): this page has not connected to it yet.`);
  }
  if (TOKEN_REFUSED_ERRORS.has(code)) {
    return (
      `Twilio refused the access token (error ${code}): the server's API key, its region ` +
      "(TWILIO_REGION) or its TwiML App do not match. Reloading will not help; ask your administrator."
    );
  }
  const shown = code ? ` (error ${code})` : "";
  return `The phone reported a problem${shown}: ${(error && error.message) || "unknown error"}.`;
}

// ---- Our APIs

async function api(url, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = config.csrfToken;
  }
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) {
    // The session ended (logged out elsewhere, or expired): log in again, then come back.
    window.location.assign(config.urls.login);
    throw new ApiError(401, "You are logged out.");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, payload && (payload.detail || firstFieldError(payload)));
  return payload;
}

// A 400's body names the field: {"to": ["Ensure this field has no more than 64 characters."]}.
function firstFieldError(payload) {
  const [first] = Object.values(payload).flat();
  return typeof first === "string" ? first : null;
}

function describeActionError(error) {
  return error instanceof ApiError ? error.message : CANNOT_REACH_SERVER;
}

function describeTokenError(error) {
  if (error.status === 503) {
    return `The server has no Twilio credentials, so no call can be made or taken: ${error.message} Ask your administrator.`;
  }
  if (error.status === 403) return error.message;
  if (error instanceof ApiError) return `The server refused an access token: ${error.message}`;
  return "Cannot reach the server for an access token. Check the network connection.";
}

// ---- Tokens: renewed on the SDK's event and on our own timer (the event fires once per
// connection), retried with backoff.

function scheduleRefresh(issued) {
  clearTimeout(state.refreshTimer);
  const lifetimeMs = issued.ttl * 1000;
  const untilExpiry = Math.min(Date.parse(issued.expires_at) - Date.now(), lifetimeMs);
  const lead = Math.min(REFRESH_LEAD_MS, lifetimeMs / 5);
  state.refreshTimer = setTimeout(refreshToken, Math.max(0, untilExpiry - lead));
}

async function issueToken() {
  const issued = await api(config.urls.token);
  scheduleRefresh(issued);
  return issued;
}

function refreshToken() {
  if (!state.refreshing) {
    state.refreshing = issueToken()
      .then((issued) => {
        state.device.updateToken(issued.token);
        state.refreshAttempt = 0;
        showWarning("");
      })
      .catch((error) => {
        if (error.status === 401) return;
        const wait = Math.min(RETRY_FIRST_MS * 2 ** state.refreshAttempt, RETRY_MAX_MS);
        state.refreshAttempt += 1;
        showWarning(
          `Could not renew the access token (${describeTokenError(error)}). Trying again in ${Math.round(wait / 1000)} s.`,
        );
        clearTimeout(state.refreshTimer);
        state.refreshTimer = setTimeout(refreshToken, wait);
      })
      .finally(() => {
        state.refreshing = null;
      });
  }
  return state.refreshing;
}

// ---- Presence

async function setPresence(availability) {
  state.wanted = availability;
  const presence = await api(config.urls.presence, {
    method: "PUT",
    body: { availability, heartbeat: true },
  });
  clearInterval(state.heartbeatTimer);
  state.heartbeatTimer = setInterval(heartbeat, config.heartbeatSeconds * 1000);
  showWrapUp(presence);
  return presence;
}

async function heartbeat() {
  try {
    const presence = await api(config.urls.presence, {
      method: "PUT",
      body: { availability: state.wanted, heartbeat: true },
    });
    showWrapUp(presence);
    await loadDirectory();
  } catch (error) {
    if (error.status !== 401) showWarning("Lost contact with the server; your colleagues may see you as offline.");
  }
}

function sayOfflineOnLeaving() {
  if (state.wanted === "offline") return;
  const form = new FormData();
  form.append("availability", "offline");
  form.append("heartbeat", "true");
  form.append("csrfmiddlewaretoken", config.csrfToken);
  navigator.sendBeacon(config.urls.presence, form);
}

// ---- Wrap-up after a queue call: no queue call is offered until it ends

function showWrapUp(presence) {
  const until = presence && presence.wrap_up_until ? new Date(presence.wrap_up_until) : null;
  element("wrap-up").hidden = !until;
  if (until) element("wrap-up-until").textContent = until.toLocaleTimeString();
}

async function changeWrapUp(action) {
  try {
    showWrapUp(await api(config.urls.wrapUp, { method: "POST", body: { action } }));
  } catch (error) {
    if (error.status !== 401) showWarning(`Could not change your wrap-up: ${error.message}`);
  }
}

// ---- Directory of colleagues

const AVAILABILITY_WORDS = { available: "Available", away: "Away", offline: "Offline" };

async function loadDirectory() {
  const agents = await api(config.urls.agents);
  const list = element("directory");
  list.replaceChildren();
  const colleagues = agents.filter((agent) => agent.identity !== config.identity);
  state.colleagues = new Map(colleagues.map((agent) => [agent.identity, agent]));
  fillColleaguePicker();
  if (!colleagues.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "No colleagues yet.";
    list.append(empty);
  }
  for (const agent of colleagues) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = agent.display_name;
    const badge = document.createElement("span");
    const shown = agent.on_call ? "on-call" : agent.availability;
    badge.className = `badge availability-${shown}`;
    badge.textContent = agent.on_call ? "On a call" : AVAILABILITY_WORDS[agent.availability];
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.textContent = "Call";
    button.setAttribute("aria-label", `Call ${agent.display_name}`);
    button.disabled = agent.on_call || agent.availability !== "available";
    button.addEventListener("click", () => placeCall(agent.identity, agent.display_name));
    item.append(name, badge, button);
    list.append(item);
  }
}

// ---- Dialling

function toE164(text) {
  const compact = text.replace(/[\s().\-/]/g, "");
  let candidate = null;
  if (compact.startsWith("+")) candidate = compact;
  else if (compact.startsWith("00")) candidate = `+${compact.slice(2)}`;
  else if (/^[0-9]+$/.test(compact) && config.dialling.countryCallingCode) {
    const prefix = config.dialling.nationalPrefix;
    const national = prefix && compact.startsWith(prefix) ? compact.slice(prefix.length) : compact;
    candidate = `+${config.dialling.countryCallingCode}${national}`;
  }
  return candidate && new RegExp(config.patterns.e164).test(candidate) ? candidate : null;
}

function dialTarget(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const number = toE164(trimmed);
  if (number) return { to: number, label: number };
  const identity = trimmed.replace(/^client:/, "");
  if (/[A-Za-z_]/.test(identity) && new RegExp(config.patterns.identity).test(identity)) {
    return { to: identity, label: `agent ${identity}` };
  }
  return null;
}

function updateDialPreview() {
  const text = element("dial-to").value;
  const target = dialTarget(text);
  const preview = element("dial-preview");
  if (!text.trim()) preview.textContent = "";
  else if (target) preview.textContent = `Will call ${target.label}`;
  else if (!config.dialling.countryCallingCode)
    preview.textContent = "Not a number: dial in international format, such as +14155550100.";
  else preview.textContent = "Not a phone number or an agent's identity.";
  element("dial-call").disabled = !target || !state.device || Boolean(state.call);
}

async function placeCall(to, label) {
  if (!state.device || state.call) return;
  showError("");
  if (state.wanted === "offline") {
    // Someone talking from this page is here, though not taking calls: away, never offline
    // and on a call at once.
    try {
      await setPresence("away");
      showIdle();
    } catch (error) {
      if (error.status !== 401) showWarning(`Could not set your presence: ${error.message}`);
    }
  }
  try {
    const call = await state.device.connect({ params: { To: to } });
    watchCall(call, label, { outgoing: true });
  } catch (error) {
    showError(describeTwilioError(error));
  }
}

// ---- Calls

function showIncoming(call) {
  state.incoming = call;
  const parameters = call.customParameters || new Map();
  const caller =
    parameters.get("caller_name") ||
    parameters.get("caller_identity") ||
    parameters.get("caller_number") ||
    (call.parameters && call.parameters.From) ||
    "Unknown caller";
  const detail = parameters.get("caller_name") && parameters.get("caller_identity");
  element("incoming-caller").textContent = detail ? `${caller} (${detail})` : caller;
  const calledName = parameters.get("called_name");
  const calledNumber = parameters.get("called_number");
  element("incoming-called").textContent = calledNumber
    ? `called ${calledName ? `${calledName} (${calledNumber})` : calledNumber}`
    : "called you directly";
  element("incoming").hidden = false;
  setState("incoming", `Incoming call from ${caller}`);
  element("accept").focus();
  const done = () => {
    if (state.incoming === call) {
      state.incoming = null;
      element("incoming").hidden = true;
      showIdle();
    }
  };
  call.on("cancel", done);
  call.on("reject", done);
  call.on("disconnect", done);
  call.on("accept", () => {
    state.incoming = null;
    element("incoming").hidden = true;
  });
  watchCall(call, caller, { outgoing: false });
}

function watchCall(call, peer, { outgoing }) {
  call.on("accept", () => startCall(call, peer));
  call.on("disconnect", () => {
    endCall(call);
    // A queue call's wrap-up starts when Twilio reports the call ended: ask shortly after.
    setTimeout(heartbeat, 3000);
  });
  call.on("cancel", () => endCall(call));
  call.on("reject", () => endCall(call));
  call.on("error", (error) => showError(describeTwilioError(error)));
  call.on("reconnecting", () => showWarning("Network trouble: reconnecting the call…"));
  call.on("reconnected", () => showWarning(""));
  call.on("mute", (muted) => {
    element("mute").setAttribute("aria-pressed", String(muted));
    element("mute").textContent = muted ? "Unmute" : "Mute";
  });
  if (outgoing) {
    state.call = call;
    element("call-peer").textContent = peer;
    element("outgoing-peer").textContent = peer;
    element("outgoing").hidden = false;
    setState("calling", `Calling ${peer}…`);
    element("cancel-call").focus();
  }
}

// Cancel an outgoing call while it rings: the SDK says so to Twilio; should it fail, the
// server cancels the legs the call rings (the SDK knows the call's SID once it rings).
async function cancelOutgoing() {
  const call = state.call;
  if (!call) return;
  try {
    call.disconnect();
    return;
  } catch {
    // Said below, once the server has tried.
  }
  const sid = call.parameters && call.parameters.CallSid;
  if (!sid) {
    showError("The call could not be cancelled: it has not reached Twilio yet. Try again.");
    return;
  }
  try {
    await api(config.urls.hubCancel.replace("SID", encodeURIComponent(sid)), { method: "POST", body: {} });
    endCall(call);
  } catch (error) {
    if (error.status !== 401) showError(describeActionError(error));
  }
}

function startCall(call, peer) {
  state.call = call;
  offerDisposition(call, peer);
  element("call-peer").textContent = peer;
  element("outgoing").hidden = true;
  element("in-call").hidden = false;
  setState("on-call", `On a call with ${peer}`);
  const started = Date.now();
  const timer = element("call-timer");
  const tick = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
  tick();
  clearInterval(state.callTimer);
  state.callTimer = setInterval(tick, 1000);
  element("hang-up").focus();
  updateDialPreview();
  loadDirectory().catch(() => showWarning("Could not load your colleagues."));
  pollHub();
}

function endCall(call) {
  if (state.call !== call) return;
  state.call = null;
  clearInterval(state.callTimer);
  clearTimeout(state.hubTimer);
  showHub(null);
  setText("hub-status", "");
  element("outgoing").hidden = true;
  element("in-call").hidden = true;
  element("mute").setAttribute("aria-pressed", "false");
  element("mute").textContent = "Mute";
  showIdle();
  updateDialPreview();
}

function showIdle() {
  element("go-available").setAttribute("aria-pressed", String(state.wanted === "available"));
  element("go-away").setAttribute("aria-pressed", String(state.wanted === "away"));
  if (state.call) return;
  if (state.wanted === "available") setState("available", "Available: your phone rings for calls");
  else if (state.wanted === "away") setState("away", "Away: calls do not ring here");
  else setState("offline", "Offline: click Go available to take calls");
}

// ---- The call's conference: who is in it, hold, transfers, three-way calls

const PARTY_STATES = { ringing: "Ringing", talking: "Talking", "on-hold": "On hold" };
// What the page says, for screen readers too, once an action is done; `who` is whom it called.
const ACTION_WORDS = {
  hold: () => "The other party is on hold.",
  resume: () => "The other party is back with you.",
  transfer: (who) => `Transferring to ${who}: you leave the call once they answer.`,
  consult: (who) => `Calling ${who} while the other party waits on hold.`,
  complete: () => "Transfer completed: you have left the call.",
  "cancel-consult": () => "Transfer cancelled: the other party is back with you.",
  add: (who) => `Adding ${who} to the call.`,
  remove: (who) => `${who} was removed from the call.`,
};
const SUPERVISOR_WORDS = {
  listen: "A supervisor is listening",
  whisper: "A supervisor is coaching you",
  barge: "A supervisor has joined the call",
};

async function pollHub() {
  clearTimeout(state.hubTimer);
  const call = state.call;
  if (!call) return;
  try {
    const hub = await api(config.urls.hubCurrent);
    if (state.call === call) showHub(hub);
  } catch (error) {
    if (error.status === 401) return;
    // The next poll tries again; the call goes on meanwhile.
  }
  if (state.call === call) state.hubTimer = setTimeout(pollHub, HUB_POLL_MS);
}

// Labels name no phone number: a number added to the call is "Other party".
function partyName(party) {
  if (party.me) return "You";
  if (party.role === "customer") return "Customer";
  if (party.role === "agent") {
    const colleague = state.colleagues.get(party.identity);
    return colleague ? colleague.display_name : party.identity;
  }
  if (party.role === "supervisor") return "Supervisor";
  return "Other party";
}

// Someone this agent added to the call; a colleague consulted leaves by Cancel transfer.
function removable(party) {
  return !party.me && !party.consulted && (party.role === "party" || party.role === "agent");
}

function partyItem(party) {
  const name = partyName(party);
  const item = document.createElement("li");
  item.dataset.role = party.role;
  const who = document.createElement("span");
  who.className = "name";
  who.textContent = party.consulted ? `${name} (transfer)` : name;
  const badge = document.createElement("span");
  badge.className = `badge party-${party.state}`;
  badge.textContent = PARTY_STATES[party.state] || party.state;
  item.append(who, badge);
  if (removable(party)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.textContent = "Remove";
    button.setAttribute("aria-label", `Remove ${name} from the call`);
    button.addEventListener("click", () => hubAct("remove", { call_sid: party.call_sid }, name));
    item.append(button);
  }
  return item;
}

function setText(id, words) {
  const node = element(id);
  // Unchanged words are left alone, so that a screen reader does not repeat them each poll.
  if (node.textContent !== words) node.textContent = words;
  node.hidden = !words;
}

function showHub(hub) {
  state.hub = hub && hub.conference ? hub : null;
  const current = state.hub;
  element("hub-parties").hidden = !current;
  element("hub-hold").hidden = !current;
  element("hub-consulting").hidden = !current || !current.consulting;
  element("hub-destination").hidden = !current || current.consulting;
  if (!current) {
    element("hub-parties").replaceChildren();
    setText("hub-supervised", "");
    return;
  }
  // The customer first and this agent last, whatever order the server lists them in.
  const place = (party) => (party.role === "customer" ? 0 : party.me ? 2 : 1);
  const talkers = current.parties
    .filter((party) => party.role !== "supervisor")
    .sort((one, other) => place(one) - place(other));
  element("hub-parties").replaceChildren(...talkers.map(partyItem));
  const others = talkers.filter((party) => !party.me && !party.consulted);
  const held = others.some((party) => party.state === "on-hold");
  const hold = element("hub-hold");
  hold.textContent = held ? "Resume" : "Hold";
  hold.dataset.action = held ? "resume" : "hold";
  hold.disabled = current.consulting || !others.length;
  const supervisor = current.parties.find((party) => party.role === "supervisor" && party.state !== "ringing");
  setText("hub-supervised", supervisor ? SUPERVISOR_WORDS[supervisor.mode] || SUPERVISOR_WORDS.listen : "");
}

// One action on the call's conference; the answer is the conference as it is after it, a 409
// says why the call moved on. Returns whether it was done.
async function hubAct(action, body = {}, who = "") {
  if (!state.hub) return false;
  showError("");
  const url = config.urls.hub[action].replace("CONFERENCE", encodeURIComponent(state.hub.conference));
  try {
    const hub = await api(url, { method: "POST", body });
    if (state.call) showHub(hub);
    setText("hub-status", ACTION_WORDS[action](who));
    return true;
  } catch (error) {
    if (error.status !== 401) showError(describeActionError(error));
    return false;
  }
}

function destination() {
  return element("hub-number").value.trim() || element("hub-colleague").value;
}

function updateDestination() {
  for (const id of ["hub-transfer", "hub-consult", "hub-add"]) element(id).disabled = !destination();
}

async function sendTo(action) {
  const to = destination();
  const colleague = state.colleagues.get(to);
  if (to && (await hubAct(action, { to }, colleague ? colleague.display_name : to))) {
    element("hub-number").value = "";
    element("hub-colleague").value = "";
    updateDestination();
  }
}

// The transfer picker offers the colleagues free to take a call: available, not on one.
function fillColleaguePicker() {
  const select = element("hub-colleague");
  const chosen = select.value;
  const free = [...state.colleagues.values()].filter((agent) => agent.availability === "available" && !agent.on_call);
  const option = (value, words) => {
    const node = document.createElement("option");
    node.value = value;
    node.textContent = words;
    return node;
  };
  select.replaceChildren(
    option("", free.length ? "Choose…" : "No colleague is free"),
    ...free.map((agent) => option(agent.identity, agent.display_name)),
  );
  select.value = free.some((agent) => agent.identity === chosen) ? chosen : "";
  updateDestination();
}

// ---- The disposition and note of the call going on, or of the last one

async function loadDispositions() {
  const select = element("disposition-choice");
  for (const choice of await api(config.urls.dispositions)) {
    const option = document.createElement("option");
    option.value = choice.name;
    option.textContent = choice.name;
    select.append(option);
  }
}

function offerDisposition(call, peer) {
  // Our own leg's SID (Twilio's, from the SDK): the server finds its family.
  const sid = call.parameters && call.parameters.CallSid;
  if (!sid) return;
  state.dispositionSid = sid;
  element("disposition-call").textContent = `For the call with ${peer}`;
  element("disposition-choice").value = "";
  element("disposition-note").value = "";
  element("disposition-status").textContent = "";
  element("disposition").hidden = false;
}

async function saveDisposition(event) {
  event.preventDefault();
  if (!state.dispositionSid) return;
  const status = element("disposition-status");
  status.textContent = "Saving…";
  const url = config.urls.familyDisposition.replace("SID", encodeURIComponent(state.dispositionSid));
  const body = {
    disposition: element("disposition-choice").value || null,
    note: element("disposition-note").value,
  };
  try {
    await api(url, { method: "PUT", body });
    status.textContent = "Saved.";
  } catch (error) {
    if (error.status !== 401) status.textContent = `Not saved: ${error.message}`;
  }
}

// ---- Microphone, speaker and ringtone

async function askForMicrophone() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of stream.getTracks()) track.stop();
    return true;
  } catch (error) {
    const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    showError(
      denied
        ? "Microphone permission denied. Allow the microphone for this site in the browser's address bar, then click Go available again."
        : "No microphone could be opened. Plug one in or close other programs using it, then try again.",
    );
    setState("error", "No microphone");
    return false;
  }
}

function fillDeviceSelect(select, devices, selected) {
  select.replaceChildren();
  for (const [id, info] of devices) {
    const option = document.createElement("option");
    option.value = id;
    option.textContent = info.label || (id === "default" ? "Default" : id);
    option.selected = selected.has(id);
    select.append(option);
  }
  select.disabled = devices.size === 0;
}

function showAudioDevices() {
  const audio = state.device.audio;
  const inputId = audio.inputDevice ? audio.inputDevice.deviceId : "default";
  fillDeviceSelect(element("input-device"), audio.availableInputDevices, new Set([inputId]));
  const speakers = new Set([...audio.speakerDevices.get()].map((info) => info.deviceId));
  const ringtones = new Set([...audio.ringtoneDevices.get()].map((info) => info.deviceId));
  fillDeviceSelect(element("output-device"), audio.availableOutputDevices, speakers);
  fillDeviceSelect(element("ringtone-device"), audio.availableOutputDevices, ringtones);
  if (!audio.isOutputSelectionSupported) {
    element("output-device").disabled = true;
    element("ringtone-device").disabled = true;
  }
}

function wireAudioSelects() {
  const audio = () => state.device.audio;
  element("input-device").addEventListener("change", (event) =>
    audio().setInputDevice(event.target.value).catch((error) => showError(describeTwilioError(error))),
  );
  element("output-device").addEventListener("change", (event) =>
    audio().speakerDevices.set([event.target.value]).catch((error) => showError(describeTwilioError(error))),
  );
  element("ringtone-device").addEventListener("change", (event) =>
    audio().ringtoneDevices.set([event.target.value]).catch((error) => showError(describeTwilioError(error))),
  );
}

// ---- Going available and away

async function goAvailable() {
  showError("");
  if (!(await askForMicrophone())) return;
  setState("registering", "Connecting to Twilio…");
  clearTimeout(state.registerTimer);
  state.registerTimer = setTimeout(() => {
    showError(cannotReachTwilio(`Twilio did not answer within ${REGISTER_TIMEOUT_MS / 1000} seconds.`));
    setState("error", "Not connected");
  }, REGISTER_TIMEOUT_MS);
  try {
    if (config.incomingAllowed) await state.device.register();
    clearTimeout(state.registerTimer);
    await setPresence("available");
    showAudioDevices();
    showIdle();
  } catch (error) {
    clearTimeout(state.registerTimer);
    if (error.status !== 401) {
      showError(error instanceof ApiError ? `Could not set your presence: ${error.message}` : describeTwilioError(error));
      setState("error", "Not available");
    }
  }
}

async function goAway() {
  showError("");
  clearTimeout(state.registerTimer);
  try {
    if (state.device.state === "registered") await state.device.unregister();
    await setPresence("away");
    showIdle();
  } catch (error) {
    if (error.status !== 401) showError(error instanceof ApiError ? `Could not set your presence: ${error.message}` : describeTwilioError(error));
  }
}

// ---- Start

function wireDevice(device) {
  device.on("registering", () => setState("registering", "Connecting to Twilio…"));
  device.on("registered", () => {
    clearTimeout(state.registerTimer);
    state.reachedTwilio = true;
    showError("");
    showIdle();
  });
  device.on("unregistered", () => {
    if (state.wanted === "available") setState("error", "Disconnected from Twilio: calls cannot ring here");
  });
  device.on("error", (error) => {
    const code = error && error.code;
    showError(describeTwilioError(error));
    if (code === 20104) refreshToken();
    // Twilio answered, with a no. Any other error leaves the SDK trying to connect, and the
    // timer to say so if it never does.
    if (TOKEN_REFUSED_ERRORS.has(code)) clearTimeout(state.registerTimer);
    if (state.call) return;
    if (CONNECTION_ERRORS.has(code)) setState("error", state.reachedTwilio ? "Connection lost" : "Not connected");
    else if (TOKEN_REFUSED_ERRORS.has(code)) setState("error", "Token refused");
    else setState("error", "Problem with the phone");
  });
  device.on("incoming", showIncoming);
  device.on("tokenWillExpire", refreshToken);
  if (device.audio && device.audio.on) device.audio.on("deviceChange", showAudioDevices);
}

function wireControls() {
  element("go-available").addEventListener("click", goAvailable);
  element("go-away").addEventListener("click", goAway);
  element("accept").addEventListener("click", () => state.incoming && state.incoming.accept());
  element("reject").addEventListener("click", () => state.incoming && state.incoming.reject());
  element("hang-up").addEventListener("click", () => state.call && state.call.disconnect());
  element("wrap-up-end").addEventListener("click", () => changeWrapUp("end"));
  element("wrap-up-extend").addEventListener("click", () => changeWrapUp("extend"));
  element("cancel-call").addEventListener("click", cancelOutgoing);
  element("hub-hold").addEventListener("click", (event) => hubAct(event.target.dataset.action));
  element("hub-complete").addEventListener("click", () => hubAct("complete"));
  element("hub-cancel-consult").addEventListener("click", () => hubAct("cancel-consult"));
  element("hub-transfer").addEventListener("click", () => sendTo("transfer"));
  element("hub-consult").addEventListener("click", () => sendTo("consult"));
  element("hub-add").addEventListener("click", () => sendTo("add"));
  element("hub-colleague").addEventListener("change", updateDestination);
  element("hub-number").addEventListener("input", updateDestination);
  element("hub-destination").addEventListener("submit", (event) => event.preventDefault());
  element("mute").addEventListener("click", () => state.call && state.call.mute(!state.call.isMuted()));
  element("dial-to").addEventListener("input", updateDialPreview);
  element("disposition-form").addEventListener("submit", saveDisposition);
  element("dial-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const target = dialTarget(element("dial-to").value);
    if (target) placeCall(target.to, target.label);
  });
  for (const key of element("keypad").querySelectorAll("[data-key]")) {
    key.addEventListener("click", () => {
      if (state.call) {
        state.call.sendDigits(key.dataset.key);
      } else {
        element("dial-to").value += key.dataset.key;
        updateDialPreview();
      }
    });
  }
  wireAudioSelects();
  window.addEventListener("offline", () => showWarning("The network is down: reconnecting when it is back…"));
  window.addEventListener("online", () => showWarning(""));
  window.addEventListener("pagehide", sayOfflineOnLeaving);
}

async function start() {
  wireControls();
  element("dial-to").value = config.dial;
  updateDialPreview();
  loadDirectory().catch(() => showWarning("Could not load your colleagues."));
  loadDispositions().catch(() => showWarning("Could not load the dispositions."));
  let issued;
  try {
    issued = await issueToken();
  } catch (error) {
    if (error.status !== 401) {
      showError(describeTokenError(error));
      setState("error", "No access token");
    }
    return;
  }
  if (!window.Twilio || !window.Twilio.Device) {
    showError("The Voice SDK did not load; reload the page.");
    setState("error", "Not ready");
    return;
  }
  try {
    state.device = new window.Twilio.Device(issued.token, {
      closeProtection: true,
      codecPreferences: ["opus", "pcmu"],
      // The edge of the server's region: outside US1, Twilio refuses a token that arrives
      // through another region (error 20101).
      edge: issued.edge,
      sounds: config.sounds,
      tokenRefreshMs: 30000,
    });
  } catch (error) {
    showError(describeTwilioError(error));
    setState("error", "Not ready");
    return;
  }
  state.signallingHost = `voice-js.${issued.edge}.twilio.com`;
  wireDevice(state.device);
  element("go-available").disabled = false;
  element("go-away").disabled = false;
  updateDialPreview();
  setState("offline", "Offline: click Go available to take calls");
}

// The SDK's <script defer> runs before module scripts, which are deferred too.
start();
