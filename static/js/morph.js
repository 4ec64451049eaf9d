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
      beforeAttributeUpdated: function (name, element, type) {
        return !(name === "tabindex" && type === "remove");
      },
    },
  };

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
