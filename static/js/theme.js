// Blocking, before first paint: apply the stored theme (dark by default) so the page never flashes.
(function () {
  var stored = null;
  try { stored = localStorage.getItem("studio-theme"); } catch (e) { /* private mode */ }
  document.documentElement.dataset.theme = stored === "light" ? "light" : "dark";
  window.studioToggleTheme = function () {
    var next = document.documentElement.dataset.theme === "light" ? "dark" : "light";
    document.documentElement.dataset.theme = next;
    try { localStorage.setItem("studio-theme", next); } catch (e) { /* ignore */ }
    document.body.dispatchEvent(new CustomEvent("studio:theme-changed", { bubbles: true, detail: { theme: next } }));
    var button = document.getElementById("theme-toggle");
    if (button) button.setAttribute("aria-pressed", String(next === "light"));
  };
  // A listener, not an onclick attribute: the Content-Security-Policy forbids inline handlers.
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#theme-toggle")) window.studioToggleTheme();
  });
})();
