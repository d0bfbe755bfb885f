// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // A form sent back with errors: move focus to the summary so that screen
  // readers announce it and keyboard users start from the list of errors.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
