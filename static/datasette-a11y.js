// Names and keyboard access for the controls that Datasette and datasette-dashboards draw
// with JavaScript, after the page's HTML (whose own controls leftbehind/site/accessible_markup.py names).
// (The SQL editor is named "SQL query" by static/sql-editor.js, which loads it.)
//
// - Each column's options menu (the cog that Datasette's table.js adds to a column heading)
//   becomes a button a keyboard can reach: Enter or Space opens the menu and moves to its
//   first item, Escape closes it and returns to the button, leaving it closes it; the menu
//   itself moves into <main>, so it is inside a landmark.
// - Each chart's actions menu (drawn by vega-embed) is named after its chart, and a chart
//   that scrolls (a table of rows) can be reached and scrolled with the keyboard.
// - The map datasette-cluster-map draws above query results with latitude and longitude
//   columns is named, and says in words that the table below lists the same places.
//
// Loaded deferred on every page (templates/base.html): it does its work once Datasette's own
// deferred table.js has drawn its column menus (DOMContentLoaded).

function columnMenus() {
  const icons = document.querySelectorAll(".rows-and-columns th svg.dropdown-menu-icon");
  const menus = document.querySelectorAll("body > div.dropdown-menu");
  const menu = menus[menus.length - 1];
  if (!icons.length || !menu) {
    return;
  }
  // Datasette appends the menu to <body>, outside every landmark (axe: region); inside <main>,
  // which is not positioned, it keeps the page coordinates table.js places it at.
  document.querySelector("main")?.appendChild(menu);
  let opener = null;
  const isOpen = () => menu.style.display === "block";
  const close = (returnFocus) => {
    menu.style.display = "none";
    if (opener && returnFocus) {
      opener.focus();
    }
  };
  new MutationObserver(() => {
    icons.forEach((icon) => icon.setAttribute("aria-expanded", String(isOpen() && icon === opener)));
  }).observe(menu, { attributes: true, attributeFilter: ["style"] });

  icons.forEach((icon) => {
    const column = icon.closest("th").dataset.column;
    icon.setAttribute("role", "button");
    icon.setAttribute("tabindex", "0");
    icon.setAttribute("aria-label", `Options for the column ${column}`);
    icon.setAttribute("aria-haspopup", "true");
    icon.setAttribute("aria-expanded", "false");
    icon.addEventListener("click", () => {
      opener = icon;
    });
    icon.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") {
        return;
      }
      event.preventDefault();
      icon.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
      const first = [...menu.querySelectorAll("a")].find((link) => link.offsetParent !== null);
      if (first) {
        first.focus();
      }
    });
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      close(true);
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (isOpen() && !menu.contains(event.relatedTarget)) {
      close(false);
    }
  });
}

function chartTitle(element) {
  const card = element.closest(".dashboard-card");
  const title = card && card.querySelector(".dashboard-card-title a");
  const heading = document.querySelector(".dashboard-header p");
  const text = (title || heading || document.querySelector("h1")).textContent;
  return text.replace("⚠️", "").replace(/\s+/g, " ").trim();
}

function nameCharts(container) {
  container.querySelectorAll(".vega-embed > details > summary:not([aria-label])").forEach((summary) => {
    summary.setAttribute("aria-label", `Actions for the chart “${chartTitle(summary)}”: save it as an image, see its source`);
  });
  container.querySelectorAll(".dashboard-card-chart > div, .chart-container > div").forEach((box) => {
    const style = getComputedStyle(box);
    if (box.hasAttribute("tabindex") || !/(auto|scroll)/.test(style.overflow + style.overflowX + style.overflowY)) {
      return;
    }
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", `${chartTitle(box)} (scrolls)`);
  });
}

function dashboardCharts() {
  const container = document.querySelector(".dashboard-container");
  if (!container) {
    return;
  }
  nameCharts(container);
  new MutationObserver(() => nameCharts(container)).observe(container, { childList: true, subtree: true });
}

function describeClusterMap(map) {
  const note = document.createElement("p");
  note.id = "cluster-map-alternative";
  note.className = "lb-map-alternative";
  note.textContent =
    "The map shows the rows below that have a latitude and a longitude; the table below lists the same places, with all their columns.";
  map.parentNode.insertBefore(note, map);
  map.setAttribute("role", "region");
  map.setAttribute("aria-label", "Map of the rows below");
  map.setAttribute("aria-describedby", note.id);
  // Its marks are images with an empty alt that a keyboard can reach: name them.
  const nameMarks = () =>
    map.querySelectorAll('img.leaflet-marker-icon[alt=""]').forEach((mark) => {
      mark.alt = "A place from the rows below: select it for its row";
    });
  nameMarks();
  new MutationObserver(nameMarks).observe(map, { childList: true, subtree: true });
}

function clusterMaps() {
  if (!window.DATASETTE_CLUSTER_MAP_LATITUDE_COLUMN) {
    return;
  }
  const observer = new MutationObserver(() => {
    const map = document.querySelector("main .leaflet-container:not(.lb-map)");
    if (map) {
      observer.disconnect();
      describeClusterMap(map);
    }
  });
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
}

function start() {
  columnMenus();
  dashboardCharts();
  clusterMaps();
}

// A deferred script runs while readyState is already "interactive" but before DOMContentLoaded,
// and before table.js, which comes later in the page: wait for DOMContentLoaded.
if (document.readyState === "complete") {
  start();
} else {
  document.addEventListener("DOMContentLoaded", start);
}
