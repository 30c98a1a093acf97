// devproxy's live reload: added to the app's HTML pages. Reloads the page when a build
// rewrites the served folder, or swaps the stylesheets in place when only CSS changed.
(() => {
  const events = new EventSource("/__devproxy/events");
  events.addEventListener("reload", () => location.reload());
  events.addEventListener("css", () => {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin) continue;
      url.searchParams.set("devproxy", Date.now().toString(36));
      const next = link.cloneNode();
      next.href = url.href;
      next.onload = () => link.remove();
      link.after(next);
    }
  });
})();
