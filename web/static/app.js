// Live figures: every element with data-poll="URL" is refreshed from that URL (HTML fragment).
(function () {
  const nodes = document.querySelectorAll("[data-poll]");
  nodes.forEach(function (el) {
    const every = 1000 * parseFloat(el.dataset.every || "3");
    async function refresh() {
      if (document.hidden) return;
      try {
        const r = await fetch(el.dataset.poll, { headers: { "Accept": "text/html" } });
        if (r.ok) { el.innerHTML = await r.text(); el.dataset.updated = Date.now(); }
      } catch (e) { /* the server may be restarting: try again next time */ }
    }
    setInterval(refresh, every);
  });
  // Ask before stopping an experiment.
  document.querySelectorAll("button[data-confirm]").forEach(function (b) {
    b.addEventListener("click", function (ev) {
      if (!window.confirm(b.dataset.confirm)) ev.preventDefault();
    });
  });
})();
// Filter forms: leave empty fields out of the URL (?q=stack rather than ?q=stack&kind=&...).
document.querySelectorAll("form[method=get]").forEach(function (form) {
  form.addEventListener("submit", function () {
    form.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && el.value === "") el.disabled = true;
    });
  });
});
