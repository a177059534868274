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

  // Copy: puts the text of the element it names on the clipboard (the
  // redirect address to register with the provider). Without the
  // clipboard, the text is selected so that it can be copied by hand.
  function wireCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.hidden = false;
      var label = button.textContent;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        var text = source.textContent.trim();
        var done = function () {
          button.textContent = button.dataset.copiedText;
          window.setTimeout(function () { button.textContent = label; }, 2000);
        };
        var select = function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, select);
        } else {
          select();
        }
      });
    });
  }

  // "Sign in with ..." under a failed test: the same as the form's own
  // sign-in button, which keeps what is typed and goes through htmx.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-sign-in]") : null;
    if (!button) return;
    var own = document.querySelector("#slot-oauth_status button[value=oauth_sign_in]");
    if (!own) return;  // no panel: the button posts the form itself
    event.preventDefault();
    own.click();
  });

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

  function wire(root) {
    wireRevealButtons(root);
    wireCopyButtons(root);
    showScriptOnly(root);
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.target); });
})();
