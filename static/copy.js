// lobstr-dash: the digest's "Copy" button. The page works without it: the text is selectable.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      if (!source || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value || source.textContent).then(function () {
          button.textContent = "Copied";
        }, function () {
          source.select();
          button.textContent = "Select and copy by hand";
        });
      });
    });
  });
})();
