// The explorer's small behaviours, all on plain DOM events (no htmx event names):
//  * a row (a bit grid, the address strip, the glance's levels) is one Tab stop (roving
//    tabindex): arrow keys move focus along it (Left/Right, Up/Down, Home/End);
//  * one shared tooltip shows a bit's field and number on hover and focus;
//  * a bit click submits the small flip form (the state and the bit), not the whole form;
//  * a link to a closed <details> (a card's "field help") opens it;
//  * every edit is an entry of the browser's history: Back and Forward (and Undo, Redo,
//    Ctrl+Z, Ctrl+Shift+Z) ask the server for the regions that differ from the state shown;
//  * the focused control keeps focus across a swap: its identity is remembered when the form
//    is submitted or changed, and a MutationObserver puts focus back on the new element with
//    the same identity once the DOM has changed (or, when it is gone or disabled, on the
//    card or region that held it: focus never falls back to <body>).
(function () {
  "use strict";

  var form = document.getElementById("explorer");
  if (!form) {
    return;
  }

  // -- the tour invitation: shown until the tour was opened or the invitation dismissed ------
  var SEEN = "lpa2-tour-seen"; // static/js/tour.js sets it too
  var invite = document.getElementById("tour-invite");
  function tourSeen() {
    try {
      return window.localStorage.getItem(SEEN) === "1";
    } catch (error) {
      return false;
    }
  }
  function markTourSeen() {
    try {
      window.localStorage.setItem(SEEN, "1");
    } catch (error) {
      // no storage: the invitation stays for this visit only
    }
  }
  if (invite && tourSeen()) {
    invite.hidden = true;
  } else if (invite) {
    var dismiss = document.getElementById("tour-dismiss");
    dismiss.hidden = false;
    dismiss.addEventListener("click", function () {
      markTourSeen();
      invite.hidden = true;
      var glance = document.getElementById("glance"); // focus stays on the page, not <body>
      if (glance) {
        glance.focus();
      }
    });
    invite.querySelector(".tour-start").addEventListener("click", markTourSeen);
  }

  // -- one Tab stop per row, arrow keys along it (roving tabindex) ---------------------------
  // A bit is a <button name="flip"> in a grid's or the address strip's ".bits" row (no class
  // or type attribute: a button in a form submits by default, and a click answer carries
  // hundreds of them). The server sends rows without tabindex; each row fresh in the page
  // gets tabindex=-1 on its items but one (the first), and the item focused last in a row is
  // the one Tab reaches.
  var BIT = ".bits > button[name='flip']";
  var ROWS = ".bitgrid, .strip, [data-roving]";
  var ROVING_LINK = "[data-roving] a[href]";

  function itemsOf(row) {
    return row.matches("[data-roving]") ? row.querySelectorAll("a[href]") : row.querySelectorAll(BIT);
  }

  function roveRow(row) {
    var items = itemsOf(row);
    var stop = null;
    for (var i = 0; i < items.length; i += 1) {
      if (!items[i].hasAttribute("tabindex")) {
        items[i].tabIndex = -1; // new in the row (a fresh row, or an item a morph added)
      } else if (items[i].tabIndex === 0 && stop === null) {
        stop = items[i];
      }
    }
    if (stop === null && items.length) {
      items[0].tabIndex = 0;
    }
  }

  function roveIn(node) {
    if (node.nodeType !== 1) {
      return;
    }
    // An answer morphed into the page (static/js/morph.js) keeps a row's items and their
    // tabindex, and may add items to it.
    var around = node.parentElement ? node.parentElement.closest(ROWS) : null;
    if (around) {
      roveRow(around);
    }
    if (node.matches(ROWS)) {
      roveRow(node);
    }
    var rows = node.querySelectorAll(ROWS);
    for (var i = 0; i < rows.length; i += 1) {
      roveRow(rows[i]);
    }
  }

  var main = document.getElementById("main") || document.body;
  roveIn(main);
  new MutationObserver(function (records) {
    for (var r = 0; r < records.length; r += 1) {
      var added = records[r].addedNodes;
      for (var i = 0; i < added.length; i += 1) {
        roveIn(added[i]);
      }
    }
  }).observe(main, { childList: true, subtree: true });

  function rowItem(element) {
    return element instanceof Element && (element.matches(BIT) || element.matches(ROVING_LINK));
  }

  function rowOf(item) {
    var row = item.closest(ROWS);
    return row ? Array.prototype.slice.call(itemsOf(row)) : [item];
  }

  // The item focused last (by Tab, arrows, a click or focus put back after a swap) is its
  // row's Tab stop.
  document.addEventListener("focusin", function (event) {
    var item = event.target;
    if (!rowItem(item) || item.tabIndex === 0) {
      return;
    }
    var row = item.closest(ROWS);
    var stop = row ? row.querySelector('[tabindex="0"]') : null;
    if (stop) {
      stop.tabIndex = -1;
    }
    item.tabIndex = 0;
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!rowItem(target) || event.altKey || event.ctrlKey || event.metaKey) {
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

  // -- a bit's field and number, shown on hover and focus (one tooltip for every bit) --------
  // The words are the button's accessible name after its digit ("1, DS bit 59": "DS bit 59").
  var tip = document.createElement("div");
  tip.className = "bit-tip";
  tip.setAttribute("aria-hidden", "true"); // the button's own name already says it
  tip.hidden = true;
  document.body.appendChild(tip);
  var tipFor = null;

  function showTip(button) {
    var label = button.getAttribute("aria-label") || "";
    tip.textContent = label.slice(label.indexOf(",") + 1).trim();
    tip.hidden = false;
    tipFor = button;
    var box = button.getBoundingClientRect();
    var left = Math.max(4, Math.min(box.left, document.documentElement.clientWidth - tip.offsetWidth - 4));
    tip.style.left = left + window.scrollX + "px";
    tip.style.top = box.top + window.scrollY - tip.offsetHeight - 4 + "px";
  }

  function hideTip(button) {
    if (!button || button === tipFor) {
      tip.hidden = true;
      tipFor = null;
    }
  }

  main.addEventListener("mouseover", function (event) {
    var button = event.target instanceof Element ? event.target.closest(BIT) : null;
    if (button) {
      showTip(button);
    }
  });
  main.addEventListener("mouseout", function (event) {
    var button = event.target instanceof Element ? event.target.closest(BIT) : null;
    if (button && document.activeElement !== button) {
      hideTip(button);
    }
  });
  main.addEventListener("focusin", function (event) {
    if (event.target instanceof Element && event.target.matches(BIT)) {
      showTip(event.target);
    } else {
      hideTip(null);
    }
  });
  main.addEventListener("focusout", function (event) {
    hideTip(event.target);
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

  // -- in-page links: a closed disclosure (a card's "field help", a nested stage-2 walk) opens;
  // a card a link leads to (the glance's) takes focus, so Tab goes on inside it ------------
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
    var target = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (!target) {
      return;
    }
    if (target.tagName === "DETAILS") {
      target.open = true;
      target.dataset.readerOpened = ""; // kept open through answers (static/js/morph.js)
    }
    for (var d = target.closest("details:not([open])"); d; d = d.parentElement.closest("details:not([open])")) {
      d.open = true;
      d.dataset.readerOpened = "";
    }
    if (target.matches("article.card")) {
      if (!target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus({ preventScroll: true });
    }
  });

  // -- focus kept across swaps ---------------------------------------------------------------
  var remembered = null; // {id} or {name, value}, and the id of the region around it
  var rememberedAt = 0;
  var KEEP_MS = 5000;
  // What holds a control, from the closest: a card, a register, a walk region, the walk.
  var HOLDERS = "article.card[id], details.register[id], [id^='walk-'], #walk, #setup, #presets";

  function identity(element) {
    if (!element || element === document.body || !form.contains(element)) {
      return null;
    }
    var holder = element.closest(HOLDERS);
    var near = holder ? holder.id : "walk";
    if (element.id) {
      return { id: element.id, near: near };
    }
    if (element.name) {
      return { name: element.name, value: element.value, near: near };
    }
    return { near: near };
  }

  function find(key) {
    if (key.id) {
      return document.getElementById(key.id);
    }
    if (!key.name) {
      return null;
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

  function usable(element) {
    return element && document.contains(element) && !element.disabled && !element.closest("[hidden]");
  }

  // A region focused in place of a control that is gone (a card whose "Make invalid" button is
  // now disabled, a level that went away): it takes focus without joining the Tab order.
  function focusRegion(element) {
    if (!element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: true });
  }

  function restore() {
    if (!remembered || Date.now() - rememberedAt > KEEP_MS) {
      remembered = null;
      return;
    }
    var active = document.activeElement;
    // Only take focus back when it was lost (the old element left the document or was
    // disabled by the swap).
    var lost = !active || active === document.body || !document.contains(active) || active.disabled;
    if (!lost) {
      return;
    }
    var current = find(remembered);
    if (usable(current)) {
      current.focus({ preventScroll: true });
      return;
    }
    var near = document.getElementById(remembered.near) || document.getElementById("walk");
    if (near) {
      focusRegion(near);
    }
  }

  // -- history: every edit an entry; Back, Forward, Undo and Redo move between them --------
  // Each entry's state is {lpa2: <link query>, n: <edits since the page was opened>, sid}; the
  // furthest entry of this page's history (what Redo can reach) is kept per tab and page
  // visit (sid). A Back or Forward asks for the state of its entry with the small goto form
  // (the server answers the regions that differ); an in-page link (#walk) makes an entry of
  // the same state, which Undo and Redo step over.
  var gotoForm = document.getElementById("goto-form");
  var undoButton = document.getElementById("undo");
  var redoButton = document.getElementById("redo");
  var fromNode = document.getElementById("from");
  var shown = fromNode ? fromNode.value : "";
  var restoring = null;
  var stepping = null; // "undo" or "redo" while stepping over entries of the same state
  var steps = 0;

  function entry() {
    var state = history.state;
    return state && typeof state.lpa2 === "string" ? state : null;
  }

  var start = entry();
  var n = start ? start.n : 0;
  var sid = start && start.sid ? start.sid : String(Date.now()) + Math.random().toString(16).slice(2);
  var TOP_KEY = "lpa2-history-top-" + sid;

  function readTop() {
    try {
      return Number(window.sessionStorage.getItem(TOP_KEY)) || 0;
    } catch (error) {
      return 0;
    }
  }

  var furthest = Math.max(n, readTop());

  function writeTop(value) {
    furthest = value;
    try {
      window.sessionStorage.setItem(TOP_KEY, String(value));
    } catch (error) {
      // private mode without storage: Redo is known for this page visit only
    }
  }

  function showButtons() {
    if (!undoButton || !redoButton) {
      return;
    }
    undoButton.setAttribute("aria-disabled", n > 0 ? "false" : "true");
    redoButton.setAttribute("aria-disabled", n < furthest ? "false" : "true");
  }

  if ("scrollRestoration" in history) {
    history.scrollRestoration = "manual"; // a Back swaps regions in place: stay where you are
  }
  history.replaceState({ lpa2: shown, n: n, sid: sid }, "", location.href);
  var historyBar = document.getElementById("history");
  if (historyBar && window.htmx && gotoForm) {
    historyBar.hidden = false; // without htmx the browser's own Back and Forward do it all
  }
  showButtons();

  var fromValue = shown;

  function answered() {
    // Every answer carries #from: the state the page now shows (the same node with a new value
    // when the answer is morphed in, static/js/morph.js; a new node otherwise).
    var node = document.getElementById("from");
    if (!node || (node === fromNode && node.value === fromValue)) {
      return;
    }
    fromNode = node;
    fromValue = node.value;
    var now = node.value;
    if (restoring !== null) {
      restoring = null; // the entry is already the current one
    } else if (now !== shown) {
      n += 1;
      writeTop(n);
      history.pushState({ lpa2: now, n: n, sid: sid }, "", now ? "/?" + now : "/");
    }
    shown = now;
    showButtons();
  }

  window.addEventListener("popstate", function (event) {
    var state = event.state && typeof event.state.lpa2 === "string" ? event.state : null;
    var before = n;
    if (state) {
      n = state.n;
    }
    showButtons();
    if (stepping && steps < 20 && (state === null || state.n === before)) {
      steps += 1; // an entry of the same state (an in-page link): one more step
      if (stepping === "undo") {
        history.back();
      } else {
        history.forward();
      }
      return;
    }
    stepping = null;
    var target = state ? state.lpa2 : location.search.replace(/^\?/, "");
    if (target === shown) {
      return;
    }
    if (!window.htmx || !gotoForm || typeof gotoForm.requestSubmit !== "function") {
      location.reload();
      return;
    }
    remembered = identity(document.activeElement); // none outside the form: nothing to restore
    rememberedAt = Date.now();
    restoring = target;
    gotoForm.elements["goto"].value = target;
    gotoForm.requestSubmit();
  });

  function undo() {
    if (n > 0) {
      stepping = "undo";
      steps = 0;
      history.back();
    }
  }

  function redo() {
    if (n < furthest) {
      stepping = "redo";
      steps = 0;
      history.forward();
    }
  }

  if (undoButton && redoButton) {
    undoButton.addEventListener("click", undo);
    redoButton.addEventListener("click", redo);
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // Ctrl+Z / Cmd+Z undo, Ctrl+Shift+Z / Cmd+Shift+Z / Ctrl+Y redo; in a text box they keep
  // their usual meaning (undo the typing).
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || typing(event.target)) {
      return;
    }
    var key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if ((key === "z" && event.shiftKey) || (key === "y" && !event.shiftKey)) {
      event.preventDefault();
      redo();
    }
  });

  var observer = new MutationObserver(function () {
    answered();
    // Focus moves to <body> when the focused element is removed; put it back.
    window.requestAnimationFrame(restore);
  });
  // A morphed answer may change #from's value attribute and no child list.
  observer.observe(form, { childList: true, subtree: true, attributes: true, attributeFilter: ["value"] });
})();
