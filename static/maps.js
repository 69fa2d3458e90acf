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
//                     data-focus marked and the outlines in data-outlines drawn;
//                     data-frame="focus" frames the map on that ward (its outline
//                     where it has one, else its point), not on all the wards.
//
// A map is drawn, and Leaflet fetched, only when it comes near the screen: a ward page's
// map is below its answer, and Leaflet is most of the page's bytes.
//
// Marks differ in shape as well as colour (see .lb-mark in site.css), and every page
// that has a map lists what it shows in words. Every mark is a 24 px target (WCAG 2.5.8)
// whatever its drawn size, and only the marks inside the map's view take keyboard focus,
// so Tab never lands on a mark nobody can see.
//
// A map is aria-busy while it fetches and draws its marks (for assistive technology,
// and the browser tests wait on it): a cluster group adds its marks in chunks, between
// timers, so only the group knows when the last one is drawn.

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
const TARGET = 24; // every mark's clickable box, in px; the mark drawn inside may be smaller
const FOCUS_TARGET = 30; // the ward of the page: its mark is 26 px
const NEAR_SCREEN = "400px 0px"; // start loading a map this far before it scrolls into view
const FOCUS_ZOOM = 14; // a ward without an outline: its point, at about a town's scale
const OUTLINE_STYLE = { color: "#0b0c0c", weight: 4, dashArray: "10 6", fillColor: "#0b0c0c", fillOpacity: 0.08 };
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
  const size = status === "focus" ? FOCUS_TARGET : TARGET;
  // The mark is an inner element: Leaflet positions the icon itself with a transform.
  return L.divIcon({ className: "lb-mark-icon", iconSize: [size, size], html: `<span class="lb-mark lb-mark--${status}"></span>` });
}

// Only the marks and groups inside the map's view can take keyboard focus; the others wait
// until the map is moved onto them (each mark is also listed and linked on the page). A mark
// or group that lies under the map's own buttons (zoom, attribution), or under the page's own
// ward (never grouped), cannot be used: it is hidden, as it is covered anyway, until the map
// is moved or zoomed to part them.
function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function focusOnlyWhatIsShown(map) {
  const container = map.getContainer();
  let pending = false;
  const update = () => {
    pending = false;
    const view = container.getBoundingClientRect();
    const own = container.querySelector(".lb-mark--focus")?.closest(".leaflet-marker-icon");
    const covers = [own, ...container.querySelectorAll(".leaflet-control")].filter(Boolean);
    const coverBoxes = covers.map((cover) => cover.getBoundingClientRect());
    container.querySelectorAll(".leaflet-marker-icon").forEach((icon) => {
      const box = icon.getBoundingClientRect();
      const under = icon !== own && coverBoxes.some((cover) => overlaps(box, cover));
      const inside = box.left >= view.left && box.right <= view.right && box.top >= view.top && box.bottom <= view.bottom;
      if (icon.style.visibility !== (under ? "hidden" : "")) {
        icon.style.visibility = under ? "hidden" : "";
      }
      if (icon.tabIndex !== (inside && !under ? 0 : -1)) {
        icon.tabIndex = inside && !under ? 0 : -1;
      }
    });
  };
  const soon = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(update);
    }
  };
  map.on("moveend zoomend", soon);
  new MutationObserver(soon).observe(map.getPane("markerPane"), { childList: true });
  soon();
}

// A cluster group whose groups and lone marks never overlap: marks closer than CLUSTER_RADIUS
// px are grouped, and a group's icon is at most that wide, so each is a target of its own.
const CLUSTER_RADIUS = 50;
// Add marks with group.lbAdd(markers); group.lbDrawn() resolves once every batch added is drawn.
function clusterGroup(L, highlight, noun) {
  // The group says when a batch is done (processed === total, once per addLayers on a map):
  // count the batches drawing. Adding the group to the map reports an empty batch of its own.
  let drawing = 0;
  const waiting = [];
  const group = L.markerClusterGroup({
    chunkedLoading: true,
    chunkProgress: (processed, total) => {
      if (processed === total && drawing > 0 && --drawing === 0) {
        waiting.splice(0).forEach((done) => done());
      }
    },
    maxClusterRadius: CLUSTER_RADIUS,
    showCoverageOnHover: false,
    iconCreateFunction: clusterIcon(L, highlight, noun),
  });
  group.lbAdd = (markers) => {
    drawing += 1;
    group.addLayers(markers);
  };
  group.lbDrawn = () => (drawing > 0 ? new Promise((done) => waiting.push(done)) : Promise.resolve());
  return group;
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
  const group = clusterGroup(L, highlight, noun);
  map.addLayer(group);
  focusOnlyWhatIsShown(map);
  let loaded = 0;
  // The marks' extent, kept here: the cluster group's own bounds are not valid while it is still
  // adding a page of marks in chunks.
  const extent = L.latLngBounds([]);

  async function loadPage(url) {
    const data = await fetchJson(url);
    const markers = data.rows
      .filter(hasPosition)
      .map((row) => wardMarker(L, row, element.dataset.wardUrl, statusOf(row)));
    group.lbAdd(markers);
    markers.forEach((marker) => extent.extend(marker.getLatLng()));
    loaded += data.rows.length;
    if (extent.isValid()) {
      map.fitBounds(extent, { maxZoom: 13 });
    }
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
    button.dataset.total = total;
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
        await group.lbDrawn();
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
    await group.lbDrawn();
    showProgress(first);
  } catch (error) {
    say(element, "The map could not load its data. The table below lists the same rows.");
  }
}

