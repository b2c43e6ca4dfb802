// lobstr-dash: small comforts that need JavaScript. Every page works without this file.
(function () {
  "use strict";

  var TEXT_TYPES = /^(text|search|url|email|number|password|tel|date|datetime-local|month|time|week)$/;

  function typingIn(element) {
    if (!element) return false;
    if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") return true;
    return element.tagName === "INPUT" && TEXT_TYPES.test(element.type);
  }

  // "/" jumps to the search box, as on GitHub or MDN: the box that declares aria-keyshortcuts="/"
  // (the task filter on a run page, the run box at home), else the header's run box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typingIn(document.activeElement)) return;
    var box = document.querySelector('[aria-keyshortcuts="/"]') || document.getElementById("jump-run");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // Back twice in quick succession: htmx fetches each page it restores, and when the first
  // answer arrives last it is swapped in under the second page's URL (checked filters that the
  // URL does not have). A restore that is not of the URL now shown asks for that URL again.
  document.addEventListener("htmx:historyRestore", function (event) {
    var shown = location.pathname + location.search;
    if (!event.detail || !event.detail.cacheMiss || event.detail.path === shown) return;
    window.dispatchEvent(new PopStateEvent("popstate", { state: { htmx: true } }));
  });
})();
