// Find my ward: suggestions while typing, and "use my location".
//
// The search form works without JavaScript (a GET form). With it, typing two or more
// characters lists matching councils and wards as links (from the URL in the input's
// data-suggest attribute), and a "Use my location" button appears that sends the
// browser's position, rounded to 3 decimals (about 100 m), to the Find my ward page.
//
// The keyboard: ArrowDown from the box moves to the first suggestion, ArrowDown and
// ArrowUp move through them all, ArrowUp from the first (or Escape) returns to the box.
// After a search, or "use my location", the page's results heading takes focus, so a
// keyboard or a screen reader starts at the results, not at the top of the page.

const MIN_CHARACTERS = 2;
const WAIT_MS = 200;

function suggestions(form) {
  const input = form.querySelector("input[data-suggest]");
  const list = form.querySelector("[data-suggest-list]");
  const status = form.querySelector("[data-suggest-status]");
  if (!input || !list) {
    return;
  }
  let timer = null;
  let latest = 0;

  function clear() {
    list.replaceChildren();
  }

  function links() {
    return [...list.querySelectorAll("a")];
  }

  async function update() {
    const text = input.value.trim();
    if (text.length < MIN_CHARACTERS) {
      clear();
      status.textContent = "";
      return;
    }
    const asked = ++latest;
    let data;
    try {
      const response = await fetch(`${input.dataset.suggest}?${new URLSearchParams({ q: text })}`);
      data = await response.json();
    } catch (error) {
      return;
    }
    if (asked !== latest) {
      return; // a newer request is on its way
    }
    clear();
    data.suggestions.forEach((item) => {
      const entry = document.createElement("li");
      const link = document.createElement("a");
      link.href = item.url;
      link.textContent = item.label;
      entry.appendChild(link);
      if (item.answer) {
        entry.appendChild(document.createTextNode(`: ${item.answer}`));
      }
      list.appendChild(entry);
    });
    const count = data.suggestions.length;
    status.textContent = count ? `${count} suggestion${count === 1 ? "" : "s"} below the search box` : "No suggestions";
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, WAIT_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      clear();
    } else if (event.key === "ArrowDown" && links().length) {
      event.preventDefault();
      links()[0].focus();
    }
  });
  list.addEventListener("keydown", (event) => {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (at < 0) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at === 0 ? input : all[at - 1]).focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      all[event.key === "Home" ? 0 : all.length - 1].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      clear();
      input.focus();
    }
  });
  // Searching leaves the page: no suggestion is asked for any more. One already asked for is
  // left to the browser, which cancels it as the page goes (a response after a newer one is
  // ignored: see latest).
  form.addEventListener("submit", () => {
    clearTimeout(timer);
  });
}

// After a search (or "use my location"), start at the results: their heading takes focus.
function focusResults() {
  const heading = document.querySelector("[data-focus-on-load]");
  if (heading) {
    heading.focus({ preventScroll: false });
  }
}

function nearMe(block) {
  if (!("geolocation" in navigator)) {
    return;
  }
  const button = block.querySelector("[data-use-location]");
  const status = block.querySelector("[data-near-status]");
  block.hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = "Asking your browser for your location…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const params = new URLSearchParams({
          lat: position.coords.latitude.toFixed(3),
          lon: position.coords.longitude.toFixed(3),
        });
        status.textContent = "Finding the nearest wards…";
        location.assign(`${block.dataset.near}?${params}#near`);
      },
      (error) => {
        button.disabled = false;
        status.textContent =
          error.code === error.PERMISSION_DENIED
            ? "Your browser did not share your location. You can search by name instead."
            : "Your location could not be found. You can search by name instead.";
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });
}

function start() {
  document.querySelectorAll("form.lb-search").forEach(suggestions);
  document.querySelectorAll("[data-near]").forEach(nearMe);
  focusResults();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
