// The web chat: posts questions to /api/ask, shows the cited answer, sends feedback, and, once the
// conversation has a ticket, polls for IT's replies. No framework and no build step. Server HTML
// (reply.html, message.html) is rendered by markdown-it with raw HTML disabled; everything else is
// inserted with textContent. The transcript is kept in sessionStorage (the question as the server
// stored it, scrubbed of patient identifiers), so a reload shows the conversation again.
(() => {
  "use strict";

  const root = document.querySelector(".chat");
  const conversation = document.getElementById("conversation");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const ticketStatus = document.getElementById("ticket-status");
  const newButton = document.getElementById("new-conversation");
  const stuckText = root.dataset.stuck;
  const phone = root.dataset.phone;
  const pollMs = Math.max(100, (parseFloat(root.dataset.pollSeconds) || 10) * 1000);
  const MAX_POLL_MS = 60000;
  // After a ticket is resolved, look a little longer: the "resolved" message may still be on its way.
  const LINGER_POLLS = 12;
  const CONVERSATION_KEY = "itbot.conversation";
  const TRANSCRIPT_KEY = "itbot.transcript.";
  const MAX_TRANSCRIPT = 80;
  const CONVERSATION_ID = /^web-[0-9a-f]{32}$/;
  const DONE = new Set(["resolved", "closed"]);
  const STATUS_WORDS = {
    new: "sent to IT",
    open: "IT is working on it",
    waiting: "IT is waiting for more information",
    resolved: "resolved",
    closed: "closed",
  };

  const userId = chatIdentity();
  let history = [];
  const restored = knownConversation();
  let conversationId = restored || newConversation();
  let ticket = null; // {number, status} of the conversation's ticket, once it has one
  let after = 0; // the cursor of the newest IT message shown
  let shown = new Set();
  let pollTimer = null;
  let lingering = 0;
  let transcript = []; // what the page shows, to show again after a reload

  function randomHex(byteCount) {
    const bytes = new Uint8Array(byteCount);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function chatIdentity() {
    const key = "itbot.user";
    try {
      const known = window.localStorage.getItem(key);
      if (known) return known;
      const made = "web-" + randomHex(12);
      window.localStorage.setItem(key, made);
      return made;
    } catch (_e) {
      return "";
    }
  }

  function knownConversation() {
    try {
      const known = window.sessionStorage.getItem(CONVERSATION_KEY);
      return known && CONVERSATION_ID.test(known) ? known : null;
    } catch (_e) {
      return null;
    }
  }

  // A conversation per tab: 128 random bits. Without crypto the chat still answers, without tickets.
  function newConversation() {
    let made = null;
    try {
      made = "web-" + randomHex(16);
      window.sessionStorage.setItem(CONVERSATION_KEY, made);
    } catch (_e) {
      // sessionStorage may be off (private mode); the id then lives as long as the page.
    }
    return made;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function articleHref(id) {
    return "/kb/" + id.split("/").map(encodeURIComponent).join("/");
  }

  // Articles open in a tab of their own: going back never loses the conversation.
  function openInNewTab(link) {
    link.target = "_blank";
    link.rel = "noopener";
  }

  function loadTranscript(id) {
    if (!id) return [];
    try {
      const stored = JSON.parse(window.sessionStorage.getItem(TRANSCRIPT_KEY + id) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (_e) {
      return [];
    }
  }

  function saveTranscript() {
    if (!conversationId) return;
    try {
      window.sessionStorage.setItem(
        TRANSCRIPT_KEY + conversationId, JSON.stringify(transcript.slice(-MAX_TRANSCRIPT)));
    } catch (_e) {
      // Storage full or off: the conversation still works, it just won't survive a reload.
    }
  }

  function remember(entry) {
    transcript.push(entry);
    saveTranscript();
    return entry;
  }

  function dropTranscript(id) {
    try {
      if (id) window.sessionStorage.removeItem(TRANSCRIPT_KEY + id);
    } catch (_e) {
      // nothing to drop
    }
  }

  function addMessage(kind, build) {
    const message = el("div", "msg " + kind);
    build(message);
    conversation.appendChild(message);
    message.scrollIntoView({ block: "end", behavior: "smooth" });
    return message;
  }

  function setBusy(busy) {
    sendButton.disabled = busy;
    box.setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function postJson(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (_e) {
      data = {};
    }
    return { ok: response.ok, data };
  }

  function ticketIsLive() {
    return ticket !== null && !DONE.has(ticket.status);
  }

  async function ask(text, article) {
    const mine = addMessage("user", (m) => m.appendChild(el("p", "", text)));
    mine.dataset.typed = "true";
    const pendingText = ticketIsLive() ? "Sending to IT…" : "Looking that up…";
    const waiting = addMessage("bot pending", (m) => m.appendChild(el("p", "", pendingText)));
    setBusy(true);
    const body = { text, user: userId, render: "html" };
    if (conversationId) {
      body.conversation = conversationId;
    } else {
      body.history = history.slice(-6);
    }
    if (article) body.article = article;
    const asked = conversationId;
    try {
      const { ok, data } = await postJson("/api/ask", body);
      waiting.remove();
      if (asked !== conversationId) return; // a new conversation was started meanwhile
      if (!ok || typeof data.text !== "string") {
        showProblem(data.message);
        return;
      }
      history.push({ role: "user", text }, { role: "bot", text: data.text });
      const stored = typeof data.asked === "string" ? data.asked : text;
      if (typeof data.relayed_to === "string" && data.relayed_to) {
        mine.appendChild(el("p", "relayed", "Sent to IT on " + data.relayed_to));
        remember({ kind: "user", text: stored, relayed: data.relayed_to });
      } else {
        remember({ kind: "user", text: stored });
        showReply(data, remember({ kind: "bot", reply: data, pressed: null, followup: null }));
      }
      if (data.ticket) setTicket(data.ticket);
    } catch (_e) {
      waiting.remove();
      showProblem();
    } finally {
      setBusy(false);
      box.focus();
    }
  }

  function showProblem(message) {
    const text = message || "Sorry, I couldn't reach the server. Please try again, or call the service desk at " + phone + ".";
    addMessage("bot error", (m) => m.appendChild(el("p", "", text)));
  }

  // entry: the reply's place in the transcript; it records which button was pressed, and what the
  // bot said after, so that a reload shows the same thing.
  function showReply(reply, entry) {
    return addMessage("bot", (m) => {
      m.dataset.decision = reply.decision;
      if (reply.escalation) m.dataset.escalation = reply.escalation;
      if (reply.notice) {
        m.appendChild(el("p", "known-issue", "Known issue: " + reply.notice.title));
      }
      const answer = el("div", "answer");
      if (typeof reply.html === "string") {
        answer.innerHTML = reply.html;
      } else {
        answer.appendChild(el("p", "", reply.text));
      }
      const actionList = reply.actions || [];
      if (reply.decision === "clarify" && actionList.some((a) => a.startsWith("choose:"))) {
        // The choices are buttons: the same titles as a numbered list would show them twice.
        for (const list of answer.querySelectorAll("ol")) list.remove();
      }
      for (const link of answer.querySelectorAll("a[href]")) {
        if (new URL(link.href, window.location.href).pathname.startsWith("/kb/")) openInNewTab(link);
      }
      m.appendChild(answer);

      const citations = Array.isArray(reply.citations) ? reply.citations : [];
      const top = citations[0];
      const linked = top && Array.from(answer.querySelectorAll("a[href]")).some((a) =>
        new URL(a.href, window.location.href).pathname === articleHref(top.article));
      if (reply.decision !== "clarify" && top && !linked) {
        const source = el("p", "source", "From: ");
        const link = el("a", "", top.title || top.article);
        link.href = articleHref(top.article);
        openInNewTab(link);
        source.appendChild(link);
        if (top.section) source.appendChild(document.createTextNode(" › " + top.section));
        m.appendChild(source);
      }
      const actions = el("div", "actions");
      for (const action of actionList) {
        if (action === "fixed") {
          actions.appendChild(feedbackButton("That fixed it", true, reply, m, entry));
        } else if (action === "stuck") {
          actions.appendChild(feedbackButton("Still stuck", false, reply, m, entry));
        } else if (action.startsWith("choose:")) {
          const id = action.slice("choose:".length);
          const cited = citations.find((c) => c.article === id);
          const title = cited ? cited.title : id;
          const button = el("button", "choice", title);
          button.type = "button";
          button.dataset.action = action;
          button.addEventListener("click", () => {
            disableAll(actions);
            button.setAttribute("aria-pressed", "true");
            pressed(entry, action);
            ask(title, id);
          });
          actions.appendChild(button);
        } else if (action.startsWith("notify:")) {
          actions.appendChild(notifyButton(Number(action.slice("notify:".length)), m, entry));
        }
      }
      if (actions.childElementCount > 0) m.appendChild(actions);
      if (entry && entry.pressed) {
        disableAll(actions);
        const button = actions.querySelector('[data-action="' + entry.pressed + '"]');
        if (button) button.setAttribute("aria-pressed", "true");
      }
      if (entry && entry.followup) m.appendChild(el("p", "followup", entry.followup));
    });
  }

  function pressed(entry, action) {
    if (!entry) return;
    entry.pressed = action;
    saveTranscript();
  }

  function disableAll(container) {
    for (const button of container.querySelectorAll("button")) button.disabled = true;
  }

  // "Tell me when it's fixed" on an outage reply: IT's "fixed" message arrives in this conversation.
  function notifyButton(notice, message, entry) {
    const button = el("button", "notify", "Tell me when it's fixed");
    button.type = "button";
    button.dataset.action = "notify:" + notice;
    button.addEventListener("click", async () => {
      disableAll(button.parentElement);
      button.setAttribute("aria-pressed", "true");
      pressed(entry, button.dataset.action);
      let text = "I couldn't note that just now. Please try again.";
      try {
        const { data } = await postJson("/api/notify", { notice, conversation: conversationId, user: userId });
        if (data && typeof data.message === "string") text = data.message;
      } catch (_e) {
        // The person sees the sentence above.
      }
      message.appendChild(el("p", "followup", text));
      if (entry) {
        entry.followup = text;
        saveTranscript();
      }
    });
    return button;
  }

  function feedbackButton(label, helpful, reply, message, entry) {
    const button = el("button", helpful ? "fixed" : "stuck", label);
    button.type = "button";
    button.dataset.action = helpful ? "fixed" : "stuck";
    button.addEventListener("click", async () => {
      const actions = button.parentElement;
      disableAll(actions);
      button.setAttribute("aria-pressed", "true");
      pressed(entry, button.dataset.action);
      let text = helpful ? "Glad that helped." : stuckText;
      let next = null; // what the bot says next (the escalation), as a reply of its own
      if (reply.interaction_id) {
        const body = { interaction_id: reply.interaction_id, helpful, render: "html" };
        if (conversationId) {
          body.conversation = conversationId;
          body.user = userId;
        }
        try {
          const { data } = await postJson("/api/feedback", body);
          if (data && typeof data.message === "string") text = data.message;
          if (data && data.reply && typeof data.reply.text === "string") {
            next = Object.assign({}, data.reply, { escalation: data.escalation });
          }
          if (data && data.ticket) setTicket(data.ticket);
        } catch (_e) {
          // The person still gets the message; the click is lost, which the log shows.
        }
      }
      message.appendChild(el("p", "followup", text));
      if (entry) {
        entry.followup = text;
        saveTranscript();
      }
      if (next) {
        showReply(next, remember({ kind: "bot", reply: next, pressed: null, followup: null }));
      } else {
        message.scrollIntoView({ block: "end", behavior: "smooth" });
      }
      box.focus();
    });
    return button;
  }

  // -- the ticket and IT's replies ---------------------------------------------------------------

  function showTicket() {
    if (!ticket) {
      ticketStatus.hidden = true;
      ticketStatus.textContent = "";
      return;
    }
    const words = STATUS_WORDS[ticket.status];
    ticketStatus.textContent = "Ticket " + ticket.number + (words ? ": " + words : "");
    ticketStatus.dataset.status = ticket.status || "";
    ticketStatus.hidden = false;
  }

  function setTicket(found) {
    if (!found || typeof found.number !== "string") return;
    const changed = !ticket || ticket.number !== found.number || ticket.status !== found.status;
    const wasLive = ticketIsLive();
    ticket = { number: found.number, status: found.status || null };
    if (changed) showTicket();
    if (ticketIsLive()) {
      lingering = LINGER_POLLS;
      if (!wasLive || pollTimer === null) schedulePoll(pollMs);
    }
  }

  function showItMessage(message, restoring) {
    if (shown.has(message.index)) return;
    shown.add(message.index);
    if (!restoring) remember({ kind: "it", message });
    addMessage("it", (m) => {
      const number = message.ticket || (ticket ? ticket.number : "");
      m.appendChild(el("p", "who", number ? "IT · " + number : "IT"));
      const body = el("div", "answer");
      body.innerHTML = typeof message.html === "string" ? message.html : "";
      m.appendChild(body);
    });
  }

  function schedulePoll(delay) {
    if (pollTimer !== null) window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(poll, delay);
  }

  function stopPolling() {
    if (pollTimer !== null) window.clearTimeout(pollTimer);
    pollTimer = null;
  }

  async function poll() {
    pollTimer = null;
    const id = conversationId;
    if (!id) return;
    let delay = pollMs;
    try {
      const response = await fetch("/api/conversations/" + id + "/messages?after=" + after, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (id !== conversationId) return;
      if (response.status === 404) return; // nothing stored for this conversation yet
      if (!response.ok) {
        delay = Math.min(pollMs * 3, MAX_POLL_MS);
      } else {
        const data = await response.json();
        for (const message of Array.isArray(data.messages) ? data.messages : []) showItMessage(message);
        if (typeof data.next === "number" && data.next > after) after = data.next;
        if (data.ticket) setTicket(data.ticket);
      }
    } catch (_e) {
      if (id !== conversationId) return;
      delay = Math.min(pollMs * 3, MAX_POLL_MS);
    }
    if (pollTimer !== null) return; // setTicket scheduled the next poll already
    if (ticketIsLive()) {
      schedulePoll(delay);
    } else if (ticket && lingering > 0) {
      lingering -= 1;
      schedulePoll(delay);
    }
  }

  function startNewConversation() {
    if (ticketIsLive()) {
      const keep = !window.confirm(
        "Ticket " + ticket.number + " is still open. IT's replies to it won't show in a new conversation. Start a new one anyway?");
      if (keep) return;
    }
    stopPolling();
    dropTranscript(conversationId);
    transcript = [];
    conversationId = newConversation();
    ticket = null;
    after = 0;
    shown = new Set();
    history = [];
    lingering = 0;
    showTicket();
    for (const node of Array.from(conversation.children)) {
      if (!node.classList.contains("intro")) node.remove();
    }
    box.value = "";
    box.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || sendButton.disabled) return;
    box.value = "";
    ask(text, null);
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  newButton.addEventListener("click", startNewConversation);

  // Back on the tab (or reloaded): look for IT's replies at once rather than at the next tick.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && ticket) schedulePoll(0);
  });

  // A reloaded tab keeps its conversation: what was said, then IT's replies since, polling on while
  // the ticket is open.
  function restoreTranscript() {
    transcript = loadTranscript(conversationId);
    for (const entry of transcript) {
      if (!entry || typeof entry !== "object") continue;
      if (entry.kind === "user" && typeof entry.text === "string") {
        const mine = addMessage("user", (m) => m.appendChild(el("p", "", entry.text)));
        if (entry.relayed) mine.appendChild(el("p", "relayed", "Sent to IT on " + entry.relayed));
        history.push({ role: "user", text: entry.text });
      } else if (entry.kind === "bot" && entry.reply && typeof entry.reply.text === "string") {
        showReply(entry.reply, entry);
        history.push({ role: "bot", text: entry.reply.text });
        if (entry.reply.ticket) setTicket(entry.reply.ticket);
      } else if (entry.kind === "it" && entry.message && typeof entry.message.index === "number") {
        showItMessage(entry.message, true);
        if (entry.message.index > after) after = entry.message.index;
      }
    }
  }

  if (restored) {
    restoreTranscript();
    poll();
  }
  box.focus();
})();
