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

  // Controls that work only with JavaScript are hidden in the HTML (the
  // page offers a <noscript> stand-in) and shown here.
  function showScriptOnly(root) {
    root.querySelectorAll("[data-script-only][hidden]").forEach(function (element) {
      element.hidden = false;
    });
  }

  // Enter in the Detect settings address runs Detect, not the form's first
  // submit button (the test).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target || event.target.id !== "detect_address") return;
    var button = document.getElementById("detect-button");
    if (!button || button.hidden || button.disabled) return;
    event.preventDefault();
    button.click();
  });

  function wire(root) { wireRevealButtons(root); showScriptOnly(root); }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.target); });
})();
