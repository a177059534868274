// Sendwell's own script: small touches on top of htmx. Loaded from 'self'
// only (the CSP allows no inline script). Everything here is an extra: the
// pages work without it.
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

  // A hidden default button (Enter in a field) presses the visible one it names.
  document.addEventListener("click", function (event) {
    var proxy = event.target.closest && event.target.closest("button[data-press]");
    var button = proxy && document.getElementById(proxy.dataset.press);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  // -- A request that takes a while (Test, Send) ---------------------------
  // Its button says aria-disabled and ignores presses instead of being
  // disabled, which would drop the keyboard focus to the page. The result's
  // heading takes the focus when it comes (autofocus, which htmx honours).

  function guardedButton(elt) {
    if (!elt.hasAttribute || !elt.hasAttribute("data-busy-guard")) return null;
    return elt.matches("button") ? elt : elt.querySelector("button[type=submit]");
  }

  function indicatorOf(elt) {
    var selector = elt.getAttribute("hx-indicator");
    return selector ? document.querySelector(selector) : null;
  }

  // The seconds passing and the limit: "12 s of 15 s".
  function startClock(progress) {
    var elapsed = progress && progress.querySelector(".elapsed[data-text]");
    if (!elapsed) return;
    var start = Date.now();
    var tick = function () {
      elapsed.textContent = elapsed.dataset.text.replace(
        "{elapsed}", String(Math.floor((Date.now() - start) / 1000)));
    };
    tick();
    progress.clock = setInterval(tick, 250);
  }

  function stopClock(progress) {
    if (progress && progress.clock) {
      clearInterval(progress.clock);
      progress.clock = null;
    }
  }

  document.addEventListener("htmx:confirm", function (event) {
    var button = guardedButton(event.target);
    if (button && button.getAttribute("aria-disabled") === "true") event.preventDefault();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var button = guardedButton(elt);
    if (!button) return;
    button.setAttribute("aria-disabled", "true");
    startClock(indicatorOf(elt));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var button = guardedButton(elt);
    if (!button) return;
    button.removeAttribute("aria-disabled");
    stopClock(indicatorOf(elt));
  });

  // Cancel really stops the request (htmx:abort on the element whose
  // requests it syncs, the form); the server gives up by its own deadline.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("button[data-cancel]");
    if (!cancel) return;
    var form = cancel.closest("form");
    if (form) {
      form.dataset.cancelledText = cancel.dataset.cancelledText || "";
      htmx.trigger(form, "htmx:abort");
    }
  });

  document.addEventListener("htmx:sendAbort", function (event) {
    var elt = event.detail.elt;
    var form = elt.closest && elt.closest("form");
    if (!form || !form.dataset.cancelledText) return;
    var target = document.querySelector(elt.getAttribute("hx-target"));
    if (target) {
      var box = document.createElement("div");
      box.className = "result";
      var text = document.createElement("p");
      text.className = "result-title";
      text.textContent = form.dataset.cancelledText;
      box.appendChild(text);
      target.replaceChildren(box);
    }
    delete form.dataset.cancelledText;
    // The Cancel button has gone: the focus goes back to the button that started it.
    var button = guardedButton(elt) || elt;
    if (button.focus) button.focus();
  });

  // -- Fields in error -----------------------------------------------------
  // The rule the pages render by, applied after a swap: a field is invalid
  // while its messages container (errors-<id>) holds a message. Editing the
  // field clears its messages.

  function markInvalidFields() {
    document.querySelectorAll(".errors[id^='errors-']").forEach(function (box) {
      var invalid = box.textContent.trim() !== "";
      document.querySelectorAll("[aria-describedby~='" + box.id + "']").forEach(function (control) {
        if (invalid) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      });
    });
  }

  // ("input", not "change": a message that went on leaving the field would
  // move the button under a pointer pressing it.)
  document.addEventListener("input", function (event) {
    var control = event.target;
    if (!control.getAttribute || control.getAttribute("aria-invalid") !== "true") return;
    (control.getAttribute("aria-describedby") || "").split(/\s+/).forEach(function (id) {
      var box = id.indexOf("errors-") === 0 && document.getElementById(id);
      if (box) box.replaceChildren();
    });
    markInvalidFields();
  });

  // A link in an error summary puts the focus in its field, with the label in view.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    (field.closest(".field") || field).scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  // -- Parts of the form that appear and disappear (out-of-band swaps) ------
  // A secret is never written into a page, so the server cannot carry it in
  // a hidden part as it does other values: what was typed in a [data-keep]
  // field is kept here and put back when the field shows again. And when the
  // field that has the focus disappears, the focus moves to the next one.

  var kept = {};        // field name -> {value, shownAs: what the server shows of it}
  var leaving = [];     // secrets of parts being replaced, until the swap is done
  var focusWasIn = null;
  var swapsDone = false;

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var old = event.detail.target;
    var active = document.activeElement;
    if (active && active !== document.body && old.contains(active)) {
      focusWasIn = { id: active.id, part: old.id };
    }
    old.querySelectorAll("[data-keep]").forEach(function (input) {
      if (input.value) leaving.push({ name: input.name, value: input.value, part: old.id });
    });
  });

  function focusable(element) {
    return !element.disabled && !element.closest("[hidden]") && element.getClientRects().length > 0;
  }

  function nextFocusable(after) {
    var candidates = document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary");
    for (var i = 0; i < candidates.length; i++) {
      var element = candidates[i];
      if ((after.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING) &&
          !after.contains(element) && focusable(element)) {
        return element;
      }
    }
    return null;
  }

  function afterSwaps() {
    swapsDone = false;
    leaving.forEach(function (secret) {
      var part = document.getElementById(secret.part);
      var shown = part && part.querySelector("input[type=hidden][name='" + secret.name + "']");
      kept[secret.name] = { value: secret.value, shownAs: shown ? shown.value : "" };
    });
    leaving = [];
    Object.keys(kept).forEach(function (name) {
      var input = document.querySelector("[data-keep][name='" + name + "']");
      if (input && input.value === kept[name].shownAs) {
        input.value = kept[name].value;
        delete kept[name];
      }
    });
    if (focusWasIn && (!document.activeElement || document.activeElement === document.body)) {
      var same = focusWasIn.id && document.getElementById(focusWasIn.id);
      var part = document.getElementById(focusWasIn.part);
      var next = same && focusable(same) ? same : part && nextFocusable(part);
      if (next) next.focus();
    }
    focusWasIn = null;
    markInvalidFields();
  }

  document.addEventListener("htmx:afterSwap", function () {
    if (swapsDone) return;
    swapsDone = true;
    setTimeout(afterSwaps, 0);
  });

  // -- Email a document: the subject defaults to the file's name -------------
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-subject-for]")) return;
    var subject = document.getElementById(input.dataset.subjectFor);
    if (!subject || !input.files || !input.files.length) return;
    var name = input.files[0].name.replace(/\.pdf$/i, "");
    if (!subject.value.trim() || subject.value === subject.dataset.fromFile) {
      subject.value = name;
      subject.dataset.fromFile = name;
    }
  });
})();
