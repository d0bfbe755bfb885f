// The deposit page (« Répondre à la consultation »): each chosen file is sent at once with
// tus-js-client to the platform's tus endpoint, by chunks of about 8 MiB, with a progress
// bar per file and overall, speed and time left, pause and resume, removal (tus
// termination), and resumption after a reload (the upload's address is kept in
// localStorage under a fingerprint of the deposit, envelope, document and file).
// The server's refusals are French sentences: they are shown next to the file.
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

    function refreshOverall() {
      var live = entries.filter(function (entry) {
        return !entry.removed && !entry.failed;
      });
      if (!live.length) return;
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
      var text = format(strings.overall, { done: done, total: live.length });
      var rate = overallRate.perSecond();
      if (done < live.length && rate) text += " — " + rateText(rate, total - sent);
      overallStatus.textContent = text;
    }

    function element(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function serverMessage(error) {
      var response = error && error.originalResponse;
      if (response) {
        var body = response.getBody ? response.getBody() : "";
        return body ? String(body).trim() : strings.refused;
      }
      return strings.network;
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
          overallStatus.textContent = strings.removed;
          refreshOverall();
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
          entry.resume.hidden = err && err.originalResponse ? true : false;
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

    Array.prototype.forEach.call(document.querySelectorAll("input.deposit-file"), function (input) {
      input.addEventListener("change", function () {
        Array.prototype.forEach.call(input.files, function (file) {
          add(file, input);
        });
        // The same file may be chosen again (to resume it after an error, for instance).
        input.value = "";
      });
    });

    var validateForm = document.getElementById("validate-form");
    var wait = document.getElementById("validate-wait");
    if (validateForm && wait) {
      validateForm.addEventListener("submit", function (event) {
        var busy = entries.some(function (entry) {
          return !entry.removed && !entry.failed && entry.state !== "done";
        });
        if (busy) {
          event.preventDefault();
          wait.textContent = strings.waitUploads;
          wait.hidden = false;
        }
      });
    }
  });
})();
