/* Console behaviour: SLA countdowns, drag-and-drop stage moves, note drafts, charts. Plain JS, no build. */
(function () {
  "use strict";
  var AMBER = 30 * 60, RED = 10 * 60; // seconds left before the SLA deadline

  function fmt(sec) {
    var s = Math.abs(sec), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
    var t = (h ? h + "h " : "") + (h || m ? m + "m " : "") + (h ? "" : r + "s");
    return sec < 0 ? "Overdue " + t.trim() : t.trim() + " left";
  }
  var loadedAt = Date.now();
  function tick() {
    var elapsed = (Date.now() - loadedAt) / 1000;
    document.querySelectorAll("[data-sla-left]").forEach(function (el) {
      var base = Number(el.getAttribute("data-sla-left")), at = Number(el.getAttribute("data-sla-at") || loadedAt);
      var left = Math.round(base - (Date.now() - at) / 1000);
      var level = left <= RED ? "sla-red" : left <= AMBER ? "sla-amber" : "sla-ok";
      el.textContent = fmt(left);
      el.classList.remove("sla-ok", "sla-amber", "sla-red"); el.classList.add(level);
      var item = el.closest(".q-item");
      if (item) { item.classList.remove("sla-ok", "sla-amber", "sla-red"); item.classList.add(level); }
    });
  }
  function stamp(root) {
    (root || document).querySelectorAll("[data-sla-left]:not([data-sla-at])").forEach(function (el) {
      el.setAttribute("data-sla-at", String(Date.now()));
    });
    tick();
  }

  // The queue refreshes itself every 30 s, except while the RM is typing a rejection reason.
  function queueIdle(q) {
    if (q.querySelector("details[open]")) return false;
    return !Array.prototype.some.call(q.querySelectorAll("input[type=text], textarea"), function (i) { return i.value; });
  }
  function refreshQueue() {
    var q = document.getElementById("queue");
    if (q && window.htmx && queueIdle(q)) window.htmx.trigger(q, "queue-refresh");
  }

  // Utilization bars: the width comes from data-util (the Content-Security-Policy forbids inline styles).
  function sizeBars(root) {
    (root || document).querySelectorAll("[data-util]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.getAttribute("data-util")) || 0)) + "%";
    });
  }

  // Drag a card onto a column: set its "Move to" select and submit its form (the select works by keyboard).
  function wireBoard(root) {
    (root || document).querySelectorAll(".card[draggable=true]").forEach(function (card) {
      card.addEventListener("dragstart", function (e) {
        card.classList.add("dragging");
        e.dataTransfer.setData("text/plain", card.id);
        e.dataTransfer.effectAllowed = "move";
      });
      card.addEventListener("dragend", function () { card.classList.remove("dragging"); });
    });
    (root || document).querySelectorAll(".col[data-stage]").forEach(function (col) {
      col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("drop-target"); });
      col.addEventListener("dragleave", function () { col.classList.remove("drop-target"); });
      col.addEventListener("drop", function (e) {
        e.preventDefault(); col.classList.remove("drop-target");
        var card = document.getElementById(e.dataTransfer.getData("text/plain"));
        if (!card || card.closest(".col") === col) return;
        var form = card.querySelector("form.move"), select = form && form.querySelector("select[name=stage]");
        if (!select) return;
        select.value = col.getAttribute("data-stage");
        if (window.htmx) { window.htmx.trigger(form, "submit"); } else { form.submit(); }
      });
    });
  }

  // Notes are kept as a draft in this browser until saved, so nothing typed is lost.
  function wireDrafts(root) {
    (root || document).querySelectorAll("textarea[data-draft-key]").forEach(function (ta) {
      var key = "sales-draft:" + ta.getAttribute("data-draft-key");
      try {
        var saved = localStorage.getItem(key);
        if (saved !== null && saved !== ta.value) {
          ta.value = saved;
          var hint = document.getElementById(ta.id + "-draft");
          if (hint) hint.hidden = false;
        }
        ta.addEventListener("input", function () { localStorage.setItem(key, ta.value); });
        if (ta.form) ta.form.addEventListener("submit", function () { localStorage.removeItem(key); });
      } catch (err) { /* storage disabled: nothing to restore */ }
    });
  }

  // A generic grouped bar chart: {labels, datasets: [{label, data}], axis} (e.g. the upsell funnel by group).
  var PALETTE = ["#1f5fbf", "#f0a531", "#2e9d6a", "#c2410c", "#7c3aed", "#0e7490", "#be185d", "#64748b"];
  function groupedBars(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: data.datasets.map(function (d, i) {
        return { label: d.label, data: d.data, backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 4 };
      }) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: !!data.axis, text: data.axis || "" } } }
      }
    });
  }

  // Issue 16: a line per variant ({kind: "lines", labels, datasets: [{label, data}], axis}).
  function lines(canvas, data) {
    return new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: data.datasets.map(function (d, i) {
        return { label: d.label, data: d.data, borderColor: PALETTE[i % PALETTE.length],
                 backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true, tension: 0.2 };
      }) },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } },
                 scales: { y: { beginAtZero: true, title: { display: true, text: data.axis } } } }
    });
  }
  // Issue 16: intervals as floating horizontal bars ([low, high] per label), with the zero line's grid emphasised.
  function intervals(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: data.datasets.map(function (d, i) {
        return { label: d.label, data: d.data, backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 3 };
      }) },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } },
                 scales: { x: { title: { display: true, text: data.axis },
                                grid: { color: function (c) { return c.tick && c.tick.value === 0 ? "#111" : "#e5e7eb"; } } } } }
    });
  }

  function wireCharts(root) {
    if (!window.Chart) return;
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas._chart) canvas._chart.destroy();
      var data = JSON.parse(document.getElementById(canvas.getAttribute("data-chart")).textContent);
      if (data.kind === "lines") { canvas._chart = lines(canvas, data); return; }
      if (data.kind === "intervals") { canvas._chart = intervals(canvas, data); return; }
      if (data.datasets) { canvas._chart = groupedBars(canvas, data); return; }
      canvas._chart = new window.Chart(canvas, {
        type: "bar",
        data: { labels: data.labels, datasets: [
          { label: "Pipelines", data: data.counts, backgroundColor: "#1f5fbf", yAxisID: "y", borderRadius: 4 },
          { label: "Deal value (₹ lakh)", data: data.values, backgroundColor: "#f0a531", yAxisID: "y1", borderRadius: 4 }
        ] },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { position: "bottom" } },
          scales: {
            x: { ticks: { autoSkip: false, maxRotation: 50, minRotation: 0 } },
            y: { beginAtZero: true, position: "left", title: { display: true, text: "Pipelines" } },
            y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                  title: { display: true, text: "₹ lakh" } }
          }
        }
      });
    });
  }

  // Bulk selection in the team room.
  function wireBulk(root) {
    var all = (root || document).querySelector("#select-all");
    if (all) all.addEventListener("change", function () {
      document.querySelectorAll("input[name=allocation_ids]").forEach(function (c) { c.checked = all.checked; });
      countSelected();
    });
    (root || document).querySelectorAll("input[name=allocation_ids]").forEach(function (c) {
      c.addEventListener("change", countSelected);
    });
    countSelected();
  }
  function countSelected() {
    var n = document.querySelectorAll("input[name=allocation_ids]:checked").length, out = document.getElementById("selected-count");
    if (out) out.textContent = n + " selected";
    var btn = document.getElementById("bulk-submit");
    if (btn) btn.disabled = n === 0;
  }

  function init(root) { stamp(root); wireBoard(root); wireDrafts(root); wireCharts(root); wireBulk(root); sizeBars(root); }
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    setInterval(tick, 1000);
    setInterval(refreshQueue, 30000);
  });
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
})();
