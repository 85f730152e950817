// itbot console: the article editor's live preview. The server renders the Markdown with the web
// chat's renderer (raw HTML escaped), so what is inserted here is already safe HTML.
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  var body = document.getElementById("body");
  var preview = document.getElementById("preview");
  if (!form || !body || !preview) { return; }
  var token = form.getAttribute("data-csrf") || "";
  var timer = null;
  var asked = 0;

  function render() {
    var mine = ++asked;
    fetch("/console/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ markdown: body.value })
    }).then(function (response) {
      return response.ok ? response.json() : { html: "<p>(Preview unavailable: " + response.status + ")</p>" };
    }).then(function (data) {
      if (mine === asked) { preview.innerHTML = data.html; }
    }).catch(function () {
      if (mine === asked) { preview.textContent = "(Preview unavailable.)"; }
    });
  }

  body.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(render, 250);
  });
  render();
})();
