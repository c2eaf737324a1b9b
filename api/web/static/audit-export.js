// The signed export's download on the Audit page, with its progress while it streams.
// The export has no known length (it is written as the log is walked), so the page fetches it itself:
// it counts the rows and bytes as they arrive, reads each row's log position against the position the
// walk stops at (the Ledgerdesk-Export-Stop header), and saves the file once the manifest has come.
// Without this script the form is a plain download: the browser shows the bytes received.
(function () {
  "use strict";

  function said(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return String(values[name]);
    });
  }

  function lastPosition(text) {
    var lines = text.split("\n");
    for (var i = lines.length - 1; i >= 0; i -= 1) {
      var found = /"position": (\d+)/.exec(lines[i]) || /^(\d+),/.exec(lines[i]);
      if (found) {
        return Number(found[1]);
      }
    }
    return null;
  }

  function save(blob, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  async function download(form) {
    var output = document.getElementById(form.getAttribute("data-export"));
    var query = new URLSearchParams(new FormData(form)).toString();
    var response = await fetch(form.action + "?" + query, { credentials: "same-origin" });
    if (!response.ok || !response.body) {
      output.textContent = form.getAttribute("data-failed");
      return;
    }
    var stop = Number(response.headers.get("Ledgerdesk-Export-Stop")) || 0;
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var parts = [];
    var counts = { rows: 0, bytes: 0, percent: 0 };
    for (;;) {
      var step = await reader.read();
      if (step.done) {
        break;
      }
      parts.push(step.value);
      counts.bytes += step.value.length;
      var text = decoder.decode(step.value, { stream: true });
      counts.rows += text.split("\n").length - 1;
      var position = lastPosition(text);
      if (position !== null && stop > 0) {
        counts.percent = Math.min(99, Math.floor((100 * position) / stop));
      }
      output.textContent = said(form.getAttribute("data-progress"), counts);
    }
    counts.rows = Math.max(0, counts.rows - 1 - (form.elements.format.value === "csv" ? 1 : 0)); // header, manifest
    var name = "audit." + form.elements.format.value;
    save(new Blob(parts, { type: response.headers.get("Content-Type") || "application/octet-stream" }), name);
    output.textContent = said(form.getAttribute("data-done"), counts);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-export") || !window.ReadableStream || !window.fetch) {
      return;
    }
    event.preventDefault();
    download(form).catch(function () {
      document.getElementById(form.getAttribute("data-export")).textContent = form.getAttribute("data-failed");
    });
  });
})();