// Where an area map looks first: the focus ward (its outline, else its point), or every ward.
// Extents come from the rows, not the layers: a cluster group's are not valid while it adds marks.
function frame(L, map, element, outlines, rows) {
  const focus = rows.find((row) => row.ward_code === element.dataset.focus);
  if (element.dataset.frame === "focus" && outlines.getLayers().length) {
    map.fitBounds(outlines.getBounds(), { maxZoom: 16, padding: [TARGET, TARGET] });
  } else if (element.dataset.frame === "focus" && focus) {
    map.setView([focus.latitude, focus.longitude], FOCUS_ZOOM);
  } else if (rows.length) {
    map.fitBounds(L.latLngBounds(rows.map((row) => [row.latitude, row.longitude])), { maxZoom: 14, padding: [12, 12] });
  }
}

async function areaMap(element) {
  const L = await loadLeaflet(element, true);
  const map = baseMap(L, element);
  const outlines = L.featureGroup().addTo(map);
  // The page's own ward stays a mark of its own; the others are grouped where they would overlap.
  const marks = clusterGroup(L, true, "wards");
  const focused = L.featureGroup();
  map.addLayer(marks);
  focused.addTo(map);
  const focus = element.dataset.focus;
  try {
    const outlineRows = element.dataset.outlines ? (await fetchJson(element.dataset.outlines)).rows : [];
    outlineRows.forEach((row) => {
      const geometry = typeof row.geojson === "string" ? JSON.parse(row.geojson) : row.geojson;
      L.geoJSON(geometry, { interactive: false, style: OUTLINE_STYLE }).addTo(outlines);
    });
    const data = await fetchJson(element.dataset.points);
    const rows = data.rows.filter(hasPosition);
    marks.lbAdd(
      rows.filter((row) => row.ward_code !== focus).map((row) => wardMarker(L, row, element.dataset.wardUrl, statusOf(row))),
    );
    rows.filter((row) => row.ward_code === focus).forEach((row) => wardMarker(L, row, element.dataset.wardUrl, "focus").addTo(focused));
    frame(L, map, element, outlines, rows);
    focusOnlyWhatIsShown(map);
    await marks.lbDrawn();
    say(element, `The map shows ${rows.length.toLocaleString("en-GB")} wards.`);
  } catch (error) {
    say(element, "The map could not load its data. The lists on this page show the same wards.");
  }
}

function draw(element) {
  element.querySelector(".lb-map-nojs")?.remove();
  element.classList.add("lb-map--live");
  element.setAttribute("aria-busy", "true");
  (element.dataset.map === "table" ? tableMap : areaMap)(element)
    .catch(() => say(element, "The map could not be drawn. Everything it shows is also listed on this page."))
    .finally(() => element.removeAttribute("aria-busy"));
}

// Draw each map once it comes within NEAR_SCREEN of the screen.
function start() {
  const maps = document.querySelectorAll("[data-map]");
  if (!("IntersectionObserver" in window)) {
    maps.forEach(draw);
    return;
  }
  const observer = new IntersectionObserver(
    (entries) => {
      entries.filter((entry) => entry.isIntersecting).forEach((entry) => {
        observer.unobserve(entry.target);
        draw(entry.target);
      });
    },
    { rootMargin: NEAR_SCREEN },
  );
  maps.forEach((element) => {
    const note = element.querySelector(".lb-map-nojs");
    if (note) {
      note.textContent = "The map is drawn when you scroll to it. Everything it shows is also listed on this page.";
    }
    observer.observe(element);
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
