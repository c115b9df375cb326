// The Analytics page's charts, drawn with Chart.js from the figures the page carries (the
// JSON block #analytics-data). Each chart has a table with the same figures below it: the page
// says everything without this script.
"use strict";

(function () {
  const source = document.getElementById("analytics-data");
  if (!source || typeof window.Chart === "undefined") return;
  const board = JSON.parse(source.textContent);
  // Colours told apart by people with the common colour-vision deficiencies (Okabe-Ito).
  const colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00"];
  const parts = {
    funnel: { data: board.funnel, type: "line", series: [["clicks", "Link clicks"], ["signups", "Signups"], ["conversions", "Conversions"], ["rewards", "Rewards"]] },
    points: { data: board.points, type: "bar", series: [["earned", "Earned"], ["redeemed", "Redeemed"], ["expired", "Expired"], ["adjusted", "Adjusted (net)"]] },
    active: { data: board.active_users, type: "line", series: [["active", "Users with an event"]] },
  };
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const part = parts[canvas.getAttribute("data-chart")];
    if (!part) return;
    new window.Chart(canvas, {
      type: part.type,
      data: {
        labels: part.data.days,
        datasets: part.series.map(([key, label], i) => ({
          label: label,
          data: part.data.series[key],
          borderColor: colours[i],
          backgroundColor: colours[i],
          tension: 0.2,
          pointRadius: part.data.days.length > 60 ? 0 : 2,
        })),
      },
      options: {
        animation: still ? false : undefined,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  });
})();
