// Copy buttons, wired by one delegated click handler so that buttons added later (htmx swaps,
// the explorer's per-value buttons) work without more script:
//   data-copy="0x..."          copies the attribute's text
//   data-copy-target="#id"     copies the value (input/textarea) or text of that element
//   data-copy-url="/walk.txt?" fetches the URL and copies the response text
// The button shows "Copied" for a moment and an aria-live region announces it. Where the
// clipboard API is missing (non-secure context) or refuses, the text is selected instead so
// Ctrl+C / Cmd+C copies it.
(function () {
  "use strict";
  if (window.lpa2ShareInstalled) {
    return; // the panel may be swapped in again with its script tag
  }
  window.lpa2ShareInstalled = true;

  var RESET_MS = 2000;

  function statusRegion() {
    var region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "copy-status";
      region.className = "copy-status visually-hidden";
      region.setAttribute("aria-live", "polite");
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    return region;
  }

  function announce(button, label, message) {
    if (!button.hasAttribute("data-copy-label")) {
      button.setAttribute("data-copy-label", button.textContent);
    }
    button.textContent = label;
    button.classList.add("is-copied");
    statusRegion().textContent = message;
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      button.textContent = button.getAttribute("data-copy-label");
      button.classList.remove("is-copied");
    }, RESET_MS);
  }

  function selectNode(node) {
    if (node && (node.tagName === "INPUT" || node.tagName === "TEXTAREA")) {
      node.focus();
      node.select();
      return true;
    }
    if (node && window.getSelection) {
      var range = document.createRange();
      range.selectNodeContents(node);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      return true;
    }
    return false;
  }

  // A place to show text that has no element of its own (data-copy, data-copy-url), so that
  // it can be selected by hand.
  function fallbackBox(button, text) {
    var box = button.nextElementSibling;
    if (!box || !box.classList.contains("copy-fallback")) {
      box = document.createElement("textarea");
      box.className = "copy-fallback";
      box.readOnly = true;
      box.rows = Math.min(20, text.split("\n").length);
      box.cols = 74;
      button.insertAdjacentElement("afterend", box);
    }
    box.value = text;
    return box;
  }

  function fallback(button, text, node) {
    var selected = selectNode(node || fallbackBox(button, text));
    var copied = false;
    try {
      copied = selected && document.execCommand && document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    if (copied) {
      announce(button, "Copied", "Copied to the clipboard.");
    } else {
      announce(button, "Selected", "Selected: press Ctrl+C (Cmd+C on a Mac) to copy.");
    }
  }

  function copy(button, text, node) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          announce(button, "Copied", "Copied to the clipboard.");
        },
        function () {
          fallback(button, text, node);
        }
      );
    } else {
      fallback(button, text, node);
    }
  }

  function textOf(node) {
    if (node.tagName === "INPUT" || node.tagName === "TEXTAREA") {
      return node.value;
    }
    return node.textContent;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target], [data-copy-url]");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (button.hasAttribute("data-copy")) {
      copy(button, button.getAttribute("data-copy"), null);
    } else if (button.hasAttribute("data-copy-target")) {
      var node = document.querySelector(button.getAttribute("data-copy-target"));
      if (node) {
        copy(button, textOf(node), node);
      }
    } else {
      var url = button.getAttribute("data-copy-url");
      fetch(url, { headers: { Accept: "text/plain" } })
        .then(function (response) {
          return response.text();
        })
        .then(function (text) {
          copy(button, text, null);
        })
        .catch(function () {
          announce(button, "Failed", "Could not fetch the text to copy.");
        });
    }
  });
})();
