// The tradegraph dashboard's only script: live panels (server-sent events), the halt and
// resume buttons (admins), and the chat. Every change goes to the /v1 routes with the
// session cookie and the X-Tradegraph-Dashboard header (the server refuses a change without it).
"use strict";

(function () {
  const HEADER = { "X-Tradegraph-Dashboard": "1" };

  async function swap(id) {
    const answer = await fetch("/dashboard/panels/" + encodeURIComponent(id), {
      headers: HEADER,
      credentials: "same-origin",
    });
    if (answer.status === 401) {
      window.location.reload();
      return;
    }
    if (!answer.ok) return;
    const html = await answer.text();
    const current = document.getElementById(id);
    if (!current) return;
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    const fresh = holder.content.firstElementChild;
    if (fresh && fresh.id === id) current.replaceWith(fresh);
  }

  function listen() {
    const source = new EventSource("/dashboard/events");
    source.addEventListener("refresh", (event) => {
      let panels = [];
      try {
        panels = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      panels.forEach((id) => swap(id));
    });
    source.addEventListener("signed-out", () => {
      source.close();
      window.location.reload();
    });
  }

  function setHaltState(halted, detail) {
    const state = document.getElementById("halt-state");
    if (!state) return;
    state.textContent = halted ? "halted" : "trading";
    state.className = halted ? "halted" : "trading";
    if (detail) state.title = detail;
  }

  async function post(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json" }, HEADER),
      body: JSON.stringify(body),
    });
    const text = await answer.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch (_) {
      parsed = null;
    }
    return { ok: answer.ok, status: answer.status, body: parsed, text: text };
  }

  function problem(result) {
    const error = result.body && result.body.error;
    return error ? error.message : "HTTP " + result.status;
  }

  function wireSwitches() {
    const halt = document.getElementById("halt");
    const resume = document.getElementById("resume");
    if (halt) {
      halt.addEventListener("click", async () => {
        const key = halt.dataset.key;
        if (!window.confirm("Halt all trading now? Pending orders are cancelled; it stays halted until a resume.")) return;
        const result = await post("/v1/risk/halt", { reason: "halted from the dashboard by " + key });
        if (result.ok) {
          setHaltState(true, "halted: " + result.body.halted);
          swap("breakers");
        } else {
          window.alert("The halt failed: " + problem(result));
        }
      });
    }
    if (resume) {
      resume.addEventListener("click", async () => {
        const key = resume.dataset.key;
        if (!window.confirm("Release the global kill switch? Trading resumes at the next cycle.")) return;
        const result = await post("/v1/risk/resume", { reason: "resumed from the dashboard by " + key });
        if (result.ok) {
          setHaltState(result.body.state === "HALTED", "resumed: " + result.body.resumed + "; account " + result.body.state);
          swap("breakers");
        } else {
          window.alert("The resume failed: " + problem(result));
        }
      });
    }
  }

  function say(kind, text) {
    const log = document.getElementById("chat-log");
    const line = document.createElement("p");
    line.className = "chat-" + kind;
    line.textContent = text;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
    return line;
  }

  let thread = null;

  function approvalButtons(approval) {
    const role = document.querySelector("main").dataset.role;
    const line = say("approval", "Proposal: " + approval.side + " " + approval.quantity + " " + approval.symbol + " (" + approval.order_type + ")");
    if (!approval.approved_by_validator) {
      line.textContent += " - denied by the risk validator: " + (approval.refusal_codes || []).join(", ");
      return;
    }
    if (role !== "trader" && role !== "admin") {
      line.textContent += " - a trader's key decides on it";
      return;
    }
    [["approve", "Approve"], ["reject", "Reject"]].forEach(([what, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chat-" + what;
      button.textContent = label;
      button.addEventListener("click", async () => {
        line.querySelectorAll("button").forEach((b) => (b.disabled = true));
        const result = await post("/v1/chat/" + encodeURIComponent(approval.thread) + "/" + what, { approval_id: approval.approval_id });
        if (!result.ok) {
          say("error", problem(result));
          return;
        }
        result.body.events.forEach(show);
      });
      line.appendChild(button);
    });
  }

  let answering = null;

  function show(event) {
    if (event.thread) thread = event.thread;
    if (event.kind === "token") {
      if (!answering) answering = say("answer", "");
      answering.textContent += event.text;
    } else if (event.kind === "tool_call") {
      say("tool", "calling " + event.tool);
    } else if (event.kind === "answer") {
      if (answering) answering.textContent = event.text;
      else say("answer", event.text);
      answering = null;
    } else if (event.kind === "error") {
      say("error", event.text);
      answering = null;
    } else if (event.kind === "approval" && event.data) {
      approvalButtons(event.data);
    }
  }

  function frames(buffer, each) {
    let split;
    while ((split = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const data = frame
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim())
        .join("\n");
      if (data) {
        try {
          each(JSON.parse(data));
        } catch (_) {
          say("error", "an unreadable event from the server");
        }
      }
    }
    return buffer;
  }

  function wireChat() {
    const form = document.getElementById("chat-form");
    const input = document.getElementById("chat-input");
    if (!form) return;
    form.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      say("you", text);
      answering = null;
      const body = thread ? { text: text, thread: thread } : { text: text };
      const answer = await fetch("/v1/chat", {
        method: "POST",
        credentials: "same-origin",
        headers: Object.assign({ "Content-Type": "application/json" }, HEADER),
        body: JSON.stringify(body),
      });
      if (!answer.ok) {
        let message = "HTTP " + answer.status;
        try {
          message = (await answer.json()).error.message;
        } catch (_) {
          /* the status says it */
        }
        say("error", message);
        return;
      }
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = frames(buffer + decoder.decode(value, { stream: true }), show);
      }
      frames(buffer + "\n\n", show);
    });
  }

  wireSwitches();
  wireChat();
  listen();
})();
