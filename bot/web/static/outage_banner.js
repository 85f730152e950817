// The web chat's outage banner: the active outages and upgrades from /api/status, shown above the
// conversation and refreshed every minute, so a person sees "Epic is slow" before they ask.
// Text only (textContent): a notice's words are never read as HTML.
(function () {
  "use strict";
  var banner = document.getElementById("outage-banner");
  if (!banner) {
    return;
  }
  var every = Number(banner.getAttribute("data-refresh-seconds")) || 60;

  function line(notice) {
    var item = document.createElement("li");
    item.className = "outage-" + notice.kind;
    var title = document.createElement("strong");
    title.textContent = notice.kind === "upgrade" ? "Upgrade under way: " : "Known issue: ";
    item.appendChild(title);
    item.appendChild(document.createTextNode(notice.title + " (" + notice.systems.join(", ") + "; " +
      notice.status.replace("_", " ") + ")"));
    return item;
  }

  function show(board) {
    var list = banner.querySelector("ul");
    list.textContent = "";
    (board.active || []).forEach(function (notice) { list.appendChild(line(notice)); });
    banner.hidden = list.children.length === 0;
  }

  function refresh() {
    fetch("/api/status", { headers: { accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (board) { if (board) { show(board); } })
      .catch(function () { /* the banner keeps what it showed; the chat works without it */ });
  }

  refresh();
  window.setInterval(refresh, every * 1000);
})();
