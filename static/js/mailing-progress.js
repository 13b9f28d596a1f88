/* A mailing's page follows it while it sends: every few seconds it asks for the figures
   (progress.json) and updates the numbers and the bar in place. When the mailing's status
   changes (it starts, finishes, is paused elsewhere) the page reloads once, to show the actions
   that now apply. Without JavaScript the page has a Refresh link instead. */
(function () {
  "use strict";

  var INTERVAL = 3000;
  var MAX_INTERVAL = 60000;
  var root = document.getElementById("mailing-live");
  if (!root || root.getAttribute("data-live") !== "true" || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var shownStatus = root.getAttribute("data-status");
  var numberFormat = new Intl.NumberFormat("en-US");
  var failures = 0;

  function setText(name, value) {
    var elements = root.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < elements.length; i++) {
      elements[i].textContent = value;
    }
  }

  function setBar(name, x, width) {
    var bar = root.querySelector('[data-bar="' + name + '"]');
    if (bar) {
      bar.setAttribute("x", String(x));
      bar.setAttribute("width", String(width));
    }
  }

  function show(data) {
    if (data.status !== shownStatus) {
      window.location.reload();
      return false;
    }
    ["recipients", "sent", "failed", "skipped", "remaining", "per_minute"].forEach(function (name) {
      setText(name, numberFormat.format(data[name]));
    });
    setText("done", numberFormat.format(data.sent + data.failed + data.skipped));
    setText("percent", String(data.percent));
    setText("estimated_finish_shown", data.estimated_finish_shown || "—");
    setBar("sent", 0, data.bar.sent);
    setBar("failed", data.bar.failed_x, data.bar.failed);
    setBar("skipped", data.bar.skipped_x, data.bar.skipped);
    return true;
  }

  function later(delay) {
    window.setTimeout(poll, delay);
  }

  function poll() {
    // A hidden tab asks again once it is shown; nobody is watching meanwhile.
    if (document.hidden) {
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (show(data)) {
          later(INTERVAL);
        }
      })
      .catch(function () {
        // The server or the network is away: ask less often, and keep the Refresh link.
        failures += 1;
        later(Math.min(MAX_INTERVAL, INTERVAL * Math.pow(2, failures)));
      });
  }

  later(INTERVAL);
})();
