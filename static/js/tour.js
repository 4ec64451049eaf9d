// Guided tour keyboard navigation: ArrowLeft/ArrowRight or p/n go to the previous/next step,
// unless focus is in a form field or a modifier key is held. Plain links work without it.
(function () {
  "use strict";
  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }
  try {
    window.localStorage.setItem("lpa2-tour-seen", "1"); // the explorer stops inviting to the tour
  } catch (error) {
    // no storage: the explorer keeps its invitation
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (typing(event.target)) return;
    var id = null;
    if (event.key === "ArrowRight" || event.key === "n") id = "tour-next";
    else if (event.key === "ArrowLeft" || event.key === "p") id = "tour-prev";
    if (!id) return;
    var link = document.getElementById(id);
    if (link && link.href) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
})();
