// funnelboard: draw the charts whose Vega-Lite specs the page carries, and sort tables.
(function () {
  "use strict";

  function drawCharts() {
    if (typeof window.vegaEmbed !== "function") { return; }
    document.querySelectorAll(".chart[data-spec]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-spec"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      // ast: vega's expression interpreter instead of eval (the CSP forbids eval); vega-embed's
      // inline <style> is off too, /static/app.css carries the chart and tooltip styles
      window.vegaEmbed(el, spec, {
        renderer: "svg", ast: true, actions: false, defaultStyle: false,
        tooltip: { disableDefaultStyle: true }
      }).then(function () { el.setAttribute("data-rendered", "true"); })
        .catch(function (err) {
          el.textContent = "This chart could not be drawn: " + err.message;
          el.setAttribute("data-rendered", "error");
        });
    });
  }

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = a.cells[index].getAttribute("data-raw");
          var y = b.cells[index].getAttribute("data-raw");
          var nx = parseFloat(x), ny = parseFloat(y);
          var both = !isNaN(nx) && !isNaN(ny) && String(nx) !== "NaN";
          var cmp = both ? nx - ny : String(x).localeCompare(String(y));
          return ascending ? cmp : -cmp;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // leave empty filters out of the URL, so a bookmark holds only what was chosen
  function compactForm(form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && field.value === "") { field.disabled = true; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("form.filters, form.snapshot-picker").forEach(compactForm);
    document.querySelectorAll("table.data").forEach(sortable);
  });
})();
