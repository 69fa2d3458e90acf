// Maps for the pages for people.
//
// Every element with a data-map attribute becomes a Leaflet map. Leaflet comes from
// datasette-leaflet and clustering from datasette-cluster-map (their URLs are in the
// element's data attributes), so nothing is loaded from another site except the
// OpenStreetMap tiles; without tiles the marks still show on a plain background.
//
//   data-map="table": the rows of the table page it sits on (its filters applied),
//                     clustered, page by page, with a "load all" button;
//   data-map="area":  the wards in data-points (a small set), not clustered, with
//                     data-focus marked and the outlines in data-outlines drawn.
//
// Marks differ in shape as well as colour (see .lb-mark in site.css), and every page
// that has a map lists what it shows in words.
//
// A map is aria-busy while it fetches and draws its marks (for assistive technology,
// and the browser tests wait on it): a clustered map adds its marks in chunks, between
// timers, so only the cluster group knows when the last one is drawn.

const TILES = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png";
const TILE_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';
const ENGLAND = [[49.9, -6.4], [55.9, 1.8]];
const STATUS = { "in both sets": "both", "joined in 2020": "joined", "left in 2020": "left" };
const ANSWER = {
  both: "Left behind: in the 2020 and the 2019 sets",
  joined: "Left behind: joined the list in 2020",
  left: "Not on the 2020 list: left it in 2020",
  none: "Not a left-behind neighbourhood",
};
const SIZE = { both: 18, joined: 18, left: 18, none: 10, focus: 26 };
const TABLE_COLUMNS = ["ward_code", "ward_name", "lad_name", "left_behind_change", "cni_rank", "latitude", "longitude"];

function addStylesheet(href) {
  return new Promise((resolve) => {
    if (!href || document.querySelector(`link[rel="stylesheet"][href="${CSS.escape(href)}"]`)) {
      resolve();
      return;
    }
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.appendChild(link);
  });
}

async function loadLeaflet(element, clustered) {
  const data = element.dataset;
  await Promise.all([addStylesheet(data.leafletCss), clustered ? addStylesheet(data.clusterCss) : null]);
  await import(data.leafletJs);
  if (clustered && !window.L.MarkerClusterGroup) {
    await import(data.clusterJs);
  }
  return window.L;
}

function statusOf(row) {
  return STATUS[row.left_behind_change] || "none";
}

function markIcon(L, status) {
  const size = SIZE[status];
  // The mark is an inner element: Leaflet positions the icon itself with a transform.
  return L.divIcon({ className: "lb-mark-icon", iconSize: [size, size], html: `<span class="lb-mark lb-mark--${status}"></span>` });
}

// What a marker's popup says: the view's own popup column where there is one.
function popupFacts(row, wardUrl) {
  if (row.popup) {
    try {
      const popup = typeof row.popup === "string" ? JSON.parse(row.popup) : row.popup;
      if (popup && popup.title) {
        return { title: popup.title, description: popup.description || "", link: popup.link };
      }
    } catch (error) {
      // fall through to the row's own columns
    }
  }
  const rank = row.cni_rank ? ` CNI rank ${Number(row.cni_rank).toLocaleString("en-GB")}.` : "";
  return {
    title: row.ward_name,
    description: `${row.lad_name ? row.lad_name + ". " : ""}${ANSWER[statusOf(row)]}.${rank}`,
    link: wardUrl + encodeURIComponent(row.ward_code),
  };
}

function popupNode(facts) {
  const node = document.createElement("div");
  node.className = "lb-popup";
  const heading = document.createElement("p");
  const link = document.createElement("a");
  link.href = facts.link;
  link.textContent = facts.title;
  heading.appendChild(link);
  node.appendChild(heading);
  if (facts.description) {
    const text = document.createElement("p");
    text.textContent = facts.description;
    node.appendChild(text);
  }
  return node;
}

function wardMarker(L, row, wardUrl, status) {
  const facts = popupFacts(row, wardUrl);
  const marker = L.marker([row.latitude, row.longitude], {
    icon: markIcon(L, status),
    title: `${facts.title}: ${ANSWER[statusOf(row)]}`,
    keyboard: true,
    zIndexOffset: status === "focus" ? 1000 : status === "none" ? 0 : 500,
  });
  marker.lbStatus = statusOf(row);
  marker.bindPopup(() => popupNode(facts));
  // Leaflet 1.7 makes the mark focusable and named (its title), but gives it no role:
  // it opens the ward's popup on Enter, so it is a button.
  marker.on("add", () => marker.getElement()?.setAttribute("role", "button"));
  return marker;
}

function hasPosition(row) {
  return Number.isFinite(row.latitude) && Number.isFinite(row.longitude);
}

function baseMap(L, element) {
  const map = L.map(element, { scrollWheelZoom: false });
  map.fitBounds(ENGLAND);
  L.tileLayer(TILES, { maxZoom: 19, attribution: TILE_ATTRIBUTION }).addTo(map);
  return map;
}

function say(element, text) {
  const status = element.closest("figure")?.querySelector(".lb-map-status");
  if (status) {
    status.textContent = text;
  }
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`${response.status} for ${url}`);
  }
  return response.json();
}

// The JSON of the table page this map is on, with its filters but only the columns drawn.
function tableDataUrl(element) {
  const params = new URLSearchParams(location.search);
  params.delete("_next");
  params.delete("_size");
  const columns = (element.dataset.columns || TABLE_COLUMNS.join(",")).split(",");
  columns.filter((column) => column !== "ward_code").forEach((column) => params.append("_col", column));
  params.set("_shape", "objects");
  params.set("_size", "max");
  params.set("_nofacet", "1");
  return `${location.pathname}.json?${params}`;
}

