// « Jetons d'accès à l'API »: the new token, shown once, gets the focus with its text
// selected; « Copier le jeton » puts it in the clipboard and says so (or says to use Ctrl+C).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("new-token");
    if (!input) return;
    input.focus();
    input.select();
    var button = document.getElementById("copy-token");
    var status = document.getElementById("copy-token-status");
    if (!button || !status) return;

    function legacyCopy() {
      try {
        return document.execCommand("copy");
      } catch (error) {
        return false;
      }
    }

    function said(copied) {
      status.textContent = "";
      status.textContent = button.getAttribute(copied ? "data-copied" : "data-failed");
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      input.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(
          function () {
            said(true);
          },
          function () {
            input.select();
            said(legacyCopy());
          }
        );
      } else {
        said(legacyCopy());
      }
    });
  });
})();
