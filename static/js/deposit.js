// The deposit page (« Répondre à la consultation »): each chosen file is sent at once with
// tus-js-client to the platform's tus endpoint, by chunks of about 8 MiB, with a progress
// bar per file and overall, speed and time left, pause and resume, removal (tus
// termination), and resumption after a reload (the upload's address is kept in
// localStorage under a fingerprint of the deposit, envelope, document and file).
// The server's refusals are French sentences (text/plain): they are shown next to the file;
// any other answer (a proxy's error page, a 5xx) gets the page's own French message.
// The live region says only how many files are sent, when one finishes, fails or is
// removed; the speed and time left are on a line of their own, not announced.
(function () {
  "use strict";

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function sizeText(bytes) {
    var units = ["octets", "Kio", "Mio", "Gio", "Tio"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    var digits = unit === 0 || value >= 100 ? 0 : 1;
    return value.toLocaleString("fr-FR", { maximumFractionDigits: digits }) + "\u00a0" + units[unit];
  }

  // Bytes per second over the last few seconds of samples [time in ms, bytes].
  function Rate() {
    this.samples = [];
  }
  Rate.prototype.add = function (bytes) {
    var now = Date.now();
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
  };
  Rate.prototype.perSecond = function () {
    if (this.samples.length < 2) return 0;
    var first = this.samples[0];
    var last = this.samples[this.samples.length - 1];
    var elapsed = (last[0] - first[0]) / 1000;
    return elapsed > 0 ? Math.max(0, (last[1] - first[1]) / elapsed) : 0;
  };
  Rate.prototype.reset = function () {
    this.samples = [];
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("deposit-uploader");
    var stringsNode = document.getElementById("deposit-strings");
    if (!root || !stringsNode || !window.tus || !window.tus.isSupported) return;
    var strings = JSON.parse(stringsNode.textContent);
    var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
    var csrf = csrfInput ? csrfInput.value : "";
    var endpoint = root.getAttribute("data-endpoint");
    var depositId = root.getAttribute("data-deposit");
    var chunkSize = parseInt(root.getAttribute("data-chunk-size"), 10) || 8 * 1024 * 1024;
    var overall = document.getElementById("overall");
    var overallProgress = document.getElementById("overall-progress");
    var overallStatus = document.getElementById("overall-status");
    var overallSpeed = document.getElementById("overall-speed");
    var overallRate = new Rate();
    var entries = [];
    var counter = 0;

    function durationText(seconds) {
      if (!isFinite(seconds) || seconds <= 0) return format(strings.seconds, { count: 0 });
      if (seconds < 90) return format(strings.seconds, { count: Math.ceil(seconds) });
      if (seconds < 5400) return format(strings.minutes, { count: Math.ceil(seconds / 60) });
      return format(strings.hours, { count: (seconds / 3600).toLocaleString("fr-FR", { maximumFractionDigits: 1 }) });
    }

    function rateText(rate, remaining) {
      if (!rate) return "";
      return format(strings.speed, { speed: sizeText(rate), time: durationText(remaining / rate) });
    }

    // « 1 fichier sur 2 envoyé », « 2 fichiers sur 3 envoyés »: French takes the singular
    // for 0 and 1.
    function countText(done, total) {
      return format(done > 1 ? strings.overallPlural : strings.overall, { done: done, total: total });
    }

    // The live region is rewritten only when the count changes (a file added, finished,
    // failed or removed), never on a mere progress event; prefix: « Fichier retiré du pli. »
    var lastCount = "";
    function refreshOverall(prefix) {
      var live = entries.filter(function (entry) {
        return !entry.removed && !entry.failed;
      });
      if (!live.length) {
        if (overallSpeed) overallSpeed.textContent = "";
        if (prefix) overallStatus.textContent = prefix;
        lastCount = "";
        return;
      }
      var total = 0;
      var sent = 0;
      var done = 0;
      live.forEach(function (entry) {
        total += entry.file.size;
        sent += entry.sent;
        if (entry.state === "done") done += 1;
      });
      overall.hidden = false;
      overallProgress.value = total ? Math.floor((sent / total) * 100) : 100;
      overallRate.add(sent);
      var rate = overallRate.perSecond();
      if (overallSpeed) overallSpeed.textContent = done < live.length && rate ? rateText(rate, total - sent) : "";
      var text = countText(done, live.length);
      if (prefix || text !== lastCount) {
        overallStatus.textContent = prefix ? prefix + " " + text : text;
        lastCount = text;
      }
    }

    function element(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function statusOf(error) {
      var response = error && error.originalResponse;
      return response ? response.getStatus() : 0;
    }

    // The platform's own refusals are French text/plain sentences; a proxy's page (HTML, in
    // English) or a server error is never shown as is.
    function serverMessage(error) {
      var response = error && error.originalResponse;
      if (!response) return strings.network;
      var status = response.getStatus();
      if (status >= 500 || status === 0) return strings.unavailable;
      var type = String((response.getHeader && response.getHeader("Content-Type")) || "").toLowerCase();
      var body = response.getBody ? String(response.getBody() || "").trim() : "";
      if (type.indexOf("text/plain") === 0 && body) return body;
      return strings.refused;
    }

    function setState(entry, state, message) {
      entry.state = state;
      entry.row.setAttribute("data-state", state);
      entry.status.textContent = message || strings[state] || "";
      entry.pause.hidden = state !== "sending";
      entry.resume.hidden = state !== "paused";
      if (state !== "sending") entry.speed.textContent = "";
    }

    function removeEntry(entry) {
      entry.removed = true;
      entry.remove.disabled = true;
      entry.upload
        .abort(true)
        .catch(function () {
          return null;
        })
        .then(function () {
          entry.row.remove();
          refreshOverall(strings.removed);
          // The row is gone: focus goes back to the file input it came from.
          if (entry.input && document.body.contains(entry.input)) entry.input.focus();
        });
    }

    function start(entry) {
      setState(entry, "sending");
      entry.upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          entry.upload.resumeFromPreviousUpload(previous[0]);
          entry.detail.textContent = strings.resuming;
        }
        entry.upload.start();
      });
    }

    function add(file, input) {
      var envelope = input.getAttribute("data-envelope");
      var documentLabel = input.getAttribute("data-document") || "";
      var list = document.getElementById("uploads-" + envelope);
      counter += 1;
      var id = "upload-" + counter;
      var row = element("li", "upload");
      var name = element("p", "upload-name");
      name.id = id + "-name";
      name.appendChild(element("strong", "", file.name));
      name.appendChild(document.createTextNode(" (" + sizeText(file.size) + (documentLabel ? " — " + documentLabel : "") + ")"));
      var progress = element("progress");
      progress.max = 100;
      progress.value = 0;
      progress.id = id + "-progress";
      progress.setAttribute("aria-label", format(strings.progressOf, { name: file.name }));
      var status = element("p", "upload-status");
      status.setAttribute("aria-live", "polite");
      var speed = element("p", "upload-speed");
      var detail = element("p", "helptext");
      var error = element("p", "upload-error");
      error.setAttribute("aria-live", "assertive");
      var actions = element("p", "upload-actions");
      var pause = element("button", "secondary", strings.pause);
      var resume = element("button", "secondary", strings.resume);
      var remove = element("button", "secondary", strings.remove);
      [pause, resume, remove].forEach(function (button) {
        button.type = "button";
        button.setAttribute("aria-describedby", name.id);
        actions.appendChild(button);
      });
      [name, progress, status, speed, detail, error, actions].forEach(function (node) {
        row.appendChild(node);
      });
      list.appendChild(row);

      var entry = {
        file: file,
        input: input,
        row: row,
        progress: progress,
        status: status,
        speed: speed,
        detail: detail,
        error: error,
        pause: pause,
        resume: resume,
        remove: remove,
        sent: 0,
        state: "waiting",
        rate: new Rate(),
        removed: false,
        failed: false
      };
      var metadata = { filename: file.name, deposit: depositId, envelope: envelope };
      if (documentLabel) metadata.document = documentLabel;
      entry.upload = new window.tus.Upload(file, {
        endpoint: endpoint,
        chunkSize: chunkSize,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        metadata: metadata,
        headers: { "X-CSRFToken": csrf },
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        fingerprint: function (chosen) {
          return Promise.resolve(
            ["sdm-depot", depositId, envelope, documentLabel, chosen.name, chosen.size, chosen.lastModified].join("/")
          );
        },
        onShouldRetry: function (err) {
          var response = err.originalResponse;
          if (!response) return true;
          var code = response.getStatus();
          var method = err.originalRequest ? err.originalRequest.getMethod() : "";
          // A refusal is final; an offset conflict on a PATCH resumes from the server's offset.
          return code >= 500 || (code === 409 && method !== "POST");
        },
        onProgress: function (sent, total) {
          entry.sent = sent;
          entry.progress.value = total ? Math.floor((sent / total) * 100) : 100;
          entry.rate.add(sent);
          entry.speed.textContent = rateText(entry.rate.perSecond(), total - sent);
          refreshOverall();
        },
        onSuccess: function () {
          entry.sent = file.size;
          entry.progress.value = 100;
          entry.error.textContent = "";
          setState(entry, "done", strings.sent);
          refreshOverall();
        },
        onError: function (err) {
          if (entry.removed) return;
          entry.failed = true;
          entry.error.textContent = serverMessage(err);
          setState(entry, "failed");
          // A refusal is final; a cut connection or an unavailable server (5xx) may be resumed.
          var code = statusOf(err);
          entry.resume.hidden = code > 0 && code < 500;
          if (!entry.resume.hidden) entry.failed = false;
          refreshOverall();
        }
      });
      pause.addEventListener("click", function () {
        entry.upload.abort(false).then(function () {
          entry.rate.reset();
          setState(entry, "paused");
          resume.focus();
        });
      });
      resume.addEventListener("click", function () {
        entry.error.textContent = "";
        entry.failed = false;
        entry.rate.reset();
        setState(entry, "sending");
        entry.upload.start();
        pause.focus();
      });
      remove.addEventListener("click", function () {
        removeEntry(entry);
      });
      entries.push(entry);
      start(entry);
    }

    function take(input) {
      Array.prototype.forEach.call(input.files, function (file) {
        add(file, input);
      });
      // The same file may be chosen again (to resume it after an error, for instance).
      input.value = "";
    }

    Array.prototype.forEach.call(document.querySelectorAll("input.deposit-file"), function (input) {
      input.addEventListener("change", function () {
        take(input);
      });
      // A file chosen while the page was still loading, before this script ran, is sent too.
      if (input.files && input.files.length) take(input);
    });

    function namesText(list) {
      return list
        .map(function (entry) {
          return "« " + entry.file.name + " »";
        })
        .join(", ");
    }

    var validateForm = document.getElementById("validate-form");
    var wait = document.getElementById("validate-wait");
    if (validateForm && wait) {
      validateForm.addEventListener("submit", function (event) {
        var pending = entries.filter(function (entry) {
          return !entry.removed && !entry.failed && entry.state !== "done";
        });
        if (!pending.length) {
          wait.hidden = true;
          wait.textContent = "";
          return;
        }
        event.preventDefault();
        // A paused (or interrupted) upload never ends by itself: say which, and what to do.
        function inState(state) {
          return pending.filter(function (entry) {
            return entry.state === state;
          });
        }
        var paused = inState("paused");
        var stopped = inState("failed");
        var sending = pending.filter(function (entry) {
          return entry.state !== "paused" && entry.state !== "failed";
        });
        var sentences = [];
        if (sending.length) sentences.push(format(strings.waitUploads, { names: namesText(sending) }));
        [
          [paused, strings.pausedUploads, strings.pausedUploadsPlural],
          [stopped, strings.stoppedUploads, strings.stoppedUploadsPlural]
        ].forEach(function (group) {
          if (group[0].length) sentences.push(format(group[0].length > 1 ? group[2] : group[1], { names: namesText(group[0]) }));
        });
        wait.textContent = sentences.join(" ");
        wait.hidden = false;
      });
    }
  });
})();