function clusterIcon(L, highlight, noun) {
  return (cluster) => {
    const count = cluster.getChildCount();
    const words = `<span class="visually-hidden"> ${noun} close together: select to zoom in</span>`;
    let className = "marker-cluster lb-cluster";
    if (highlight && cluster.getAllChildMarkers().some((marker) => marker.lbStatus !== "none")) {
      className += " lb-cluster--flagged";
    }
    const size = count < 10 ? 32 : count < 100 ? 38 : 46;
    return L.divIcon({ html: `<span>${count}</span>${words}`, className, iconSize: [size, size] });
  };
}

async function tableMap(element) {
  const L = await loadLeaflet(element, true);
  const map = baseMap(L, element);
  const highlight = element.dataset.highlight === "flagged";
  const noun = element.dataset.noun || "wards";
  // The cluster group draws each batch of marks in chunks, between timers, and says when
  // a batch is done (processed === total, once per addLayers): count the batches drawing.
  // Adding the group to the map reports an empty batch of its own, not counted.
  let drawing = 0;
  const waiting = [];
  const group = L.markerClusterGroup({
    chunkedLoading: true,
    chunkProgress: (processed, total) => {
      if (processed === total && drawing > 0 && --drawing === 0) {
        waiting.splice(0).forEach((done) => done());
      }
    },
    maxClusterRadius: 50,
    showCoverageOnHover: false,
    iconCreateFunction: clusterIcon(L, highlight, noun),
  });
  map.addLayer(group);
  let loaded = 0;

  function addMarkers(markers) {
    drawing += 1;
    group.addLayers(markers);
  }

  // Once every mark added so far is drawn, fit the map to them. Not before: the group's
  // bounds are computed when its last chunk is drawn, and a slow device draws 1,000 marks
  // in several chunks (fitting to bounds not yet computed throws).
  async function drawnAndFitted() {
    if (drawing > 0) {
      await new Promise((done) => waiting.push(done));
    }
    if (group.getLayers().length) {
      map.fitBounds(group.getBounds(), { maxZoom: 13 });
    }
  }

  async function loadPage(url) {
    const data = await fetchJson(url);
    const markers = data.rows
      .filter(hasPosition)
      .map((row) => wardMarker(L, row, element.dataset.wardUrl, statusOf(row)));
    addMarkers(markers);
    loaded += data.rows.length;
    return data;
  }

  function showProgress(data) {
    const total = data.filtered_table_rows_count;
    const shown = `Showing ${loaded.toLocaleString("en-GB")} of ${Number(total).toLocaleString("en-GB")} ${noun} on the map.`;
    say(element, data.next_url ? shown : `Showing all ${loaded.toLocaleString("en-GB")} ${noun} on the map.`);
    const old = element.closest("figure")?.querySelector(".lb-map-load-all");
    if (old) {
      old.remove();
    }
    if (!data.next_url) {
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "lb-map-load-all";
    button.textContent = `Load all ${Number(total).toLocaleString("en-GB")} ${noun}`;
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = "Loading…";
      element.setAttribute("aria-busy", "true");
      let next = data.next_url;
      let page = data;
      try {
        while (next) {
          page = await loadPage(next.replace(/^https?:\/\/[^/]+/, ""));
          next = page.next_url;
          say(element, `Loading: ${loaded.toLocaleString("en-GB")} of ${Number(total).toLocaleString("en-GB")} ${noun}…`);
        }
        await drawnAndFitted();
        showProgress(page);
      } catch (error) {
        say(element, `The map could not load them all: it shows ${loaded.toLocaleString("en-GB")} ${noun}.`);
      } finally {
        element.removeAttribute("aria-busy");
      }
    });
    element.closest("figure").querySelector("figcaption").prepend(button);
  }

  try {
    const first = await loadPage(tableDataUrl(element));
    await drawnAndFitted();
    showProgress(first);
  } catch (error) {
    say(element, "The map could not load its data. The table below lists the same rows.");
  } finally {
    element.removeAttribute("aria-busy");
  }
}

async function areaMap(element) {
  const L = await loadLeaflet(element, false);
  const map = baseMap(L, element);
  const layer = L.featureGroup().addTo(map);
  const focus = element.dataset.focus;
  try {
    const outlines = element.dataset.outlines ? await fetchJson(element.dataset.outlines) : { rows: [] };
    outlines.rows.forEach((row) => {
      const geometry = typeof row.geojson === "string" ? JSON.parse(row.geojson) : row.geojson;
      L.geoJSON(geometry, {
        interactive: false,
        style: { color: "#0b0c0c", weight: 3, dashArray: "8 5", fillColor: "#0b0c0c", fillOpacity: 0.06 },
      }).addTo(layer);
    });
    const data = await fetchJson(element.dataset.points);
    const rows = data.rows.filter(hasPosition);
    rows.forEach((row) => {
      const status = row.ward_code === focus ? "focus" : statusOf(row);
      wardMarker(L, row, element.dataset.wardUrl, status).addTo(layer);
    });
    if (layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [12, 12] });
    }
    say(element, `The map shows ${rows.length.toLocaleString("en-GB")} wards.`);
  } catch (error) {
    say(element, "The map could not load its data. The lists on this page show the same wards.");
  } finally {
    element.removeAttribute("aria-busy");
  }
}

function start() {
  document.querySelectorAll("[data-map]").forEach((element) => {
    element.querySelector(".lb-map-nojs")?.remove();
    element.classList.add("lb-map--live");
    element.setAttribute("aria-busy", "true");
    (element.dataset.map === "table" ? tableMap : areaMap)(element);
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
