// The explorer's answers swap each out-of-band region with hx-swap-oob="morph": idiomorph
// changes the region on the page into the one in the answer, node by node, so a click changes
// in the browser only what it changed. Replacing a region instead removes and inserts every
// bit button in it, and each submit button that joins or leaves a form costs the browser time
// in proportion to the form's size (it re-finds the form's default button): on a two-stage
// page of two thousand buttons a card swapped whole took tens of milliseconds.
//
// The result is the same element as an outer swap would give (every attribute and child of the
// answer's region); only nodes are reused. An id the answer's region does not contain (a card
// now showing another descriptor carries that descriptor's address in its ids) names nothing
// that survives the swap, so it is dropped first: idiomorph then reuses that element instead
// of replacing it.
(function () {
  "use strict";

  if (!window.htmx) {
    return;
  }

  function dropStaleIds(target, incoming) {
    var kept = new Set();
    incoming.forEach(function (element) {
      if (element.id) {
        kept.add(element.id);
      }
      element.querySelectorAll("[id]").forEach(function (inner) {
        kept.add(inner.id);
      });
    });
    target.querySelectorAll("[id]").forEach(function (element) {
      if (!kept.has(element.id)) {
        element.removeAttribute("id");
      }
    });
  }

  var MORPH = {
    morphStyle: "outerHTML",
    callbacks: {
      // tabindex where the server sends none is the page's own (one Tab stop per bit row, a
      // region given focus: static/js/explorer.js); a morph keeps it, as it keeps the node.
      // A disclosure the reader opened (a register, a folded nested stage-2 walk) stays open:
      // the server sends each region as a fresh page shows it, folded, and the reader is
      // still working inside it. The mark is the page's too.
      beforeAttributeUpdated: function (name, element, type) {
        if (type !== "remove") {
          return true;
        }
        if (name === "tabindex" || name === "data-reader-opened") {
          return false;
        }
        return !(name === "open" && element.hasAttribute("data-reader-opened"));
      },
    },
  };

  // A click on a disclosure's summary toggles it after this listener runs: closed now means
  // the reader is opening it.
  document.addEventListener(
    "click",
    function (event) {
      var summary = event.target instanceof Element ? event.target.closest("summary") : null;
      var details = summary ? summary.parentElement : null;
      if (!details || details.tagName !== "DETAILS" || details.firstElementChild !== summary) {
        return;
      }
      if (details.open) {
        delete details.dataset.readerOpened;
      } else {
        details.dataset.readerOpened = "";
      }
    },
    true
  );

  window.htmx.defineExtension("morph", {
    isInlineSwap: function (swapStyle) {
      return swapStyle === "morph";
    },
    handleSwap: function (swapStyle, target, fragment) {
      if (swapStyle !== "morph") {
        return false;
      }
      var incoming = Array.prototype.slice.call(fragment.children);
      if (!window.Idiomorph) {
        target.replaceWith.apply(target, incoming); // idiomorph did not load: an outer swap
        return incoming;
      }
      dropStaleIds(target, incoming);
      return window.Idiomorph.morph(target, incoming, MORPH);
    },
  });
})();
