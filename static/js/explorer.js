// The explorer's small behaviours, all on plain DOM events (no htmx event names):
//  * arrow keys move focus along a row of bit buttons (Left/Right, Home/End);
//  * a bit click submits the small flip form (the state and the bit), not the whole form;
//  * a link to a closed <details> (a card's "field help") opens it;
//  * the focused control keeps focus across a swap: its identity is remembered when the form
//    is submitted or changed, and a MutationObserver puts focus back on the new element with
//    the same identity once the DOM has changed.
(function () {
  "use strict";

  var form = document.getElementById("explorer");
  if (!form) {
    return;
  }

  // -- keyboard movement along bit rows -------------------------------------------------------
  // A bit is a <button name="flip"> in a grid's or the address strip's ".bits" row (no class
  // or type attribute: a button in a form submits by default, and a click answer carries
  // hundreds of them).
  var BIT = ".bits > button[name='flip']";

  function rowOf(button) {
    var grid = button.closest(".bitgrid, .strip");
    return grid ? Array.prototype.slice.call(grid.querySelectorAll(BIT)) : [button];
  }

  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement) || !target.matches(BIT)) {
      return;
    }
    var row = rowOf(target);
    var index = row.indexOf(target);
    var next = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      next = row[Math.min(row.length - 1, index + 1)];
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      next = row[Math.max(0, index - 1)];
    } else if (event.key === "Home") {
      next = row[0];
    } else if (event.key === "End") {
      next = row[row.length - 1];
    }
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });

  // -- a bit click sends only the state and the bit --------------------------------------------
  // The explorer form applies every other control on "change", so a click on a bit button
  // needs only "from" (added by the flip form's hx-include when htmx issues the request) and
  // the bit. Without htmx the button submits the whole explorer form, as without JavaScript.
  var flipForm = document.getElementById("flip-form");
  form.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest(BIT) : null;
    if (
      !button ||
      button.name !== "flip" ||
      button.disabled ||
      event.defaultPrevented ||
      !flipForm ||
      !window.htmx ||
      typeof flipForm.requestSubmit !== "function"
    ) {
      return;
    }
    event.preventDefault();
    flipForm.elements.flip.value = button.value;
    flipForm.requestSubmit();
  });

  // -- links to a closed disclosure (a card's "field help") open it ---------------------------
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
    var target = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  });

  // -- focus kept across swaps ---------------------------------------------------------------
  var remembered = null; // {id} or {name, value}
  var rememberedAt = 0;
  var KEEP_MS = 5000;

  function identity(element) {
    if (!element || element === document.body || !form.contains(element)) {
      return null;
    }
    if (element.id) {
      return { id: element.id };
    }
    if (element.name) {
      return { name: element.name, value: element.value };
    }
    return null;
  }

  function find(key) {
    if (key.id) {
      return document.getElementById(key.id);
    }
    var candidates = form.querySelectorAll("[name]");
    for (var i = 0; i < candidates.length; i += 1) {
      if (candidates[i].name === key.name && candidates[i].value === key.value) {
        return candidates[i];
      }
    }
    return null;
  }

  function remember(element) {
    var key = identity(element);
    if (key) {
      remembered = key;
      rememberedAt = Date.now();
    }
  }

  form.addEventListener(
    "submit",
    function (event) {
      remember(event.submitter || document.activeElement);
    },
    true
  );
  form.addEventListener(
    "change",
    function (event) {
      remember(document.activeElement !== document.body ? document.activeElement : event.target);
    },
    true
  );
  // Clicking a button focuses it in some browsers but not others: remember it explicitly.
  form.addEventListener(
    "click",
    function (event) {
      var button = event.target instanceof Element ? event.target.closest("button") : null;
      if (button) {
        remember(button);
      }
    },
    true
  );

  function restore() {
    if (!remembered || Date.now() - rememberedAt > KEEP_MS) {
      remembered = null;
      return;
    }
    var active = document.activeElement;
    var current = find(remembered);
    if (!current || current === active) {
      return;
    }
    // Only take focus back when it was lost (the old element left the document).
    if (!active || active === document.body || !document.contains(active) || !form.contains(active)) {
      current.focus({ preventScroll: true });
    }
  }

  var observer = new MutationObserver(function () {
    // Focus moves to <body> when the focused element is removed; put it back.
    window.requestAnimationFrame(restore);
  });
  observer.observe(form, { childList: true, subtree: true });
})();
