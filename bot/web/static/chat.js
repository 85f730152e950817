// The web chat: posts questions to /api/ask, shows the cited answer, sends feedback.
// No framework and no build step. Server HTML (reply.html) is rendered by markdown-it with raw
// HTML disabled; everything else is inserted with textContent.
(() => {
  "use strict";

  const root = document.querySelector(".chat");
  const conversation = document.getElementById("conversation");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const stuckText = root.dataset.stuck;
  const phone = root.dataset.phone;
  const history = [];
  const userId = chatIdentity();

  function chatIdentity() {
    const key = "itbot.user";
    try {
      const known = window.localStorage.getItem(key);
      if (known) return known;
      const bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      const made = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      window.localStorage.setItem(key, made);
      return made;
    } catch (_e) {
      return "";
    }
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

  async function ask(text, article) {
    addMessage("user", (m) => m.appendChild(el("p", "", text)));
    const waiting = addMessage("bot pending", (m) => m.appendChild(el("p", "", "Looking that up…")));
    setBusy(true);
    const body = { text, user: userId, history: history.slice(-6), render: "html" };
    if (article) body.article = article;
    try {
      const { ok, data } = await postJson("/api/ask", body);
      waiting.remove();
      if (!ok || typeof data.text !== "string") {
        showProblem(data.message);
        return;
      }
      history.push({ role: "user", text }, { role: "bot", text: data.text });
      showReply(data);
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

  function showReply(reply) {
    addMessage("bot", (m) => {
      m.dataset.decision = reply.decision;
      if (reply.notice) {
        m.appendChild(el("p", "known-issue", "Known issue: " + reply.notice.title));
      }
      const answer = el("div", "answer");
      if (typeof reply.html === "string") {
        answer.innerHTML = reply.html;
      } else {
        answer.appendChild(el("p", "", reply.text));
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
        source.appendChild(link);
        if (top.section) source.appendChild(document.createTextNode(" › " + top.section));
        m.appendChild(source);
      }
      const actions = el("div", "actions");
      for (const action of reply.actions || []) {
        if (action === "fixed") {
          actions.appendChild(feedbackButton("That fixed it", true, reply, m));
        } else if (action === "stuck") {
          actions.appendChild(feedbackButton("Still stuck", false, reply, m));
        } else if (action.startsWith("choose:")) {
          const id = action.slice("choose:".length);
          const cited = citations.find((c) => c.article === id);
          const title = cited ? cited.title : id;
          const button = el("button", "choice", title);
          button.type = "button";
          button.addEventListener("click", () => {
            disableAll(actions);
            button.setAttribute("aria-pressed", "true");
            ask(title, id);
          });
          actions.appendChild(button);
        }
      }
      if (actions.childElementCount > 0) m.appendChild(actions);
    });
  }

  function disableAll(container) {
    for (const button of container.querySelectorAll("button")) button.disabled = true;
  }

  function feedbackButton(label, helpful, reply, message) {
    const button = el("button", helpful ? "fixed" : "stuck", label);
    button.type = "button";
    button.addEventListener("click", async () => {
      const actions = button.parentElement;
      disableAll(actions);
      button.setAttribute("aria-pressed", "true");
      let text = helpful ? "Glad that helped." : stuckText;
      if (reply.interaction_id) {
        try {
          const { data } = await postJson("/api/feedback", { interaction_id: reply.interaction_id, helpful });
          if (data && typeof data.message === "string") text = data.message;
        } catch (_e) {
          // The person still gets the message; the click is lost, which the log shows.
        }
      }
      message.appendChild(el("p", "followup", text));
      message.scrollIntoView({ block: "end", behavior: "smooth" });
    });
    return button;
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

  box.focus();
})();
