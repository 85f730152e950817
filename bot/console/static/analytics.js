/* The analytics page's charts: data from the page's JSON block, drawn with the vendored Chart.js. */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#57606a"];
  Chart.defaults.animation = false;

  var daily = document.getElementById("chart-daily");
  if (daily) {
    new Chart(daily, {
      type: "bar",
      data: {
        labels: data.daily.labels,
        datasets: data.daily.series.map(function (s, i) {
          return { label: s.name, data: s.data, backgroundColor: palette[i % palette.length] };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  var outcomes = document.getElementById("chart-outcomes");
  if (outcomes) {
    new Chart(outcomes, {
      type: "bar",
      data: {
        labels: data.outcomes.labels,
        datasets: [{ label: "questions", data: data.outcomes.data, backgroundColor: palette }]
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } }
      }
    });
  }
})();
