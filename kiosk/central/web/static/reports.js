// The reports' charts, drawn with Chart.js (vendored and pinned under chartjs/, loaded
// before this file): an enhancement only. Without JavaScript, or if Chart.js did not load,
// the tables are the report and the charts stay hidden.
//
// Each chart is a <canvas data-chart="ID"> in a hidden container; the element #ID is a
// <script type="application/json"> data block (never run) with the figures:
//   { labels, datasets: [{ label, data (numbers as text), colour, type?, axis? }],
//     category, value (the axes' titles), horizontal?, stacked?, money?, unit?, max?,
//     right? (a second value axis for the datasets with axis "right") }
// Once a chart is drawn, its table (the <details data-chart-table> naming the canvas) is
// closed under "Show the figures as a table"; it stays one click away.

const Chart = window.Chart;
// The fonts console.css puts behind GOV.UK's "GDS Transport", named directly: a canvas
// asking for "GDS Transport" could make the browser fall back to GOV.UK Frontend's own
// face for it, whose font files are not shipped (a request that fails).
const FONT = 'arial, "Liberation Sans", helvetica, "DejaVu Sans", sans-serif';
const TEXT = "#0b0c0c"; // GOV.UK's text colour
const GRID = "#b1b4b6"; // GOV.UK's border colour

function title(text) {
  return { display: Boolean(text), text, color: TEXT, font: { weight: "bold" } };
}

function valueTicks(spec) {
  if (spec.money) return { callback: (value) => Number(value).toFixed(2) };
  if (spec.unit) return { precision: 0, callback: (value) => `${value}${spec.unit}` };
  return { precision: 0 };
}

function configuration(spec) {
  const horizontal = Boolean(spec.horizontal);
  const stacked = Boolean(spec.stacked);
  const datasets = spec.datasets.map((set) => {
    const line = set.type === "line";
    return {
      label: set.label,
      data: set.data.map(Number),
      type: set.type || "bar",
      backgroundColor: set.colour,
      borderColor: set.colour,
      borderWidth: line ? 3 : 0,
      pointRadius: line ? 3 : undefined,
      order: line ? 0 : 1, // lines drawn over bars (the legend keeps the data's order)
      yAxisID: set.axis === "right" ? "right" : undefined,
    };
  });
  const value = {
    beginAtZero: true,
    stacked,
    max: spec.max,
    title: title(spec.value),
    ticks: { ...valueTicks(spec), color: TEXT },
    grid: { color: GRID },
  };
  const category = {
    stacked,
    title: title(spec.category),
    ticks: { color: TEXT, autoSkip: !horizontal, maxRotation: 0 },
    grid: { display: false },
  };
  const scales = horizontal ? { x: value, y: category } : { x: category, y: value };
  if (spec.right) {
    scales.right = {
      position: "right",
      beginAtZero: true,
      title: title(spec.right),
      ticks: { precision: 0, color: TEXT },
      grid: { drawOnChartArea: false },
    };
  }
  return {
    type: "bar",
    data: { labels: spec.labels, datasets },
    options: {
      indexAxis: horizontal ? "y" : "x",
      responsive: true,
      // A horizontal chart grows with its rows; the others keep their shape.
      maintainAspectRatio: !horizontal,
      aspectRatio: spec.aspect || 2.4,
      layout: { padding: { right: 4 } },
      animation: false,
      plugins: {
        legend: {
          display: datasets.length > 1,
          position: "bottom",
          labels: { color: TEXT, sort: (a, b) => a.datasetIndex - b.datasetIndex },
        },
        tooltip: spec.money
          ? {
              callbacks: {
                label: (item) => `${item.dataset.label}: ${Number(item.raw).toFixed(2)}`,
              },
            }
          : {},
      },
      scales,
    },
  };
}

function draw(canvas) {
  const block = document.getElementById(canvas.dataset.chart);
  if (block === null) return;
  let spec;
  try {
    spec = JSON.parse(block.textContent);
  } catch {
    return; // the table is still there
  }
  const container = canvas.parentElement;
  container.hidden = false;
  if (spec.horizontal) {
    // CSSOM, which the Content-Security-Policy allows (a style attribute it would not).
    container.style.position = "relative";
    const rows = Math.max(spec.labels.length, 1);
    const perRow = spec.datasets.length > 1 ? 44 : 32;
    container.style.height = `${110 + perRow * rows}px`;
  }
  new Chart(canvas, configuration(spec));
  const table = document.querySelector(`details[data-chart-table="${canvas.id}"]`);
  if (table !== null) table.open = false;
}

if (typeof Chart === "function") {
  Chart.defaults.font.family = FONT;
  Chart.defaults.font.size = 16;
  Chart.defaults.color = TEXT;
  document.querySelectorAll("canvas[data-chart]").forEach(draw);
}
