// The decoder's form shows only the options the chosen register uses: each option fieldset
// names its option (data-option) and each register lists what it needs (data-needs). Without
// JavaScript the page shows the right fieldsets after the next "Decode".
(function () {
  "use strict";
  var select = document.getElementById("reg");
  if (!select) {
    return;
  }
  function follow() {
    var option = select.options[select.selectedIndex];
    var needs = (option && option.getAttribute("data-needs") || "").split(" ");
    var sets = document.querySelectorAll("fieldset[data-option]");
    for (var i = 0; i < sets.length; i += 1) {
      var used = needs.indexOf(sets[i].getAttribute("data-option")) !== -1;
      sets[i].hidden = !used;
      sets[i].disabled = !used;
    }
  }
  select.addEventListener("change", follow);
  follow();
})();
