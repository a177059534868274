// Sendwell's own script: small touches on top of htmx. Loaded from 'self'
// only (the CSP allows no inline script).
(function () {
  "use strict";

  // Show password: reveals and hides what is typed. The button is hidden
  // in the HTML and shown here, so without JavaScript it never appears.
  function wireRevealButtons(root) {
    root.querySelectorAll("button[data-reveal]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.getElementById(button.dataset.reveal);
        if (!input) return;
        var reveal = input.type === "password";
        input.type = reveal ? "text" : "password";
        button.setAttribute("aria-pressed", reveal ? "true" : "false");
        button.textContent = reveal ? button.dataset.hideText : button.dataset.showText;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wireRevealButtons(document); });
  document.addEventListener("htmx:load", function (event) { wireRevealButtons(event.target); });
})();
