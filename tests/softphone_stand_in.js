// A stand-in for the Voice SDK's Device and Call, injected before the page loads: the SDK's
// bundle keeps a window.Twilio.Device that already exists. Every SDK method the page calls
// is logged in window.sdkLog so that tests can read what the page asked of the SDK. A test
// that sets window.twilioUnreachable before the page loads gets a device whose register()
// never completes and reports error 31005, as the SDK does when no WebSocket opens; one that
// sets window.sdkDisconnectFails gets calls whose disconnect() throws.
(() => {
  const log = [];
  window.sdkLog = log;

  class Emitter {
    constructor() {
      this.handlers = {};
    }
    on(name, handler) {
      (this.handlers[name] ||= []).push(handler);
      return this;
    }
    emit(name, ...values) {
      for (const handler of this.handlers[name] || []) handler(...values);
    }
  }

  class Call extends Emitter {
    constructor(parameters, customParameters) {
      super();
      this.parameters = parameters;
      this.customParameters = new Map(Object.entries(customParameters));
      this.muted = false;
    }
    accept() {
      log.push("accept");
      this.emit("accept", this);
    }
    reject() {
      log.push("reject");
      this.emit("reject");
    }
    disconnect() {
      log.push("disconnect");
      if (window.sdkDisconnectFails) throw new Error("The signalling connection is closed");
      this.emit("disconnect", this);
    }
    // For tests: Twilio says an outgoing call rings, and the call learns its SID.
    ringing(callSid) {
      this.parameters.CallSid = callSid;
      this.emit("ringing", false);
    }
    mute(muted = true) {
      log.push(muted ? "mute" : "unmute");
      this.muted = muted;
      this.emit("mute", muted, this);
    }
    isMuted() {
      return this.muted;
    }
    sendDigits(digits) {
      log.push(`digits ${digits}`);
    }
  }

  const devices = (kind) =>
    new Map([
      ["default", { deviceId: "default", label: `Default ${kind}` }],
      ["headset", { deviceId: "headset", label: `USB headset ${kind}` }],
    ]);

  class Device extends Emitter {
    constructor(token, options) {
      super();
      log.push("new Device");
      window.device = this;
      this.token = token;
      this.options = options;
      this.state = "unregistered";
      const selection = (name) => ({
        get: () => new Set(),
        set: async (ids) => log.push(`${name} ${ids.join(",")}`),
      });
      this.audio = {
        availableInputDevices: devices("microphone"),
        availableOutputDevices: devices("speaker"),
        inputDevice: null,
        isOutputSelectionSupported: true,
        speakerDevices: selection("speaker"),
        ringtoneDevices: selection("ringtone"),
        setInputDevice: async (id) => log.push(`microphone ${id}`),
        on: () => {},
      };
    }
    async register() {
      log.push("register");
      if (window.twilioUnreachable) {
        this.emit("error", { code: 31005, message: "A connection error occurred during the call" });
        return new Promise(() => {});
      }
      this.state = "registered";
      this.emit("registered");
    }
    async unregister() {
      log.push("unregister");
      this.state = "unregistered";
      this.emit("unregistered");
    }
    updateToken(token) {
      log.push("updateToken");
      this.token = token;
    }
    async connect({ params }) {
      log.push(`connect ${params.To}`);
      this.lastCall = new Call({ To: params.To }, {});
      return this.lastCall;
    }
    // For tests: a call arrives.
    ring(from, customParameters, callSid = "CA" + "0".repeat(32)) {
      this.lastCall = new Call({ From: from, CallSid: callSid }, customParameters);
      this.emit("incoming", this.lastCall);
    }
  }

  window.Twilio = { Device };
})();
